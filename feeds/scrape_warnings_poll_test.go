package feeds_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/feeds/scrape"
	"github.com/feedrelay/feedrelay/storage"
)

// pageServer serves one page at /list, replaceable between polls.
type pageServer struct {
	mu   sync.Mutex
	body []byte
	typ  string
}

func (s *pageServer) set(body []byte) { s.mu.Lock(); s.body = body; s.mu.Unlock() }

func (s *pageServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", s.typ)
	w.Write(s.body)
}

func scrapeFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("scrape", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// scrapeSource is a scraped source of the page srv serves, with its poller
// (logging into the returned buffer) and store.
func scrapeSource(t *testing.T, srv *pageServer, spec scrape.Spec) (feeds.Source, *feeds.Poller, *storage.DB, *bytes.Buffer) {
	t.Helper()
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	s, err := scrape.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	p, db := newPoller(t, "roll")
	now := time.Date(2026, 11, 26, 14, 0, 0, 0, shanghai)
	p.Now = func() time.Time { return now }
	var logged bytes.Buffer
	p.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	src := feeds.Source{Slug: "roll", Name: "滚动", URL: ts.URL + "/list", Timeout: 5 * time.Second,
		MaxBodySize: 1 << 20, Location: shanghai, Scraper: s}
	return src, p, db, &logged
}

func entries(t *testing.T, db *storage.DB) []storage.Entry {
	t.Helper()
	es, err := db.Entries(context.Background(), storage.EntryQuery{Sources: []string{"roll"}, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// A roll list whose <a> are javascript:void(0) for some stories (their
// address in data-url): those stories have no link, and without a guid
// they are skipped and counted, with the reason in the poll's line and
// log. Kept, javascript:void(0) was their identity: the next poll's
// different story in the same slot was "updated 1" over the first, lost.
func TestPoll_ScrapedJavascriptLinks(t *testing.T) {
	page := scrapeFixture(t, "roll_jslinks.html")
	srv := &pageServer{body: page, typ: "text/html; charset=utf-8"}
	src, p, db, logged := scrapeSource(t, srv, scrape.Spec{Kind: scrape.HTML, Items: "ul.roll-list > li",
		Fields: map[string]string{"title": ".tt a", "link": ".tt a @href", "published": ".time"}})
	ctx := context.Background()

	warning := `fields.link gave "javascript:void(0)" for 3 items: not a web address; the URL may be in another attribute, e.g. @data-url`
	r := p.Poll(ctx, src)
	if want := "new 6, updated 0, unchanged 0; skipped 3 without guid or link; " + warning; r.Err != nil || r.Summary() != want {
		t.Fatalf("first poll:\n got %s\nwant %s", r.Summary(), want)
	}
	if log := logged.String(); !strings.Contains(log, `level=WARN msg="poll: body read with a warning" source=roll`) ||
		!strings.Contains(log, `e.g. @data-url`) {
		t.Errorf("log lacks the warning:\n%s", log)
	}

	// The same slots, other stories behind the same javascript:void(0).
	next := bytes.ReplaceAll(page, []byte("央行开展3000亿元MLF操作"), []byte("财政部发行特别国债"))
	next = bytes.ReplaceAll(next, []byte("证监会就上市公司监管指引征求意见"), []byte("外汇局公布11月外汇储备"))
	srv.set(next)
	r = p.Poll(ctx, src)
	if r.Err != nil || r.Counts != (feeds.Counts{Unchanged: 6}) || r.Skipped != 3 {
		t.Errorf("second poll: %s; want 6 unchanged, 3 skipped", r.Summary())
	}
	es := entries(t, db)
	if len(es) != 6 {
		t.Fatalf("%d entries stored, want 6", len(es))
	}
	for _, e := range es {
		if !strings.HasPrefix(e.Link, "http") || strings.Contains(e.EntryID, "javascript") {
			t.Errorf("entry %q stored with link %q, id %q", e.Title, e.Link, e.EntryID)
		}
	}
}

// Selectors (an HTML page) and paths (an API) that match nothing in any
// item — a redesign, a renamed key — make the poll warn, though its items
// are stored; fields right for the page warn of nothing.
func TestPoll_ScrapedFieldMatchedNothing(t *testing.T) {
	ctx := context.Background()
	srv := &pageServer{body: scrapeFixture(t, "stcn_yw.html"), typ: "text/html; charset=utf-8"}
	src, p, _, logged := scrapeSource(t, srv, scrape.Spec{Kind: scrape.HTML, Items: "ul.list > li",
		Fields: map[string]string{"title": ".title a", "link": ".tt a @href", "published": ".date", "summary": ".txt"}})
	r := p.Poll(ctx, src)
	warning := "fields.title, fields.published, fields.summary matched nothing in any of 6 items"
	if want := "new 5, updated 0, unchanged 0; skipped 1 without guid or link; " + warning; r.Err != nil || r.Summary() != want {
		t.Errorf("html poll:\n got %s\nwant %s", r.Summary(), want)
	}
	if r.Warning() != warning {
		t.Errorf("the source's health shows %q, want %q", r.Warning(), warning)
	}
	if !strings.Contains(logged.String(), `msg="poll: body read with a warning" source=roll url=`) ||
		!strings.Contains(logged.String(), warning) {
		t.Errorf("log lacks the warning:\n%s", logged.String())
	}

	srv = &pageServer{body: scrapeFixture(t, "eastmoney_list.json"), typ: "application/json"}
	spec := scrape.Spec{Kind: scrape.JSON, Items: "nodeList",
		Fields: map[string]string{"guid": "infocode", "title": "Title", "published": "show_time", "origin": "from"}}
	src, p, _, _ = scrapeSource(t, srv, spec)
	r = p.Poll(ctx, src)
	if want := "new 3, updated 0, unchanged 0; skipped 1 without guid or link; fields.title, fields.published matched nothing in any of 4 items"; r.Err != nil || r.Summary() != want {
		t.Errorf("json poll:\n got %s\nwant %s", r.Summary(), want)
	}
	spec.Fields["title"], spec.Fields["published"] = "title", "showtime"
	src, p, _, _ = scrapeSource(t, srv, spec)
	if r = p.Poll(ctx, src); r.Err != nil || r.Warning() != "" {
		t.Errorf("json poll with the right paths: %s", r.Summary())
	}
}

// An API's titles and publishers are published as their text, their
// character references read once ("&nbsp;" is a space, not "&amp;nbsp;");
// its HTML digest keeps its own escaping.
func TestPoll_JSONTitleEntities(t *testing.T) {
	srv := &pageServer{body: scrapeFixture(t, "eastmoney_entities.json"), typ: "application/json"}
	src, p, db, _ := scrapeSource(t, srv, scrape.Spec{Kind: scrape.JSON, Items: "nodeList",
		Fields: map[string]string{"guid": "infocode", "title": "title", "origin": "from", "summary": "digest",
			"link": "https://finance.eastmoney.com/a/{infocode}.html"}})
	if r := p.Poll(context.Background(), src); r.Err != nil || r.Counts.New != 3 {
		t.Fatalf("poll: %s", r.Summary())
	}
	got := map[string]storage.Entry{}
	for _, e := range entries(t, db) {
		got[e.Link] = e
	}
	for link, want := range map[string]struct{ title, origin string }{
		"https://finance.eastmoney.com/a/202611263571234601.html": {"东方财富：沪指 震荡上行", "证券时报网"},
		"https://finance.eastmoney.com/a/202611263571234602.html": {`"十五五"规划建议解读：A&H股联动`, "中国证券报·中证网"},
		"https://finance.eastmoney.com/a/202611253571234603.html": {"写作&lt;b&gt;的标题", "东方财富网"},
	} {
		e := got[link]
		if e.Title != want.title || e.Origin != want.origin {
			t.Errorf("%s: title %q, origin %q; want %q, %q", link, e.Title, e.Origin, want.title, want.origin)
		}
	}
	if c := got["https://finance.eastmoney.com/a/202611263571234601.html"].Summary +
		got["https://finance.eastmoney.com/a/202611263571234601.html"].Content; !strings.Contains(c, "成交&amp;换手放大") {
		t.Errorf("digest %q: its HTML escaping should stand", c)
	}
}

// Dates written with a label, in brackets or with a weekday are read as
// the date they hold, in the source's zone, with no warning.
func TestPoll_LabelledDates(t *testing.T) {
	srv := &pageServer{body: scrapeFixture(t, "roll_jslinks.html"), typ: "text/html; charset=utf-8"}
	src, p, db, _ := scrapeSource(t, srv, scrape.Spec{Kind: scrape.HTML, Items: "ul.roll-list > li",
		Fields: map[string]string{"title": ".tt a", "link": ".tt a @data-url", "published": ".time"}})
	r := p.Poll(context.Background(), src)
	if r.Err != nil || r.Counts.New != 9 || r.Warning() != "" {
		t.Fatalf("poll: %s", r.Summary())
	}
	at := func(d, h, m int) time.Time { return time.Date(2026, 11, d, h, m, 0, 0, src.Location) }
	want := map[string]time.Time{
		"1009": at(26, 9, 15),  // 发布时间：2026-11-26 09:15
		"1008": at(26, 8, 40),  // 时间：2026-11-26 08:40
		"1007": at(25, 14, 30), // (11月25日 14:30)
		"1006": at(25, 0, 0),   // [2026-11-25]
		"1005": at(24, 0, 0),   // 2026年11月24日 星期二
		"1004": at(24, 10, 0),  // 【日期：2026-11-24 10:00】
		"1003": at(23, 16, 0),  // 更新时间: 2026-11-23 16:00
		"1002": at(23, 9, 0),   // 发布于：2026-11-23 09:00
		"1001": at(22, 20, 0),  // 2026-11-22(周日) 20:00
	}
	es := entries(t, db)
	if len(es) != len(want) {
		t.Fatalf("%d entries, want %d", len(es), len(want))
	}
	for _, e := range es {
		n := strings.TrimSuffix(e.Link[strings.LastIndex(e.Link, "/")+1:], ".html")
		if !e.Published.Equal(want[n]) {
			t.Errorf("%s %q: published %v, want %v", n, e.Title, e.Published.In(src.Location), want[n])
		}
	}
}
