package server

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/feedrelay/feedrelay/publish"
)

// link is one feed-level link (RFC 4287 §4.2.7, RFC 5005 §3).
type link struct{ Rel, Href, Type string }

// feedPage is a page of a feed as the formats render it: the publisher's
// page, at the query the request named.
type feedPage struct {
	*publish.Page
	query string // this page's query ("before=…"), empty on the first page
}

// links are the self, alternate and paging links of p in format ext.
func (p *feedPage) links(ext, mediaType string) []link {
	ls := []link{
		{"self", p.URL(ext, p.query), mediaType},
		{"alternate", p.HTMLURL, "text/html"},
		{"first", p.URL(ext, ""), mediaType},
	}
	if p.Previous != nil {
		ls = append(ls, link{"previous", p.URL(ext, p.Previous.String()), mediaType})
	}
	if p.Next != nil {
		ls = append(ls, link{"next", p.URL(ext, p.Next.String()), mediaType})
	}
	return ls
}

var errBadQuery = errors.New("bad query")

// pageQuery reads the paging parameters of a feed request, and the query
// they make as written: the cache key and the self link use it.
func pageQuery(q url.Values) (publish.Cursor, string, error) {
	b, a := q.Get("before"), q.Get("after")
	c, err := publish.ParseCursor(b, a)
	if err != nil {
		return publish.Cursor{}, "", fmt.Errorf("%w: %w", errBadQuery, err)
	}
	switch {
	case b != "":
		return c, "before=" + b, nil
	case a != "":
		return c, "after=" + a, nil
	}
	return c, "", nil
}
