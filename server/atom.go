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

// entryView is an entry as every format publishes it: attributed, with its
// source.
type entryView struct {
	*storage.Entry
	Author string // the entry's, else its source's name
	HTML   string // content (else summary), the attribution line, other copies
	Source sourceView
	Also   []copyView // later copies of the story, from other sources
}

// copyView is another source's copy of an entry's story.
type copyView struct {
	Source string // its source's name
	Link   string
}

// sourceView is the feed an entry came from.
type sourceView struct {
	ID    string
	Name  string // as configured, for people: the attribution line
	Title string // as the feed calls itself

	Updated time.Time
	FeedURL string // empty for a local file
	SiteURL string
}

type attribution struct {
	Source string
	Origin string // the original publisher the article names, if not Source
	Link   string
	Author string
}

// alsoLine names the other sources of a story, each linked to its copy.
var alsoLine = template.Must(template.New("also").Parse(
	`<p>另见 (also reported by)：{{range $i, $c := .}}{{if $i}}、{{end}}<a href="{{$c.Link}}">{{$c.Source}}</a>{{end}}</p>`))

// views prepares the entries of p for rendering. Entries with an id already
// seen are dropped: the same original id can reach us through two sources.
func views(p *page, attr *template.Template) ([]entryView, error) {
	out := make([]entryView, 0, len(p.Entries))
	seen := make(map[string]bool, len(p.Entries))
	for i := range p.Entries {
		e := &p.Entries[i]
		if seen[e.EntryID] {
			continue
		}
		seen[e.EntryID] = true
		src := sourceOf(&e.Source)
		origin := e.Origin
		if origin == src.Name || origin == src.Title {
			origin = ""
		}
		author := e.Author
		switch {
		case origin != "" && author == "":
			author = origin + " · 经 " + src.Name
		case origin != "":
			author += "（" + origin + " · 经 " + src.Name + "）"
		case author == "":
			author = src.Name
		}
		body := e.Content
		if body == "" {
			body = e.Summary
		}
		var line bytes.Buffer
		if err := attr.Execute(&line, attribution{Source: src.Name, Origin: origin, Link: e.Link, Author: author}); err != nil {
			return nil, err
		}
		v := entryView{Entry: &e.Entry, Author: author, Source: src}
		for _, c := range e.Also {
			name := c.Source.Name
			if name == "" {
				name = c.Source.Title
			}
			v.Also = append(v.Also, copyView{Source: name, Link: c.Link})
		}
		if len(v.Also) > 0 {
			if err := alsoLine.Execute(&line, v.Also); err != nil {
				return nil, err
			}
		}
		v.HTML = joinHTML(body, line.String())
		out = append(out, v)
	}
	return out, nil
}

func sourceOf(s *storage.SourceFeed) sourceView {
	v := sourceView{ID: s.FeedID, Name: s.Name, Title: s.Title, Updated: s.Updated, SiteURL: s.SiteURL}
	if v.ID == "" {
		v.ID = s.URL
	}
	if v.Name == "" {
		v.Name = s.Title
	}
	if v.Title == "" {
		v.Title = v.Name
	}
	if u, err := url.Parse(s.URL); err == nil && u.Scheme != "file" {
		v.FeedURL = s.URL
	}
	return v
}

const atomType = "application/atom+xml"

// renderAtom writes p as an Atom feed document.
func renderAtom(p *page, vs []entryView) ([]byte, error) {
	f := &atomFeed{
		AtomFeed: &feeds.AtomFeed{
			Xmlns:   atomNS,
			Title:   p.Title,
			Id:      p.ID,
			Updated: rfc3339(p.Updated),
		},
		Lang:      p.Lang,
		Generator: &atomGenerator{URI: homepage, Version: version, Name: generator},
	}
	for _, l := range p.links(".atom", atomType) {
		f.Links = append(f.Links, feeds.AtomLink{Rel: l.Rel, Href: l.Href, Type: l.Type})
	}
	for i := range vs {
		f.Entries = append(f.Entries, atomEntryOf(&vs[i]))
	}
	var buf bytes.Buffer
	if err := feeds.WriteXML(f, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func atomEntryOf(v *entryView) *atomEntry {
	e := v.Entry
	ae := &atomEntry{
		AtomEntry: &feeds.AtomEntry{
			Title:     e.Title,
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
	if e.Summary != "" && e.Content != "" {
		ae.Summary = &feeds.AtomSummary{Type: "html", Content: e.Summary}
	}
	for _, c := range e.Categories {
		ae.Categories = append(ae.Categories, atomCategory{Term: c})
	}
	src := &atomSource{ID: v.Source.ID, Title: v.Source.Title}
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
