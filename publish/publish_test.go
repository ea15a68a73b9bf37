package publish

import (
	"context"
	"fmt"
	"html/template"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/filter"
	"github.com/feedrelay/feedrelay/storage"
)

// newPublisher publishes two relays in one category from a real SQLite
// file; save stores items as a poll does, each call seen a minute later.
func newPublisher(t *testing.T) (*Publisher, *Options, func(src string, items ...feeds.Item)) {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "feedrelay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.SyncSources(ctx, []storage.SourceInfo{{Slug: "stcn", Name: "证券时报网"}, {Slug: "eastmoney", Name: "东方财富网"}}); err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	save := func(src string, items ...feeds.Item) {
		t.Helper()
		clock = clock.Add(time.Minute)
		db.Now = func() time.Time { return clock }
		for i := range items {
			it := &items[i]
			it.Identity, it.Hash = it.Link+it.Title, it.Link+it.Title
		}
		f := &feeds.Feed{Title: src, Items: items}
		(&feeds.Source{Slug: src}).Identify(f, clock) // as the poller does
		if _, err := db.Save(ctx, &feeds.Result{Source: src, Attempted: clock, StatusCode: 200, Feed: f}); err != nil {
			t.Fatal(err)
		}
	}
	opts := &Options{
		BaseURL: "https://relay.example.org/", Title: "feedrelay", PageSize: 50, TitleWindow: 48 * time.Hour,
		Attribution: template.Must(template.New("a").Parse(`<p>（文章来源：{{.Source}}）</p>`)),
		Categories:  []Category{{Slug: "markets", Title: "市场", Sources: []string{"stcn", "eastmoney"}, DedupTitles: true}},
		Sources:     []Source{{Slug: "stcn", Name: "证券时报网"}, {Slug: "eastmoney", Name: "东方财富网"}},
	}
	return New(db, opts), opts, save
}

func firstPage(t *testing.T, p *Publisher, f *Feed) map[string]Entry {
	t.Helper()
	pg, err := p.Page(context.Background(), f, Cursor{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Entry{}
	for _, e := range pg.Entries {
		out[e.Link] = e
	}
	return out
}

// Two posts of one source under one title are two entries, each naming
// no copy; another source's copy of one of them folds into it.
func TestPage_FoldsOnlyAcrossSources(t *testing.T) {
	p, _, save := newPublisher(t)
	pub := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	title := "沪深两市成交额连续第三日突破万亿元"
	save("stcn", feeds.Item{Title: title, Link: "https://www.stcn.com/a/1.html", Published: pub},
		feeds.Item{Title: title, Link: "https://www.stcn.com/a/2.html", Published: pub.Add(time.Minute)})
	save("eastmoney", feeds.Item{Title: "两市成交额再破万亿", Link: "https://stcn.com/a/1.html?utm_source=em", Published: pub.Add(5 * time.Minute)})

	for _, f := range []*Feed{p.Source("stcn"), p.Category("markets"), p.All()} {
		es := firstPage(t, p, f)
		one, two := es["https://www.stcn.com/a/1.html"], es["https://www.stcn.com/a/2.html"]
		if one.Entry == nil || two.Entry == nil {
			t.Fatalf("%s: %d entries, want both of stcn's posts", f.Path, len(es))
		}
		if len(two.Also) != 0 || strings.Contains(two.HTML, "另见") {
			t.Errorf("%s: the second post names copies %v: %q", f.Path, two.Also, two.HTML)
		}
		wantAlso := []Copy{{Source: "东方财富网", Link: "https://stcn.com/a/1.html?utm_source=em"}}
		if f.Path == "sources/stcn" {
			wantAlso = nil
		}
		if !slices.Equal(one.Also, wantAlso) {
			t.Errorf("%s: the first post names %v, want %v", f.Path, one.Also, wantAlso)
		}
		if _, shown := es["https://stcn.com/a/1.html?utm_source=em"]; shown {
			t.Errorf("%s shows eastmoney's copy beside stcn's", f.Path)
		}
	}

	ex, err := p.Explain(context.Background(), "stcn", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range ex {
		for _, v := range item.Feeds {
			if !v.Shown || v.FoldedInto != "" {
				t.Errorf("explain: %s in %s: %+v, want shown", item.Entry.Link, v.Feed, v)
			}
		}
	}
	ex, err = p.Explain(context.Background(), "eastmoney", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 1 || len(ex[0].Feeds) != 2 || ex[0].Feeds[1].FoldedInto != `证券时报网 "`+title+`" (https://www.stcn.com/a/1.html)` {
		t.Errorf("explain eastmoney: %+v", ex)
	}
}

// Pages through next cursors reach every shown entry once, pages stay full
// under a filter, and previous cursors lead back through the same pages.
func TestPage_Cursors(t *testing.T) {
	p, opts, save := newPublisher(t)
	var items []feeds.Item
	pub := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 40 {
		title := fmt.Sprintf("第%d期行情快报", i)
		if i%4 == 0 {
			title = "【广告】" + title
		}
		items = append(items, feeds.Item{Title: title, Link: fmt.Sprintf("https://stcn.com/n/%d", i), Published: pub.Add(time.Duration(i) * time.Hour)})
	}
	save("stcn", items...)
	o := *opts
	o.PageSize = 7
	rules, _ := filter.Compile("source stcn", nil, []string{"广告"})
	o.Sources = []Source{{Slug: "stcn", Name: "证券时报网", Rules: rules}, o.Sources[1]}
	p = New(p.store, &o)
	f := p.Category("markets")

	ctx := context.Background()
	var pages [][]string
	c := Cursor{}
	for {
		pg, err := p.Page(ctx, f, c)
		if err != nil {
			t.Fatal(err)
		}
		var links []string
		for _, e := range pg.Entries {
			links = append(links, e.Link)
		}
		pages = append(pages, links)
		if pg.Next == nil {
			break
		}
		if len(links) != 7 {
			t.Errorf("page %d: %d entries before the last page, want 7", len(pages), len(links))
		}
		// Cursors travel as query strings.
		before, _ := strings.CutPrefix(pg.Next.String(), "before=")
		if c, err = ParseCursor(before, ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(slices.Concat(pages...)); n != 30 {
		t.Errorf("%d entries over %d pages, want the 30 the filter keeps", n, len(pages))
	}
	for i := len(pages) - 1; i > 0; i-- {
		pg, err := p.Page(ctx, f, c)
		if err != nil {
			t.Fatal(err)
		}
		if pg.Previous == nil {
			t.Fatalf("page %d has no previous cursor", i+1)
		}
		c = *pg.Previous
		prev, err := p.Page(ctx, f, c)
		if err != nil {
			t.Fatal(err)
		}
		var links []string
		for _, e := range prev.Entries {
			links = append(links, e.Link)
		}
		if !slices.Equal(links, pages[i-1]) {
			t.Errorf("previous of page %d: %v, want page %d: %v", i+1, links, i, pages[i-1])
		}
	}
	if _, err := ParseCursor("1.2", "3.4"); err == nil {
		t.Error("before and after together parse")
	}
	if _, err := ParseCursor("yesterday", ""); err == nil {
		t.Error("a cursor without a position parses")
	}
}
