package server

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/feedrelay/feedrelay/storage"
)

// page is one page of one published feed, in no format yet.
type page struct {
	ID       string // tag: URI, stable
	Title    string
	Lang     string
	Path     string // under base_url, without extension: "feeds/markets"
	HTMLURL  string // a page for people: the category page, or the index
	Updated  time.Time
	Entries  []storage.Entry
	Query    string // this page's query ("before=…"), empty on the first page
	Next     string // the query of the page of older entries, if any
	Previous string // the query of the page of newer entries, if any
	base     string
}

// link is one feed-level link (RFC 4287 §4.2.7, RFC 5005 §3).
type link struct{ Rel, Href, Type string }

// url is the address of this feed in the format with extension ext, at the
// page given by query.
func (p *page) url(ext, query string) string {
	u := p.base + p.Path + ext
	if query != "" {
		u += "?" + query
	}
	return u
}

// links are the self, alternate and paging links of p in format ext.
func (p *page) links(ext, mediaType string) []link {
	ls := []link{
		{"self", p.url(ext, p.Query), mediaType},
		{"alternate", p.HTMLURL, "text/html"},
		{"first", p.url(ext, ""), mediaType},
	}
	if p.Previous != "" {
		ls = append(ls, link{"previous", p.url(ext, p.Previous), mediaType})
	}
	if p.Next != "" {
		ls = append(ls, link{"next", p.url(ext, p.Next), mediaType})
	}
	return ls
}

// cursorParam writes c for a page query: "{unix seconds}.{id}".
func cursorParam(c storage.Cursor) string {
	return strconv.FormatInt(c.Updated.Unix(), 10) + "." + strconv.FormatInt(c.ID, 10)
}

func parseCursor(s string) (*storage.Cursor, error) {
	secs, id, ok := strings.Cut(s, ".")
	u, err1 := strconv.ParseInt(secs, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return nil, fmt.Errorf("bad page cursor %q", s)
	}
	return &storage.Cursor{Updated: time.Unix(u, 0).UTC(), ID: n}, nil
}

var errBadQuery = errors.New("bad query")

// pageQuery reads the paging parameters of a feed request, in canonical
// form: the cache key and the self link use it.
func pageQuery(q url.Values) (before, after *storage.Cursor, canonical string, err error) {
	b, a := q.Get("before"), q.Get("after")
	switch {
	case b != "" && a != "":
		return nil, nil, "", fmt.Errorf("%w: before and after together", errBadQuery)
	case b != "":
		before, err = parseCursor(b)
		canonical = "before=" + b
	case a != "":
		after, err = parseCursor(a)
		canonical = "after=" + a
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("%w: %v", errBadQuery, err)
	}
	return before, after, canonical, nil
}

// loadPage fills p with the page of entries of sources that the request
// asks for: the newest, or those around a cursor.
func (s *Server) loadPage(ctx context.Context, p *page, sources []string, size int, before, after *storage.Cursor) error {
	entries, err := s.store.Entries(ctx, storage.EntryQuery{
		Sources: sources, Limit: size + 1, Before: before, After: after})
	if err != nil {
		return err
	}
	more := len(entries) > size
	switch {
	case after != nil:
		// The size+1 entries just newer than the cursor, newest first:
		// keep the oldest size; one more means an even newer page.
		if more {
			entries = entries[1:]
			p.Previous = "after=" + cursorParam(storage.CursorOf(&entries[0]))
		}
		if len(entries) > 0 {
			p.Next = "before=" + cursorParam(storage.CursorOf(&entries[len(entries)-1]))
		}
	default:
		if more {
			entries = entries[:size]
			p.Next = "before=" + cursorParam(storage.CursorOf(&entries[size-1]))
		}
		if before != nil && len(entries) > 0 {
			p.Previous = "after=" + cursorParam(storage.CursorOf(&entries[0]))
		}
	}
	p.Entries = entries
	p.Updated = s.started
	if len(entries) > 0 {
		p.Updated = entries[0].Updated
		for _, e := range entries[1:] {
			if e.Updated.After(p.Updated) {
				p.Updated = e.Updated
			}
		}
	}
	return nil
}
