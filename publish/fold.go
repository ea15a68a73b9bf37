package publish

import (
	"context"
	"fmt"
	"time"

	"github.com/feedrelay/feedrelay/filter"
	"github.com/feedrelay/feedrelay/storage"
)

// selection is what one feed publishes: the entries of some sources that
// their filters keep, each story once.
type selection struct {
	sources     []string
	rules       map[string][]*filter.Rules // by source slug: its own, then its category's
	titleWindow time.Duration              // zero: only the same link folds
}

func (p *Publisher) sourceRules(slug string) *filter.Rules {
	if src := p.source(slug); src != nil {
		return src.Rules
	}
	return nil
}

func (p *Publisher) categorySelection(cat *Category) selection {
	sel := selection{sources: cat.Sources, rules: map[string][]*filter.Rules{}}
	for _, slug := range cat.Sources {
		sel.rules[slug] = []*filter.Rules{p.sourceRules(slug), cat.Rules}
	}
	if cat.DedupTitles {
		sel.titleWindow = p.opts.TitleWindow
	}
	return sel
}

func (p *Publisher) allSelection() selection {
	sel := selection{rules: map[string][]*filter.Rules{}, titleWindow: p.opts.TitleWindow}
	for _, src := range p.opts.Sources {
		sel.sources = append(sel.sources, src.Slug)
		sel.rules[src.Slug] = []*filter.Rules{src.Rules}
	}
	return sel
}

func (p *Publisher) sourceSelection(src *Source) selection {
	return selection{sources: []string{src.Slug}, rules: map[string][]*filter.Rules{src.Slug: {src.Rules}}}
}

// folds reports whether sel may fold copies at all: folding only ever
// joins items of different sources.
func (sel *selection) folds() bool { return len(sel.sources) > 1 }

// shownEntry is an entry a feed shows, with the later copies of its story.
type shownEntry struct {
	storage.Entry
	Also []storage.Entry
}

// verdict says whether a selection shows an entry, and why not.
type verdict struct {
	shown    bool
	decision filter.Decision
	firstOf  *storage.Entry // set when the entry is a later copy of this entry's story
	also     []storage.Entry
}

// judge decides, for each of entries, whether sel shows it: its filters
// keep it, and no copy of its story from another source that sel shows was
// seen before it. The copies of the whole batch come in one query.
func (p *Publisher) judge(ctx context.Context, sel selection, entries []storage.Entry) ([]verdict, error) {
	vs := make([]verdict, len(entries))
	var kept []storage.Entry
	for i := range entries {
		e := &entries[i]
		vs[i].decision = filter.Decide(e.Title, e.Content, sel.rules[e.Source.Slug]...)
		if vs[i].decision.Keep {
			kept = append(kept, *e)
		}
	}
	var copies map[int64][]storage.Entry
	if sel.folds() && len(kept) > 0 {
		var err error
		if copies, err = p.store.CopiesOf(ctx, sel.sources, kept, sel.titleWindow); err != nil {
			return nil, fmt.Errorf("copies of %d entries: %w", len(kept), err)
		}
	}
	for i := range entries {
		if vs[i].decision.Keep {
			sel.fold(&vs[i], &entries[i], copies[entries[i].ID])
		}
	}
	return vs, nil
}

// fold settles v for e, kept by its filters, given the stored items that
// share a story key with it, first-seen first: e is shown unless a copy
// sel shows was seen before it, and then names the later ones.
func (sel *selection) fold(v *verdict, e *storage.Entry, copies []storage.Entry) {
	for i := range copies {
		c := &copies[i]
		if c.ID == e.ID || c.Source.Slug == e.Source.Slug {
			// A source's own items that share a title or a link are
			// distinct posts (one archive page with an #anchor per
			// post), and an entry never names itself.
			continue
		}
		if !filter.Decide(c.Title, c.Content, sel.rules[c.Source.Slug]...).Keep {
			continue // a copy the feed does not show cannot stand for e
		}
		if c.Before(e) {
			v.firstOf = c
			return
		}
		v.also = append(v.also, *c)
	}
	v.shown = true
}
