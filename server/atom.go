package server

import (
	"bytes"
	"encoding/xml"
	"html/template"
	"net/url"
	"time"

	"github.com/gorilla/feeds"

	"github.com/feedrelay/feedrelay/storage"
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
	*feeds.AtomFeed
	Lang      string           `xml:"xml:lang,attr,omitempty"`
	Links     []feeds.AtomLink // "self" and "alternate" (§4.2.7.2)
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

// atomEntry is an entry (§4.1.2) with real categories and a real <source>.
type atomEntry struct {
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
	ID      string `xml:"id,omitempty"`
	Title   string `xml:"title,omitempty"`
	Updated string `xml:"updated,omitempty"`
	Links   []feeds.AtomLink
}

const (
	atomNS    = "http://www.w3.org/2005/Atom"
	generator = "feedrelay"
	version   = "0.1"
	homepage  = "https://github.com/feedrelay/feedrelay"
)

// page is one rendered feed: what it is about and its entries.
type page struct {
	ID      string // tag: URI, stable
	Title   string
	SelfURL string
	HTMLURL string
	Lang    string
	Entries []storage.Entry
}

type attribution struct {
	Source string
	Link   string
	Author string
}

// renderAtom writes p as Atom. Entries with an id already written are
// skipped: the same original id can reach us through two sources.
func renderAtom(p page, attr *template.Template, fallbackUpdated time.Time) ([]byte, error) {
	updated := fallbackUpdated
	if len(p.Entries) > 0 {
		updated = p.Entries[0].Updated
		for _, e := range p.Entries[1:] {
			if e.Updated.After(updated) {
				updated = e.Updated
			}
		}
	}
	f := &atomFeed{
		AtomFeed: &feeds.AtomFeed{
			Xmlns:   atomNS,
			Title:   p.Title,
			Id:      p.ID,
			Updated: rfc3339(updated),
		},
		Lang: p.Lang,
		Links: []feeds.AtomLink{
			{Href: p.SelfURL, Rel: "self", Type: "application/atom+xml"},
			{Href: p.HTMLURL, Rel: "alternate", Type: "text/html"},
		},
		Generator: &atomGenerator{URI: homepage, Version: version, Name: generator},
	}
	seen := make(map[string]bool, len(p.Entries))
	for i := range p.Entries {
		e := &p.Entries[i]
		if seen[e.EntryID] {
			continue
		}
		seen[e.EntryID] = true
		ae, err := atomEntryOf(e, attr)
		if err != nil {
			return nil, err
		}
		f.Entries = append(f.Entries, ae)
	}
	var buf bytes.Buffer
	if err := feeds.WriteXML(f, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func atomEntryOf(e *storage.Entry, attr *template.Template) (*atomEntry, error) {
	name := e.Source.Name
	if name == "" {
		name = e.Source.Title
	}
	author := e.Author
	if author == "" {
		author = name
	}
	body := e.Content
	if body == "" {
		body = e.Summary
	}
	var line bytes.Buffer
	if err := attr.Execute(&line, attribution{Source: name, Link: e.Link, Author: author}); err != nil {
		return nil, err
	}
	ae := &atomEntry{
		AtomEntry: &feeds.AtomEntry{
			Title:     e.Title,
			Id:        e.EntryID,
			Updated:   rfc3339(e.Updated),
			Published: rfc3339(e.Published),
			Content:   &feeds.AtomContent{Type: "html", Content: joinHTML(body, line.String())},
			Author:    &feeds.AtomAuthor{AtomPerson: feeds.AtomPerson{Name: author}},
		},
	}
	if e.Link != "" {
		ae.Links = []feeds.AtomLink{{Href: e.Link, Rel: "alternate", Type: "text/html"}}
	}
	if e.Summary != "" && e.Content != "" {
		ae.Summary = &feeds.AtomSummary{Type: "html", Content: e.Summary}
	}
	for _, c := range e.Categories {
		ae.Categories = append(ae.Categories, atomCategory{Term: c})
	}
	ae.Source = sourceOf(&e.Source)
	return ae, nil
}

func sourceOf(s *storage.SourceFeed) *atomSource {
	src := &atomSource{ID: s.FeedID, Title: s.Title}
	if src.ID == "" {
		src.ID = s.URL
	}
	if src.Title == "" {
		src.Title = s.Name
	}
	if !s.Updated.IsZero() {
		src.Updated = rfc3339(s.Updated)
	}
	if u, err := url.Parse(s.URL); err == nil && u.Scheme != "file" {
		src.Links = append(src.Links, feeds.AtomLink{Href: s.URL, Rel: "self"})
	}
	if s.SiteURL != "" {
		src.Links = append(src.Links, feeds.AtomLink{Href: s.SiteURL, Rel: "alternate", Type: "text/html"})
	}
	return src
}

func joinHTML(body, line string) string {
	if body == "" {
		return line
	}
	return body + "\n" + line
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
