package publish

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
func (p *Publisher) Explain(ctx context.Context, source string, limit int) ([]Explained, error) {
	src := p.source(source)
	if src == nil {
		return nil, fmt.Errorf("no source %q in the config", source)
	}
	type feed struct {
		name string
		sel  selection
	}
	feeds := []feed{{"sources/" + src.Slug, p.sourceSelection(src)}}
	for i := range p.opts.Categories {
		for _, slug := range p.opts.Categories[i].Sources {
			if slug == source {
				feeds = append(feeds, feed{"feeds/" + p.opts.Categories[i].Slug, p.categorySelection(&p.opts.Categories[i])})
			}
		}
	}
	entries, err := p.store.Entries(ctx, storage.EntryQuery{Sources: []string{source}, Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("explain %s: %w", source, err)
	}
	out := make([]Explained, len(entries))
	for i := range entries {
		out[i].Entry = entries[i]
	}
	for _, f := range feeds {
		verdicts, err := p.judge(ctx, f.sel, entries)
		if err != nil {
			return nil, fmt.Errorf("explain %s in %s: %w", source, f.name, err)
		}
		for i, v := range verdicts {
			fv := FeedVerdict{Feed: f.name, Shown: v.shown, Why: v.decision.Why}
			if v.firstOf != nil {
				fv.FoldedInto = copyName(v.firstOf)
			}
			for j := range v.also {
				fv.Also = append(fv.Also, copyName(&v.also[j]))
			}
			out[i].Feeds = append(out[i].Feeds, fv)
		}
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
