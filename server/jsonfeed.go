package server

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/gorilla/feeds"

	"github.com/feedrelay/feedrelay/htmltext"
)

// JSON Feed 1.1 through gorilla/feeds' structs, with "items" always present
// (the spec requires it) and each item's source in an "_source" extension
// object (§ Extensions: keys starting with an underscore).

type jsonFeed struct {
	*feeds.JSONFeed
	Items []*jsonItem `json:"items"`
}

type jsonItem struct {
	*feeds.JSONItem
	// Attachments hides gorilla's, whose size is an int32 named "size":
	// JSON Feed 1.1 names it size_in_bytes, and a video passes 2 GiB.
	Attachments []jsonAttachment `json:"attachments,omitempty"`
	Source      *jsonSource      `json:"_source,omitempty"`
}

// jsonAttachment is JSON Feed 1.1's attachment: url and mime_type are
// required, size_in_bytes optional.
type jsonAttachment struct {
	URL      string `json:"url"`
	MIMEType string `json:"mime_type"`
	Size     int64  `json:"size_in_bytes,omitempty"`
}

type jsonSource struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	FeedURL     string     `json:"feed_url,omitempty"`
	HomePageURL string     `json:"home_page_url,omitempty"`
	Updated     *time.Time `json:"updated,omitempty"`
}

const jsonFeedType = "application/feed+json"

// renderJSON writes p as JSON Feed 1.1.
func renderJSON(p *feedPage) ([]byte, error) {
	f := &jsonFeed{JSONFeed: &feeds.JSONFeed{
		Version:     "https://jsonfeed.org/version/1.1",
		Title:       p.Title,
		Language:    p.Lang,
		HomePageUrl: p.HTMLURL,
		FeedUrl:     p.URL(".json", p.query),
	}, Items: make([]*jsonItem, 0, len(p.Entries))}
	if p.Next != nil {
		f.NextUrl = p.URL(".json", p.Next.String())
	}
	for _, h := range p.hubs {
		f.Hubs = append(f.Hubs, &feeds.JSONHub{Type: "WebSub", Url: h})
	}
	for i := range p.Entries {
		v := &p.Entries[i]
		it := &jsonItem{JSONItem: &feeds.JSONItem{
			Id:          v.EntryID,
			Url:         v.Link,
			Title:       v.Title,
			ContentHTML: v.HTML,
			Authors:     []*feeds.JSONAuthor{{Name: v.Author}},
			Tags:        v.Categories,
		}}
		if v.Summary != "" && v.Content != "" {
			// As Atom's <summary>; JSON Feed's summary is plain text.
			it.Summary = htmltext.Plain(v.Summary)
		}
		if !v.Published.IsZero() {
			t := v.Published.UTC()
			it.PublishedDate = &t
		}
		if !v.Updated.IsZero() {
			t := v.Updated.UTC()
			it.ModifiedDate = &t
		}
		src := &jsonSource{ID: v.Source.ID, Title: v.Source.Title, FeedURL: v.Source.FeedURL, HomePageURL: v.Source.SiteURL}
		if !v.Source.Updated.IsZero() {
			t := v.Source.Updated.UTC()
			src.Updated = &t
		}
		it.Source = src
		for _, enc := range v.Enclosures {
			it.Attachments = append(it.Attachments, jsonAttachment{URL: enc.URL, MIMEType: mediaTypeOr(enc.Type), Size: enc.Length})
		}
		f.Items = append(f.Items, it)
	}
	var buf bytes.Buffer
	buf.Grow(p.sizeHint())
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // content_html reads better unescaped, and is as safe
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
