package server

import (
	"context"
	"fmt"

	"github.com/feedrelay/feedrelay/storage"
)

// Explained is one stored item and what each feed it could appear in does
// with it.
type Explained struct {
	Entry storage.Entry
	Feeds []FeedVerdict
}

// FeedVerdict is one feed's decision on an item.
type FeedVerdict struct {
	Feed  string // "feeds/markets", "sources/stcn"
	Shown bool
	Why   string // the filter rule that decided
	// FoldedInto names the earlier copy the item is folded into, if any.
	FoldedInto string
	// Also names the later copies folded into the item.
	Also []string
}

// Explain says, for the newest limit items of a source, which rule kept or
// dropped each in every feed that gathers the source, and which copies were
// folded: for `feedrelay explain`.
func (s *Server) Explain(ctx context.Context, source string, limit int) ([]Explained, error) {
	opts := s.opts.Load()
	src := findSource(opts, source)
	if src == nil {
		return nil, fmt.Errorf("no source %q in the config", source)
	}
	type feed struct {
		name string
		sel  selection
	}
	feeds := []feed{{"sources/" + src.Slug, opts.sourceSelection(src)}}
	for i := range opts.Categories {
		for _, slug := range opts.Categories[i].Sources {
			if slug == source {
				feeds = append(feeds, feed{"feeds/" + opts.Categories[i].Slug, opts.categorySelection(&opts.Categories[i])})
			}
		}
	}
	entries, err := s.store.Entries(ctx, storage.EntryQuery{Sources: []string{source}, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]Explained, 0, len(entries))
	for i := range entries {
		ex := Explained{Entry: entries[i]}
		for _, f := range feeds {
			v, err := s.judge(ctx, f.sel, &entries[i])
			if err != nil {
				return nil, err
			}
			fv := FeedVerdict{Feed: f.name, Shown: v.shown, Why: v.decision.Why}
			if v.firstOf != nil {
				fv.FoldedInto = copyName(v.firstOf)
			}
			for j := range v.also {
				fv.Also = append(fv.Also, copyName(&v.also[j]))
			}
			ex.Feeds = append(ex.Feeds, fv)
		}
		out = append(out, ex)
	}
	return out, nil
}

func copyName(e *storage.Entry) string {
	name := e.Source.Name
	if name == "" {
		name = e.Source.Slug
	}
	return fmt.Sprintf("%s %q (%s)", name, e.Title, e.Link)
}
