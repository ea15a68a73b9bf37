package feeds_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/feeds/scrape"
	"github.com/feedrelay/feedrelay/storage"
)

// A list page and an API that write their dates the ways Chinese sites do
// (no year, dots, relative, a Unix time as a JSON number), polled without
// time_format: each item is stored under its own date, so the published
// feed lists today's story above last week's; a date nobody can read is
// named in the poll's summary and log; and the next poll, ten minutes
// later, changes nothing (a relative date is not read again into a change).
func TestPoll_ScrapedDates(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, shanghai) }
	const page = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>要闻</title></head><body><ul class="list">
<li><a href="/a/1.html">今天的新闻</a><span class="time">2026-11-26 09:15</span></li>
<li><a href="/a/2.html">上周的旧闻（无年份）</a><span class="time">11月25日 15:05</span></li>
<li><a href="/a/3.html">点分日期</a><span class="time">2026.11.20 08:00</span></li>
<li><a href="/a/4.html">相对时间</a><span class="time">3小时前</span></li>
<li><a href="/a/5.html">读不懂的日期</a><span class="time">上周三</span></li>
</ul></body></html>`
	const api = `{"data":{"list":[
{"id":"a1","title":"秒","meta":{"ts":1795656600}},
{"id":"a2","title":"毫秒","meta":{"ts":1795649400000}},
{"id":"a3","title":"昨天","meta":{"ts":"昨天 10:00"}},
{"id":"a4","title":"前一天","meta":{"ts":1795570200}}]}}`
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/list.html":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(page))
		case "/api":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(api))
		default:
			http.NotFound(w, r)
		}
	}))
	defer ts.Close()

	htmlScraper, err := scrape.Compile(scrape.Spec{Kind: scrape.HTML, Items: "ul.list > li",
		Fields: map[string]string{"title": "a", "link": "a @href", "published": ".time"}})
	if err != nil {
		t.Fatal(err)
	}
	jsonScraper, err := scrape.Compile(scrape.Spec{Kind: scrape.JSON, Items: "data.list",
		Fields: map[string]string{"guid": "id", "title": "title", "published": "meta.ts",
			"link": ts.URL + "/n/{id}.html"}})
	if err != nil {
		t.Fatal(err)
	}
	sources := []feeds.Source{
		{Slug: "yw", Name: "要闻", URL: ts.URL + "/list.html", Timeout: 5 * time.Second, MaxBodySize: 1 << 20,
			Location: shanghai, Scraper: htmlScraper},
		{Slug: "kx", Name: "快讯", URL: ts.URL + "/api", Timeout: 5 * time.Second, MaxBodySize: 1 << 20,
			Location: shanghai, Scraper: jsonScraper},
	}
	p, db := newPoller(t, "yw", "kx")
	now := at(26, 14, 0)
	p.Now = func() time.Time { return now }
	var logged bytes.Buffer
	p.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	ctx := context.Background()

	html, js := p.Poll(ctx, sources[0]), p.Poll(ctx, sources[1])
	if html.Err != nil || html.Counts.New != 5 || js.Err != nil || js.Counts.New != 4 {
		t.Fatalf("first polls: yw %s; kx %s", html.Summary(), js.Summary())
	}
	warning := `fields.published: 1 date not read ("上周三"), dated when first seen`
	if got := html.Summary(); !strings.HasPrefix(got, "new 5, updated 0, unchanged 0; "+warning) {
		t.Errorf("yw summary %q lacks the warning %q", got, warning)
	}
	if len(html.UnreadDates) != 1 || html.UnreadDates[0].Count != 1 {
		t.Errorf("yw unread dates %+v", html.UnreadDates)
	}
	if js.DateWarning() != "" || js.Summary() != "new 4, updated 0, unchanged 0" {
		t.Errorf("kx: every date was read, yet %q", js.Summary())
	}
	if log := logged.String(); strings.Count(log, `msg="poll: dates not read"`) != 1 ||
		!strings.Contains(log, `level=WARN msg="poll: dates not read" source=yw`) || !strings.Contains(log, `\"上周三\"`) {
		t.Errorf("log: want one warning line naming yw and the raw date:\n%s", log)
	}

	want := []struct {
		title string
		pub   time.Time
	}{
		{"读不懂的日期", time.Time{}}, // not read: first seen (storage's clock), and warned of
		{"相对时间", at(26, 11, 0)},
		{"秒", at(26, 9, 30)},
		{"今天的新闻", at(26, 9, 15)},
		{"毫秒", at(26, 7, 30)},
		{"上周的旧闻（无年份）", at(25, 15, 5)},
		{"昨天", at(25, 10, 0)},
		{"前一天", at(25, 9, 30)},
		{"点分日期", at(20, 8, 0)},
	}
	check := func(when string) {
		t.Helper()
		es, err := db.Entries(ctx, storage.EntryQuery{Sources: []string{"yw", "kx"}, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != len(want) {
			t.Fatalf("%s: %d entries, want %d", when, len(es), len(want))
		}
		for i, e := range es {
			if e.Title != want[i].title || (!want[i].pub.IsZero() && !e.Published.Equal(want[i].pub)) {
				t.Errorf("%s: entry %d is %q published %v, want %q published %v",
					when, i, e.Title, e.Published.In(shanghai), want[i].title, want[i].pub)
			}
		}
	}
	check("first poll")

	now = now.Add(10 * time.Minute)
	html, js = p.Poll(ctx, sources[0]), p.Poll(ctx, sources[1])
	if html.Counts != (feeds.Counts{Unchanged: 5}) || js.Counts != (feeds.Counts{Unchanged: 4}) {
		t.Errorf("ten minutes later: yw %s; kx %s; want everything unchanged", html.Summary(), js.Summary())
	}
	check("second poll")
}

// A feed's date that no rule reads (RSS pubDate, Atom updated) is named as
// a scraped page's is: in the poll's result and summary, where the item
// would otherwise take its first-seen time without a word.
func TestPoll_FeedDatesNotRead(t *testing.T) {
	const rss = `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title><link>https://example.org/</link>
<item><title>读得懂</title><link>https://example.org/1</link><pubDate>Thu, 26 Nov 2026 09:30:00 +0800</pubDate></item>
<item><title>读不懂</title><link>https://example.org/2</link><pubDate>上周三 下午</pubDate></item>
<item><title>没有日期</title><link>https://example.org/3</link></item>
</channel></rss>`
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write([]byte(rss))
	}))
	defer ts.Close()
	p, _ := newPoller(t, "rss")
	r := p.Poll(context.Background(), feeds.Source{Slug: "rss", URL: ts.URL + "/rss.xml", Interval: time.Hour, Timeout: 10 * time.Second})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	want := `published: 1 date not read ("上周三 下午"), dated when first seen`
	if got := r.DateWarning(); got != want {
		t.Errorf("the poll's date warning %q, want %q (no time_format hint: a feed has none)", got, want)
	}
}
