package server

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"time"

	"github.com/gorilla/feeds"

	"github.com/feedrelay/feedrelay/publish"
)

// gorilla/feeds renders the Atom we publish, but its structs fall short of
// RFC 4287 in ways that matter to us: <source> is a string, <category> has
// no term, a feed has one link, and the feed id is its link. The wrappers
// below embed its exported structs and add or hide fields; encoding/xml
// lets a shallower field hide a deeper one of the same XML name, and
// appends the new ones after the embedded fields, so <source> comes last.

// atomFeed is an Atom feed document (RFC 4287 §4.1.1) with several links,
// a generator and a language.
type atomFeed struct {
	Title atomText `xml:"title"` // first, as gorilla's, which it hides
	*feeds.AtomFeed
	Lang      string           `xml:"xml:lang,attr,omitempty"`
	Links     []feeds.AtomLink // self, alternate, and RFC 5005 paging
	Generator *atomGenerator
	Entries   []*atomEntry `xml:"entry"`
}

// FeedXml lets feeds.WriteXML render the wrapper.
func (f *atomFeed) FeedXml() any { return f }

type atomGenerator struct {
	XMLName xml.Name `xml:"generator"`
	URI     string   `xml:"uri,attr,omitempty"`
	Version string   `xml:"version,attr,omitempty"`
	Name    string   `xml:",chardata"`
}

// atomText is a text construct (§3.1) that says it is text: titles are
// plain text end to end, escaped once, here by encoding/xml.
type atomText struct {
	Type string `xml:"type,attr"`
	Text string `xml:",chardata"`
}

func plainAtomText(s string) atomText { return atomText{Type: "text", Text: s} }

// atomEntry is an entry (§4.1.2) with a text title, real categories and a
// real <source>.
type atomEntry struct {
	Title atomText `xml:"title"`
	*feeds.AtomEntry
	Categories []atomCategory `xml:"category"`
	// Source is §4.2.11: the metadata of the feed the entry came from. It
	// must stay the last field.
	Source *atomSource `xml:"source"`
}

// atomCategory is §4.2.2: the term is an attribute.
type atomCategory struct {
	Term string `xml:"term,attr"`
}

// atomSource is §4.2.11.
type atomSource struct {
	ID      string    `xml:"id,omitempty"`
	Title   *atomText `xml:"title,omitempty"`
	Updated string    `xml:"updated,omitempty"`
	Links   []feeds.AtomLink
}

const (
	atomNS    = "http://www.w3.org/2005/Atom"
	generator = "feedrelay"
	version   = "0.1"
	homepage  = "https://github.com/feedrelay/feedrelay"
)

const atomType = "application/atom+xml"

// renderAtom writes p as an Atom feed document.
func renderAtom(p *feedPage) ([]byte, error) {
	f := &atomFeed{
		Title: plainAtomText(p.Title),
		AtomFeed: &feeds.AtomFeed{
			Xmlns:   atomNS,
			Id:      p.ID,
			Updated: rfc3339(p.Updated),
		},
		Lang:      p.Lang,
		Generator: &atomGenerator{URI: homepage, Version: version, Name: generator},
	}
	for _, l := range p.links(".atom", atomType) {
		f.Links = append(f.Links, feeds.AtomLink{Rel: l.Rel, Href: l.Href, Type: l.Type})
	}
	for i := range p.Entries {
		f.Entries = append(f.Entries, atomEntryOf(&p.Entries[i]))
	}
	var buf bytes.Buffer
	buf.Grow(p.sizeHint())
	if err := feeds.WriteXML(f, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func atomEntryOf(v *publish.Entry) *atomEntry {
	e := v.Entry
	ae := &atomEntry{
		Title: plainAtomText(e.Title),
		AtomEntry: &feeds.AtomEntry{
			Id:        e.EntryID,
			Updated:   rfc3339(e.Updated),
			Published: rfc3339(e.Published),
			Content:   &feeds.AtomContent{Type: "html", Content: v.HTML},
			Author:    &feeds.AtomAuthor{AtomPerson: feeds.AtomPerson{Name: v.Author}},
		},
	}
	if e.Link != "" {
		ae.Links = []feeds.AtomLink{{Href: e.Link, Rel: "alternate", Type: "text/html"}}
	}
	for _, c := range v.Also {
		if c.Link != "" {
			ae.Links = append(ae.Links, feeds.AtomLink{Href: c.Link, Rel: "related", Type: "text/html"})
		}
	}
	// §4.2.7.2: rel="enclosure" is a related resource that may be large
	// (a podcast's audio); length is advisory, left out when unknown. The
	// type is optional too, but readers take a link without one for a
	// page (feedparser says text/html): an unknown one is said as such.
	for _, enc := range e.Enclosures {
		l := feeds.AtomLink{Href: enc.URL, Rel: "enclosure", Type: mediaTypeOr(enc.Type)}
		if enc.Length > 0 {
			l.Length = strconv.FormatInt(enc.Length, 10)
		}
		ae.Links = append(ae.Links, l)
	}
	if e.Summary != "" && e.Content != "" {
		ae.Summary = &feeds.AtomSummary{Type: "html", Content: e.Summary}
	}
	for _, c := range e.Categories {
		ae.Categories = append(ae.Categories, atomCategory{Term: c})
	}
	src := &atomSource{ID: v.Source.ID}
	if v.Source.Title != "" {
		t := plainAtomText(v.Source.Title)
		src.Title = &t
	}
	if !v.Source.Updated.IsZero() {
		src.Updated = rfc3339(v.Source.Updated)
	}
	if v.Source.FeedURL != "" {
		src.Links = append(src.Links, feeds.AtomLink{Href: v.Source.FeedURL, Rel: "self"})
	}
	if v.Source.SiteURL != "" {
		src.Links = append(src.Links, feeds.AtomLink{Href: v.Source.SiteURL, Rel: "alternate", Type: "text/html"})
	}
	ae.Source = src
	return ae
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
