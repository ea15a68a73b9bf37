package publish

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/feedrelay/feedrelay/storage"
)

// Cursor says which page of a feed: the newest entries (the zero Cursor),
// the entries just older than Before, or those just newer than After (a
// "previous" page, RFC 5005 §3). Positions are (updated, id), not offsets,
// so pages do not shift when new items arrive.
type Cursor struct {
	Before, After *storage.Cursor
}

// ErrBadCursor is the error of a cursor that names no page.
var ErrBadCursor = errors.New("bad page cursor")

// ParseCursor reads the values of a page's "before" and "after" query
// parameters, as Cursor.String writes them and in no other form (one page,
// one spelling); at most one may be set.
func ParseCursor(before, after string) (Cursor, error) {
	var c Cursor
	var err error
	switch {
	case before != "" && after != "":
		return Cursor{}, fmt.Errorf("%w: before and after together", ErrBadCursor)
	case before != "":
		c.Before, err = parsePosition(before)
	case after != "":
		c.After, err = parsePosition(after)
	}
	if err != nil {
		return Cursor{}, err
	}
	return c, nil
}

// parsePosition reads "{unix seconds}.{id}" in the one form
// formatPosition writes: "0001767225600.1" or "+1767225600.1" name the
// page "1767225600.1" does, and would be rendered and cached again under
// each spelling, so they are refused, with the form to use.
func parsePosition(s string) (*storage.Cursor, error) {
	secs, id, ok := strings.Cut(s, ".")
	u, err1 := strconv.ParseInt(secs, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || n < 1 { // no entry has an id below 1: no link says one
		return nil, fmt.Errorf("%w %q", ErrBadCursor, s)
	}
	c := &storage.Cursor{Updated: time.Unix(u, 0).UTC(), ID: n}
	if canonical := formatPosition(*c); canonical != s {
		return nil, fmt.Errorf("%w %q: write it %q", ErrBadCursor, s, canonical)
	}
	return c, nil
}

// String is c as a page query: "before={unix seconds}.{id}", "after=…",
// or "" for the first page.
func (c Cursor) String() string {
	switch {
	case c.Before != nil:
		return "before=" + formatPosition(*c.Before)
	case c.After != nil:
		return "after=" + formatPosition(*c.After)
	}
	return ""
}

// pageName names the page at c in errors.
func pageName(c Cursor) string {
	if s := c.String(); s != "" {
		return "page " + s
	}
	return "first page"
}

func formatPosition(c storage.Cursor) string {
	return strconv.FormatInt(c.Updated.Unix(), 10) + "." + strconv.FormatInt(c.ID, 10)
}

// Page is one page of one feed, in no format yet.
type Page struct {
	*Feed
	Entries []Entry
	// Updated is the latest updated time of the page's entries; zero when
	// the page is empty.
	Updated time.Time
	// Changed is the latest time we stored or changed any entry the page
	// shows, a copy it names, or what their sources say of themselves
	// (storage.Entry.Changed): what the page shows moved then, whatever
	// the sources' own dates say. Zero when the page is empty.
	Changed time.Time
	// Next leads to older entries and Previous to newer ones; nil when
	// there are none. The first page is Cursor{}.
	Next, Previous *Cursor
}

// Page returns the page of f at c: at most Options.PageSize entries that f
// shows, full whenever entries remain beyond it, however many the filters
// hide or the folding joins.
func (p *Publisher) Page(ctx context.Context, f *Feed, c Cursor) (*Page, error) {
	if f.search != "" && c.After != nil {
		return nil, fmt.Errorf("%w: search pages go back only (before=)", ErrBadCursor)
	}
	pg := &Page{Feed: f}
	shown, err := p.load(ctx, pg, c)
	if err != nil {
		return nil, fmt.Errorf("%s of %s: %w", pageName(c), f.Path, err)
	}
	if f.search != "" || f.links == FileLinks {
		pg.Previous = nil // search pages go back only; see FileLinks
	}
	if pg.Entries, err = p.views(shown); err != nil {
		return nil, fmt.Errorf("%s of %s: %w", pageName(c), f.Path, err)
	}
	return pg, nil
}

// maxScanPages bounds, in pages, how many stored entries one page looks at
// to find page_size shown ones, when filters or folding hide many.
const maxScanPages = 20

// finder returns stored entries newest first: the limit just older than
// before, or (for feeds) just newer than after.
type finder func(ctx context.Context, limit int, before, after *storage.Cursor) ([]storage.Entry, error)

// entriesOf finds the entries of sel's sources.
func (p *Publisher) entriesOf(sel selection) finder {
	return func(ctx context.Context, limit int, before, after *storage.Cursor) ([]storage.Entry, error) {
		return p.store.Entries(ctx, storage.EntryQuery{Sources: sel.sources, Limit: limit, Before: before, After: after})
	}
}

// load returns the entries of the page of pg's feed that c asks for, and
// sets pg's paging cursors and Updated.
func (p *Publisher) load(ctx context.Context, pg *Page, c Cursor) ([]shownEntry, error) {
	f, size := pg.Feed, p.opts.PageSize
	var shown []shownEntry
	if c.After != nil {
		// A previous page: the size shown entries just newer than the
		// cursor, and one more to know whether a newer page shows any.
		found, last, more, err := p.scan(ctx, f, c.After, true, size+1)
		if err != nil {
			return nil, err
		}
		switch {
		case len(found) > size:
			found = found[:size]
			pg.Previous = &Cursor{After: position(&found[size-1].Entry)}
		case more: // the scan stopped early: go on from there
			pg.Previous = &Cursor{After: position(last)}
		}
		shown = found
		slices.Reverse(shown) // newest first, as every page
		next := *c.After
		if len(shown) > 0 {
			next = storage.CursorOf(&shown[len(shown)-1].Entry)
		}
		pg.Next = &Cursor{Before: &next}
	} else {
		found, last, more, err := p.scan(ctx, f, c.Before, false, size)
		if err != nil {
			return nil, err
		}
		shown = found
		if more {
			pg.Next = &Cursor{Before: position(last)}
		}
		if c.Before != nil && len(shown) > 0 {
			pg.Previous = &Cursor{After: position(&shown[0].Entry)}
		}
	}
	changed := func(e *storage.Entry) {
		pg.Changed = latest(pg.Changed, latest(e.Changed, e.Source.Changed))
	}
	for i := range shown {
		e := &shown[i]
		pg.Updated = latest(pg.Updated, e.Updated)
		changed(&e.Entry)
		for j := range e.Also {
			changed(&e.Also[j])
		}
	}
	return shown, nil
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func position(e *storage.Entry) *storage.Cursor {
	c := storage.CursorOf(e)
	return &c
}

// scan walks the stored entries of f away from cursor (nil: the newest),
// older ones or, with up, newer ones, and returns the first want entries f
// shows, in walk order; last is the last entry looked at, and more says
// that entries remain beyond it. It looks at most maxScanPages pages, and
// asks the store for each batch's entries and their copies in two queries.
func (p *Publisher) scan(ctx context.Context, f *Feed, cursor *storage.Cursor, up bool, want int) (shown []shownEntry, last *storage.Entry, more bool, err error) {
	batch := want
	for scanned := 0; scanned < maxScanPages*batch; {
		var entries []storage.Entry
		if up {
			entries, err = f.find(ctx, batch+1, nil, cursor)
			slices.Reverse(entries) // walk order: oldest first
		} else {
			entries, err = f.find(ctx, batch+1, cursor, nil)
		}
		if err != nil {
			return nil, nil, false, err
		}
		more = len(entries) > batch
		if more {
			entries = entries[:batch]
		}
		verdicts, err := p.judge(ctx, f.sel, entries)
		if err != nil {
			return nil, nil, false, err
		}
		for i := range entries {
			scanned++
			last = &entries[i]
			if v := verdicts[i]; v.shown {
				shown = append(shown, shownEntry{Entry: *last, Also: v.also})
			}
			if len(shown) == want {
				return shown, last, more || i < len(entries)-1, nil
			}
		}
		if !more || last == nil {
			break
		}
		cursor = position(last)
	}
	return shown, last, more && last != nil, nil
}
