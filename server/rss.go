package server

import (
	"bytes"
	"encoding/xml"
	"html"
	"strconv"
	"time"

	"github.com/gorilla/feeds"
)

// RSS 2.0 through gorilla/feeds' structs, with what they lack: <source>
// with its required url attribute, dc:creator (RSS <author> must be an
// e-mail address), several categories, and atom:link for self and paging.

type rssDoc struct {
	XMLName xml.Name    `xml:"rss"`
	Version string      `xml:"version,attr"`
	Atom    string      `xml:"xmlns:atom,attr"`
	DC      string      `xml:"xmlns:dc,attr"`
	Channel *rssChannel `xml:"channel"`
}

type rssChannel struct {
	*feeds.RssFeed
	AtomLinks []rssAtomLink `xml:"atom:link"`
	Items     []*rssItem    `xml:"item"`
}

type rssAtomLink struct {
	Rel  string `xml:"rel,attr"`
	Href string `xml:"href,attr"`
	Type string `xml:"type,attr,omitempty"`
}

type rssItem struct {
	// Title and Link hide gorilla's, in its order: an item whose link is
	// not published has no <link> (RSS 2.0: every item element is
	// optional), where gorilla writes an empty one.
	Title string `xml:"title"`
	Link  string `xml:"link,omitempty"`
	*feeds.RssItem
	Categories []string   `xml:"category"`
	Creator    string     `xml:"dc:creator,omitempty"`
	Source     *rssSource `xml:"source"`
}

type rssSource struct {
	URL   string `xml:"url,attr"`
	Title string `xml:",chardata"`
}

const rssType = "application/rss+xml"

// mediaTypeOr is an enclosure's media type, or the type of any bytes
// (RFC 2046 §4.5.1) when its source gave none: RSS and JSON Feed require
// one, and an Atom link without one reads as a page.
func mediaTypeOr(t string) string {
	if t == "" {
		return "application/octet-stream"
	}
	return t
}

// renderRSS writes p as RSS 2.0.
func renderRSS(p *feedPage) ([]byte, error) {
	ch := &rssChannel{RssFeed: &feeds.RssFeed{
		Title:         p.Title,
		Link:          p.HTMLURL,
		Description:   html.EscapeString(p.Title), // a description is HTML; the title is text
		Language:      p.Lang,
		LastBuildDate: p.Updated.UTC().Format(time.RFC1123Z),
		Generator:     generator + " " + version,
	}}
	for _, l := range p.links(".rss", rssType) {
		if l.Rel != "alternate" { // the channel <link> says it
			ch.AtomLinks = append(ch.AtomLinks, rssAtomLink(l))
		}
	}
	for i := range p.Entries {
		v := &p.Entries[i]
		it := &rssItem{
			Title: v.Title,
			Link:  v.Link,
			RssItem: &feeds.RssItem{
				Description: v.HTML,
				Guid:        &feeds.RssGuid{Id: v.EntryID, IsPermaLink: "false"},
				PubDate:     v.Published.UTC().Format(time.RFC1123Z),
			},
			Categories: v.Categories,
			Creator:    v.Author,
		}
		if v.Source.FeedURL != "" {
			it.Source = &rssSource{URL: v.Source.FeedURL, Title: v.Source.Title}
		}
		if len(v.Enclosures) > 0 {
			// RSS 2.0 allows one <enclosure> an item: the first (the
			// Atom and JSON alternates carry them all). Its url, length
			// and type are all required: 0 and application/octet-stream
			// say unknown, as is common practice.
			enc := v.Enclosures[0]
			it.Enclosure = &feeds.RssEnclosure{Url: enc.URL, Length: strconv.FormatInt(enc.Length, 10), Type: mediaTypeOr(enc.Type)}
		}
		ch.Items = append(ch.Items, it)
	}
	var buf bytes.Buffer
	buf.Grow(p.sizeHint())
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	err := enc.Encode(&rssDoc{Version: "2.0", Atom: atomNS, DC: "http://purl.org/dc/elements/1.1/", Channel: ch})
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
