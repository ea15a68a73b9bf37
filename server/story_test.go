package server

import (
	"context"
	"encoding/xml"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/filter"
	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/storage"
)

type storyEntry struct {
	ID      string `xml:"id"`
	Title   string `xml:"title"`
	Author  string `xml:"author>name"`
	Content string `xml:"content"`
	Links   []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"link"`
}

// newStoryServer has three relays of Chinese financial news in one category.
func newStoryServer(t *testing.T) (*Server, func(src string, items ...feeds.Item)) {
	t.Helper()
	ctx := context.Background()
	db := openTestDB(t, storage.SourceInfo{Slug: "stcn", Name: "证券时报网"},
		storage.SourceInfo{Slug: "eastmoney", Name: "东方财富网"}, storage.SourceInfo{Slug: "sina", Name: "新浪财经"})
	clock := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	save := func(src string, items ...feeds.Item) {
		t.Helper()
		clock = clock.Add(time.Minute) // first seen: in the order saved
		db.Now = func() time.Time { return clock }
		for i := range items {
			it := &items[i]
			it.Identity, it.Hash = it.Link+it.Title, it.Link+it.Title+it.Content
		}
		f := &feeds.Feed{Title: src, Items: items}
		(&feeds.Source{Slug: src}).Identify(f, clock) // as the poller does
		if _, err := db.Save(ctx, &feeds.Result{Source: src, Attempted: clock, StatusCode: 200, Feed: f}); err != nil {
			t.Fatal(err)
		}
	}
	opts := &Options{Options: publish.Options{
		BaseURL: "https://relay.example.org/", Title: "feedrelay", PageSize: 50, TitleWindow: 48 * time.Hour,
		Attribution: template.Must(template.New("a").Parse(`<p>（文章来源：{{if .Origin}}{{.Origin}} · 经 {{end}}{{.Source}}）</p>`)),
		Categories: []publish.Category{{Slug: "markets", Title: "市场", Sources: []string{"stcn", "eastmoney", "sina"}, DedupTitles: true},
			{Slug: "links", Title: "仅链接", Sources: []string{"stcn", "eastmoney", "sina"}}},
		Sources: []publish.Source{{Slug: "stcn", Name: "证券时报网"}, {Slug: "eastmoney", Name: "东方财富网"}, {Slug: "sina", Name: "新浪财经"}},
	}}
	return New(db, nil, nil, opts), save
}

func storyEntries(t *testing.T, srv *Server, path string) []storyEntry {
	t.Helper()
	rec := get(t, srv, path)
	var f struct {
		Entries []storyEntry `xml:"entry"`
	}
	if err := xml.Unmarshal(rec.Body.Bytes(), &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f.Entries
}

// One story, one entry: the copy first seen is shown, with its id for
// ever; later copies (same link but for tracking parameters, or same title
// within 48 h) are folded into it as "also reported by" with rel=related.
func TestFeed_OneStoryOneEntry(t *testing.T) {
	srv, save := newStoryServer(t)
	pub := time.Date(2026, 11, 26, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	save("stcn", feeds.Item{Title: "A股三大指数集体高开，创业板指涨1%", Link: "https://www.stcn.com/article/detail/1.html", Published: pub, Content: "<p>正文</p>"})
	before := storyEntries(t, srv, "/feeds/markets.atom")
	if len(before) != 1 {
		t.Fatalf("%d entries", len(before))
	}
	save("eastmoney", feeds.Item{Title: "A股三大指数集体高开 创业板指涨1%", Link: "https://stcn.com/article/detail/1.html?utm_source=eastmoney&spm=1.2", Published: pub.Add(5 * time.Minute), Content: "<p>正文</p>"})
	save("sina", feeds.Item{Title: "Ａ股三大指数集体高开，创业板指涨１％", Link: "https://finance.sina.com.cn/stock/1.shtml", Published: pub.Add(time.Hour), Content: "<p>正文</p>"},
		feeds.Item{Title: "央行开展2000亿元逆回购操作", Link: "https://finance.sina.com.cn/stock/2.shtml", Published: pub, Content: "<p>人民银行今日开展逆回购。（文章来源：上海证券报）</p>"})

	es := storyEntries(t, srv, "/feeds/markets.atom")
	if len(es) != 2 {
		t.Fatalf("markets: %d entries, want 2 (one story folded from three copies, and another)", len(es))
	}
	var a storyEntry
	for _, e := range es {
		if strings.HasPrefix(e.Title, "A股") {
			a = e
		}
	}
	if a.ID != before[0].ID {
		t.Errorf("the story's id changed from %s to %s when copies arrived", before[0].ID, a.ID)
	}
	if !strings.Contains(a.Content, "（文章来源：证券时报网）") {
		t.Errorf("the story is not shown under the source that had it first: %q", a.Content)
	}
	if !strings.Contains(a.Content, `另见 (also reported by)：<a href="https://stcn.com/article/detail/1.html?utm_source=eastmoney&amp;spm=1.2">东方财富网</a>、<a href="https://finance.sina.com.cn/stock/1.shtml">新浪财经</a>`) {
		t.Errorf("no also-reported-by line: %q", a.Content)
	}
	var related []string
	for _, l := range a.Links {
		if l.Rel == "related" {
			related = append(related, l.Href)
		}
	}
	if len(related) != 2 {
		t.Errorf("related links %v, want the two copies", related)
	}

	// Without title matching, only the link copy folds.
	if es := storyEntries(t, srv, "/feeds/links.atom"); len(es) != 3 {
		t.Errorf("links-only category: %d entries, want 3", len(es))
	}
	// A source's own feed keeps its copy.
	if es := storyEntries(t, srv, "/sources/eastmoney.atom"); len(es) != 1 {
		t.Errorf("eastmoney's own feed: %d entries, want 1", len(es))
	}

	// The original publisher named at the article's end, and the relay.
	for _, e := range es {
		if strings.HasPrefix(e.Title, "央行") {
			if e.Author != "上海证券报 · 经 新浪财经" || !strings.Contains(e.Content, "（文章来源：上海证券报 · 经 新浪财经）") {
				t.Errorf("origin: author %q, content %q", e.Author, e.Content)
			}
		}
	}
}

// Filters apply when publishing: a rule change shows at once, no re-fetch.
func TestFeed_Filters(t *testing.T) {
	srv, save := newStoryServer(t)
	pub := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	save("stcn", feeds.Item{Title: "A股三大指数集体高开", Link: "https://stcn.com/1", Published: pub},
		feeds.Item{Title: "【推广】开户送好礼活动", Link: "https://stcn.com/2", Published: pub.Add(time.Minute)},
		feeds.Item{Title: "美联储维持利率不变", Link: "https://stcn.com/3", Published: pub.Add(2 * time.Minute)})
	if es := storyEntries(t, srv, "/feeds/markets.atom"); len(es) != 3 {
		t.Fatalf("without rules: %d entries", len(es))
	}
	o := *srv.opts.Load()
	srcRules, _ := filter.Compile("source stcn", nil, []string{`推广|广告`})
	catRules, _ := filter.Compile("category markets", []string{`A股|港股`}, nil)
	o.Sources = append([]publish.Source(nil), o.Sources...)
	o.Sources[0].Rules = srcRules
	o.Categories = append([]publish.Category(nil), o.Categories...)
	o.Categories[0].Rules = catRules
	srv.SetOptions(&o)
	es := storyEntries(t, srv, "/feeds/markets.atom")
	if len(es) != 1 || es[0].Title != "A股三大指数集体高开" {
		t.Errorf("markets with rules: %+v", es)
	}
	if es := storyEntries(t, srv, "/sources/stcn.atom"); len(es) != 2 {
		t.Errorf("stcn's own feed (its exclude rule only): %d entries, want 2", len(es))
	}
}

// Pages stay full when filters hide most entries, and the archive is still
// walked to its end, each shown entry once.
func TestFeed_FilteredPaging(t *testing.T) {
	srv, save := newStoryServer(t)
	pub := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var items []feeds.Item
	for i := 0; i < 300; i++ {
		title := "行情快报第" + strings.Repeat("〇", i%7) + time.Duration(i).String() + "期"
		if i%3 != 0 {
			title = "【广告】" + title
		}
		items = append(items, feeds.Item{Title: title, Link: "https://stcn.com/n/" + time.Duration(i).String(), Published: pub.Add(time.Duration(i) * time.Minute)})
	}
	save("stcn", items...)
	o := *srv.opts.Load()
	o.PageSize = 10
	rules, _ := filter.Compile("source stcn", nil, []string{`广告`})
	o.Sources = []publish.Source{{Slug: "stcn", Name: "证券时报网", Rules: rules}}
	o.Categories = []publish.Category{{Slug: "markets", Title: "市场", Sources: []string{"stcn"}}}
	srv.SetOptions(&o)

	seen := map[string]bool{}
	next, pages := "https://relay.example.org/feeds/markets.atom", 0
	var forward [][]string // the ids of each page
	var last atomPage
	for next != "" && pages < 50 {
		p := getAtomPage(t, srv, next)
		last = p
		pages++
		var ids []string
		for _, e := range p.Entries {
			ids = append(ids, e.ID)
		}
		forward = append(forward, ids)
		if next = p.link("next"); next != "" && len(p.Entries) != 10 {
			t.Errorf("page %d: %d entries, want a full page of 10", pages, len(p.Entries))
		}
		for _, e := range p.Entries {
			if seen[e.ID] {
				t.Errorf("%s twice", e.ID)
			}
			seen[e.ID] = true
		}
	}
	if len(seen) != 100 {
		t.Errorf("walked %d pages, %d entries; want the 100 the filter keeps", pages, len(seen))
	}
	// Back through rel="previous": the same pages, in reverse.
	p := last
	for i := len(forward) - 2; i >= 0; i-- {
		prev := p.link("previous")
		if prev == "" {
			t.Fatalf("page %d has no previous link", i+2)
		}
		p = getAtomPage(t, srv, prev)
		var ids []string
		for _, e := range p.Entries {
			ids = append(ids, e.ID)
		}
		if !slices.Equal(ids, forward[i]) {
			t.Errorf("previous of page %d: %d entries, not page %d's %d", i+2, len(ids), i+1, len(forward[i]))
		}
	}
	if p.link("previous") != "" {
		t.Error("the first page, reached back, still has a previous link")
	}
}

// Folding only joins items of different sources: a source's items that
// share a title, links that differ only by #fragment, or one link under
// several guids are distinct posts and each is shown, in the source's feed
// and in its categories, naming neither its siblings nor itself. Two sources
// carrying one story still fold into one entry that names the other's copy.
func TestFeed_FoldingJoinsOnlyOtherSources(t *testing.T) {
	srv, save := newStoryServer(t)
	pub := time.Date(2026, 11, 26, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	var own []feeds.Item
	for i, link := range []string{"https://www.stcn.com/a/1.html", "https://www.stcn.com/a/2.html", "https://www.stcn.com/a/3.html"} {
		own = append(own, feeds.Item{Title: "沪深两市成交额连续第三日突破万亿元", Link: link, Published: pub.Add(time.Duration(i) * time.Minute)})
	}
	for i, frag := range []string{"#a080605", "#a030658"} {
		link := "http://blog.stcn.com/2017/06/26.html" + frag
		own = append(own, feeds.Item{GUID: link, Title: "盘中随笔第" + strconv.Itoa(i+1) + "则：市场情绪观察", Link: link, Published: pub.Add(time.Duration(10+i) * time.Minute)})
	}
	for i, frag := range []string{"#p1", "#p2"} {
		own = append(own, feeds.Item{GUID: "http://blog.stcn.com/2017/06/27.html" + frag, Title: "收盘点评第" + strconv.Itoa(i+1) + "篇：量能温和放大",
			Link: "http://blog.stcn.com/2017/06/27.html", Published: pub.Add(time.Duration(15+i) * time.Minute)})
	}
	own = append(own, feeds.Item{Title: "美联储宣布维持联邦基金利率不变", Link: "https://www.stcn.com/a/fed.html", Published: pub.Add(20 * time.Minute)})
	save("stcn", own...)
	save("eastmoney", feeds.Item{Title: "美联储宣布维持联邦基金利率不变", Link: "https://stcn.com/a/fed.html?utm_source=eastmoney", Published: pub.Add(25 * time.Minute)})

	related := func(e storyEntry) []string {
		var out []string
		for _, l := range e.Links {
			if l.Rel == "related" {
				out = append(out, l.Href)
			}
		}
		return out
	}
	for _, path := range []string{"/sources/stcn.atom", "/feeds/markets.atom", "/feeds/links.atom"} {
		es := storyEntries(t, srv, path)
		shown := map[string]storyEntry{} // by link and title
		for _, e := range es {
			for _, l := range e.Links {
				if l.Rel == "alternate" {
					shown[l.Href+" "+e.Title] = e
				}
			}
		}
		for _, it := range own {
			e, ok := shown[it.Link+" "+it.Title]
			if !ok {
				t.Errorf("%s does not show %s (%s): %d entries", path, it.Title, it.Link, len(es))
				continue
			}
			fed := strings.HasSuffix(it.Link, "fed.html")
			switch r := related(e); {
			case (!fed || path == "/sources/stcn.atom") && (len(r) > 0 || strings.Contains(e.Content, "另见")):
				t.Errorf("%s: %s names %v as copies: %q", path, it.Link, r, e.Content)
			case fed && path != "/sources/stcn.atom" && (!slices.Equal(r, []string{"https://stcn.com/a/fed.html?utm_source=eastmoney"}) ||
				!strings.Contains(e.Content, `另见 (also reported by)：<a href="https://stcn.com/a/fed.html?utm_source=eastmoney">东方财富网</a></p>`)):
				t.Errorf("%s: the story two sources carry names %v, want eastmoney's copy: %q", path, r, e.Content)
			}
		}
		if len(es) != len(own) {
			t.Errorf("%s: %d entries, want stcn's %d (eastmoney's copy folded)", path, len(es), len(own))
		}
	}
	if es := storyEntries(t, srv, "/sources/eastmoney.atom"); len(es) != 1 || len(related(es[0])) != 0 {
		t.Errorf("eastmoney's own feed: %+v, want its 1 entry, naming no copy", es)
	}
}
