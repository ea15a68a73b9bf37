package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/feedrelay/feedrelay/publish"
)

// link is one feed-level link (RFC 4287 §4.2.7, RFC 5005 §3).
type link struct{ Rel, Href, Type string }

// feedPage is a page of a feed as the formats render it: the publisher's
// page, at the query the request named.
type feedPage struct {
	*publish.Page
	query string   // this page's query ("before=…"), empty on the first page
	hubs  []string // WebSub hubs
}

// sizeHint is about how many bytes a format renders p in: what its entries
// carry, escaped, and their metadata. A buffer grown to it at once is not
// grown and copied a dozen times (a page of 50 entries is ~150 KB).
func (p *feedPage) sizeHint() int {
	n := 4 << 10
	for i := range p.Entries {
		e := &p.Entries[i]
		n += 1<<10 + (len(e.Title)+len(e.HTML))*5/4
	}
	return n
}

// links are the hub, self, alternate and paging links of p in format ext.
func (p *feedPage) links(ext, mediaType string) []link {
	var ls []link
	for _, h := range p.hubs {
		ls = append(ls, link{Rel: "hub", Href: h})
	}
	ls = append(ls,
		link{"self", p.URL(ext, p.query), mediaType},
		link{"alternate", p.HTMLURL, "text/html"},
		link{"first", p.URL(ext, ""), mediaType})
	if p.Previous != nil {
		ls = append(ls, link{"previous", p.URL(ext, p.Previous.String()), mediaType})
	}
	if p.Next != nil {
		ls = append(ls, link{"next", p.URL(ext, p.Next.String()), mediaType})
	}
	return ls
}

var errBadQuery = errors.New("bad query")

// queryOf reads the query of r strictly. r.URL.Query() drops what it
// cannot read without a word — a bad %-escape, a ';' separator, or the
// whole query past Go's limit of 10,000 parameters — and a request for an
// archive page would get the first page. Bad input is the client's error.
func queryOf(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errBadQuery, err)
	}
	return q, nil
}

// param is the value of the parameter name of q, "" when absent; given
// twice, or present and empty, it is an error: which one was meant is a
// guess, and a guess serves a page nobody asked for.
func param(q url.Values, name string) (string, error) {
	vs, ok := q[name]
	switch {
	case !ok:
		return "", nil
	case len(vs) > 1:
		return "", fmt.Errorf("%w: %s given %d times", errBadQuery, name, len(vs))
	case vs[0] == "":
		return "", fmt.Errorf("%w: %s is empty", errBadQuery, name)
	}
	return vs[0], nil
}

// pageQuery reads the paging parameters of a feed request, and the
// canonical query they make: the cache key and the self link use it, so
// that one page is rendered and cached once, however it is asked for.
// Other parameters are ignored (readers and trackers add their own, and
// feeds must keep working with them) and make no cache entry. A cursor
// that is not in its canonical form is an error (see publish.ParseCursor).
func pageQuery(q url.Values) (publish.Cursor, string, error) {
	b, err := param(q, "before")
	if err != nil {
		return publish.Cursor{}, "", err
	}
	a, err := param(q, "after")
	if err != nil {
		return publish.Cursor{}, "", err
	}
	c, err := publish.ParseCursor(b, a)
	if err != nil {
		return publish.Cursor{}, "", fmt.Errorf("%w: %w", errBadQuery, err)
	}
	return c, c.String(), nil
}

// requestPage is pageQuery of r's query.
func requestPage(r *http.Request) (publish.Cursor, string, error) {
	q, err := queryOf(r)
	if err != nil {
		return publish.Cursor{}, "", err
	}
	return pageQuery(q)
}
