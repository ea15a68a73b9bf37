package publish

import (
	"bytes"
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/publish/attribution"
	"github.com/feedrelay/feedrelay/storage"
	"github.com/feedrelay/feedrelay/xmlchar"
)

// Entry is an entry as every format publishes it: attributed, with the
// feed it came from and the other sources' copies of its story.
type Entry struct {
	*storage.Entry
	Author string // the entry's, with the original publisher it names; else its source's name
	HTML   string // content (else summary), the attribution line, the copies
	Source SourceFeed
	Also   []Copy // later copies of the story, from other sources
}

// Copy is another source's copy of an entry's story.
type Copy struct {
	Source string // its source's name
	Link   string // http(s), or empty
}

// SourceFeed is the feed an entry came from, as <source> (RFC 4287
// §4.2.11) and its equivalents describe it.
type SourceFeed struct {
	ID    string // the feed's own id, else the URL polled
	Name  string // as configured, for people: the attribution line
	Title string // as the feed calls itself, else Name

	Updated time.Time
	FeedURL string // the URL polled, if http(s): empty for a local file
	SiteURL string // http(s), or empty
}

// alsoLine names the other sources of a story, each linked to its copy.
var alsoLine = template.Must(template.New("also").Parse(
	`<p>另见 (also reported by)：{{range $i, $c := .}}{{if $i}}、{{end}}{{if $c.Link}}<a href="{{$c.Link}}">{{$c.Source}}</a>{{else}}{{$c.Source}}{{end}}{{end}}</p>`))

// views attributes the shown entries of a page. Entries with an id already
// seen are dropped: the same original id can reach us through two sources.
//
// Every format renders these views, so this is where what is published is
// made safe to publish, whichever version of feedrelay stored it: only
// http(s) links are kept (a javascript:, data: or vbscript: link is
// dropped, never rewritten), and no text carries a character XML 1.0
// forbids.
func (p *Publisher) views(shown []shownEntry) ([]Entry, error) {
	out := make([]Entry, 0, len(shown))
	seen := make(map[string]bool, len(shown))
	for i := range shown {
		e := &shown[i]
		publishable(&e.Entry)
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
		if err := p.opts.Attribution.Execute(&line, attribution.Line{Source: src.Name, Origin: origin, Link: e.Link, Author: author}); err != nil {
			return nil, fmt.Errorf("attribution of entry %d: %w", e.ID, err)
		}
		v := Entry{Entry: &e.Entry, Author: author, Source: src}
		for _, c := range e.Also {
			name := c.Source.Name
			if name == "" {
				name = c.Source.Title
			}
			v.Also = append(v.Also, Copy{Source: xmlchar.Clean(name), Link: WebLink(c.Link)})
		}
		if len(v.Also) > 0 {
			if err := alsoLine.Execute(&line, v.Also); err != nil {
				return nil, fmt.Errorf("copies of entry %d: %w", e.ID, err)
			}
		}
		v.HTML = joinHTML(body, line.String())
		out = append(out, v)
	}
	return out, nil
}

// sourceOf is the feed an entry came from, its text and links already
// made publishable (see publishable).
func sourceOf(s *storage.SourceFeed) SourceFeed {
	v := SourceFeed{ID: s.FeedID, Name: s.Name, Title: s.Title, Updated: s.Updated, SiteURL: s.SiteURL, FeedURL: s.URL}
	if v.ID == "" {
		v.ID = s.URL
	}
	if v.Name == "" {
		v.Name = s.Title
	}
	if v.Title == "" {
		v.Title = v.Name
	}
	v.FeedURL = WebLink(v.FeedURL) // a local file has no address to publish
	return v
}

// publishable makes e safe to publish in place: links (enclosures' too)
// that are not http(s) dropped, text without the characters XML 1.0
// forbids.
func publishable(e *storage.Entry) {
	e.Link = WebLink(e.Link)
	for _, s := range []*string{&e.EntryID, &e.Title, &e.Author, &e.Content, &e.Summary, &e.Origin,
		&e.Source.Name, &e.Source.Title, &e.Source.FeedID, &e.Source.URL} {
		*s = xmlchar.Clean(*s)
	}
	e.Source.SiteURL = WebLink(e.Source.SiteURL)
	var cats []string // a copy: the stored slice is not ours to change
	for i, c := range e.Categories {
		if clean := xmlchar.Clean(c); clean != c || cats != nil {
			if cats == nil {
				cats = append(make([]string, 0, len(e.Categories)), e.Categories[:i]...)
			}
			if clean != "" {
				cats = append(cats, clean)
			}
		}
	}
	if cats != nil {
		e.Categories = cats
	}
	e.Enclosures = publishableEnclosures(e.Enclosures)
}

// publishableEnclosures are es with those whose URL is not a WebLink left
// out and their types without the characters XML 1.0 forbids: es itself
// when all are fine (the stored slice is not ours to change).
func publishableEnclosures(es []feeds.Enclosure) []feeds.Enclosure {
	fine := true
	for _, e := range es {
		if WebLink(e.URL) != e.URL || xmlchar.Clean(e.Type) != e.Type || e.Length < 0 {
			fine = false
			break
		}
	}
	if fine {
		return es
	}
	var out []feeds.Enclosure
	for _, e := range es {
		if WebLink(e.URL) == "" {
			continue
		}
		e.Type = xmlchar.Clean(e.Type)
		e.Length = max(e.Length, 0)
		out = append(out, e)
	}
	return out
}

// WebLink is link if it is an absolute http or https URL that holds no
// character XML 1.0 forbids, else "": the only links feedrelay publishes.
// A reader follows a feed's links as they are, so a javascript:, data: or
// vbscript: link would run or show whatever its source chose.
func WebLink(link string) string {
	u, err := url.Parse(link)
	if err != nil || u.Host == "" || xmlchar.Clean(link) != link {
		return ""
	}
	if !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https") {
		return ""
	}
	return link
}

func joinHTML(body, line string) string {
	if body == "" {
		return line
	}
	return body + "\n" + line
}
