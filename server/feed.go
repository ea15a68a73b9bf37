package server

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/feedrelay/feedrelay/filter"
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
	Entries  []shownEntry
	Query    string // this page's query ("before=…"), empty on the first page
	Next     string // the query of the page of older entries, if any
	Previous string // the query of the page of newer entries, if any
	base     string
	// search is the query every page of a search carries ("q=…"); a
	// search's path takes no format extension.
	search string
}

// link is one feed-level link (RFC 4287 §4.2.7, RFC 5005 §3).
type link struct{ Rel, Href, Type string }

// url is the address of this feed in the format with extension ext, at the
// page given by query.
func (p *page) url(ext, query string) string {
	if p.search != "" {
		ext = ""
		query = strings.TrimSuffix(p.search+"&"+query, "&")
	}
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

// selection is what one feed publishes: the entries of some sources that
// their filters keep, each story once.
type selection struct {
	sources     []string
	rules       map[string][]*filter.Rules // by source slug: its own, then its category's
	titleWindow time.Duration              // zero: only the same link folds
}

func (opts *Options) sourceRules(slug string) *filter.Rules {
	if src := findSource(opts, slug); src != nil {
		return src.Rules
	}
	return nil
}

func (opts *Options) categorySelection(cat *Category) selection {
	sel := selection{sources: cat.Sources, rules: map[string][]*filter.Rules{}}
	for _, slug := range cat.Sources {
		sel.rules[slug] = []*filter.Rules{opts.sourceRules(slug), cat.Rules}
	}
	if cat.DedupTitles {
		sel.titleWindow = opts.TitleWindow
	}
	return sel
}

func (opts *Options) allSelection() selection {
	sel := selection{rules: map[string][]*filter.Rules{}, titleWindow: opts.TitleWindow}
	for _, src := range opts.Sources {
		sel.sources = append(sel.sources, src.Slug)
		sel.rules[src.Slug] = []*filter.Rules{src.Rules}
	}
	return sel
}

func (opts *Options) sourceSelection(src *Source) selection {
	return selection{sources: []string{src.Slug}, rules: map[string][]*filter.Rules{src.Slug: {src.Rules}}}
}

// shownEntry is an entry a feed shows, with the later copies of its story.
type shownEntry struct {
	storage.Entry
	Also []storage.Entry
}

// verdict says whether sel shows e, and why not.
type verdict struct {
	shown    bool
	decision filter.Decision
	firstOf  *storage.Entry // set when e is a later copy of this entry's story
	also     []storage.Entry
}

func (s *Server) judge(ctx context.Context, sel selection, e *storage.Entry) (verdict, error) {
	v := verdict{decision: filter.Decide(e.Title, e.Content, sel.rules[e.Source.Slug]...)}
	if !v.decision.Keep {
		return v, nil
	}
	copies, err := s.store.Copies(ctx, sel.sources, e, sel.titleWindow)
	if err != nil {
		return v, err
	}
	for i := range copies {
		c := &copies[i]
		if !filter.Decide(c.Title, c.Content, sel.rules[c.Source.Slug]...).Keep {
			continue // a copy the feed does not show cannot stand for e
		}
		if c.Before(e) {
			v.firstOf = c
			return v, nil
		}
		v.also = append(v.also, *c)
	}
	v.shown = true
	return v, nil
}

// maxScanPages bounds, in pages, how many stored entries one page looks at
// to find page_size shown ones, when filters or folding hide many.
const maxScanPages = 20

// finder returns stored entries newest first: the limit just older than
// before, or (for feeds) just newer than after.
type finder func(ctx context.Context, limit int, before, after *storage.Cursor) ([]storage.Entry, error)

// entriesOf finds the entries of sel's sources.
func (s *Server) entriesOf(sel selection) finder {
	return func(ctx context.Context, limit int, before, after *storage.Cursor) ([]storage.Entry, error) {
		return s.store.Entries(ctx, storage.EntryQuery{Sources: sel.sources, Limit: limit, Before: before, After: after})
	}
}

// loadPage fills p with the page of entries sel shows that the request asks
// for: the newest, or those around a cursor.
func (s *Server) loadPage(ctx context.Context, p *page, sel selection, find finder, size int, before, after *storage.Cursor) error {
	var shown []shownEntry
	if after != nil {
		// A previous page: the size shown entries just newer than the
		// cursor, and one more to know whether a newer page shows any.
		found, last, more, err := s.scan(ctx, sel, find, after, true, size+1)
		if err != nil {
			return err
		}
		switch {
		case len(found) > size:
			found = found[:size]
			p.Previous = "after=" + cursorParam(storage.CursorOf(&found[size-1].Entry))
		case more: // the scan stopped early: go on from there
			p.Previous = "after=" + cursorParam(storage.CursorOf(last))
		}
		shown = found
		slices.Reverse(shown) // newest first, as every page
		next := *after
		if len(shown) > 0 {
			next = storage.CursorOf(&shown[len(shown)-1].Entry)
		}
		p.Next = "before=" + cursorParam(next)
	} else {
		found, last, more, err := s.scan(ctx, sel, find, before, false, size)
		if err != nil {
			return err
		}
		shown = found
		if more {
			p.Next = "before=" + cursorParam(storage.CursorOf(last))
		}
		if before != nil && len(shown) > 0 {
			p.Previous = "after=" + cursorParam(storage.CursorOf(&shown[0].Entry))
		}
	}
	p.Entries = shown
	p.Updated = s.started
	if len(shown) > 0 {
		p.Updated = shown[0].Updated
		for _, e := range shown[1:] {
			if e.Updated.After(p.Updated) {
				p.Updated = e.Updated
			}
		}
	}
	return nil
}

// scan walks the stored entries away from cursor (nil: the newest), older
// ones or, with up, newer ones, and returns the first want entries sel
// shows, in walk order; last is the last entry looked at, and more says
// that entries remain beyond it. It looks at most maxScanPages pages.
func (s *Server) scan(ctx context.Context, sel selection, find finder, cursor *storage.Cursor, up bool, want int) (shown []shownEntry, last *storage.Entry, more bool, err error) {
	batch := want
	for scanned := 0; scanned < maxScanPages*batch; {
		var entries []storage.Entry
		if up {
			entries, err = find(ctx, batch+1, nil, cursor)
			slices.Reverse(entries) // walk order: oldest first
		} else {
			entries, err = find(ctx, batch+1, cursor, nil)
		}
		if err != nil {
			return nil, nil, false, err
		}
		more = len(entries) > batch
		if more {
			entries = entries[:batch]
		}
		for i := range entries {
			scanned++
			last = &entries[i]
			if err := s.consider(ctx, sel, last, &shown); err != nil {
				return nil, nil, false, err
			}
			if len(shown) == want {
				return shown, last, more || i < len(entries)-1, nil
			}
		}
		if !more || last == nil {
			break
		}
		c := storage.CursorOf(last)
		cursor = &c
	}
	return shown, last, more && last != nil, nil
}

// consider appends e to shown if sel shows it.
func (s *Server) consider(ctx context.Context, sel selection, e *storage.Entry, shown *[]shownEntry) error {
	v, err := s.judge(ctx, sel, e)
	if err != nil {
		return err
	}
	if v.shown {
		*shown = append(*shown, shownEntry{Entry: *e, Also: v.also})
	}
	return nil
}
