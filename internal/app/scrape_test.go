package app_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/internal/app"
	"github.com/feedrelay/feedrelay/storage"
)

// site serves the scrape fixtures in the real sites' shapes: 证券时报网's 公司
// column page in GBK (declared only in its <meta>), its article pages,
// Eastmoney's list and body APIs, and an RSS feed that carries one of the
// column's stories. It counts the requests of each path, and each part of
// it can be changed as a site changes.
type site struct {
	*httptest.Server
	mu       sync.Mutex
	asked    map[string]int
	list     []byte          // the column page now
	emList   []byte          // the list API's answer now
	failing  map[string]bool // article paths answering 500
	emFailed atomic.Bool     // the body API answers 503
}

func fixture(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "feeds", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newSite(t *testing.T) *site {
	s := &site{asked: map[string]int{}, failing: map[string]bool{}, list: fixture(t, "scrape/testdata/stcn_company_gbk.html"),
		emList: fixture(t, "scrape/testdata/eastmoney_list.json")}
	detail := fixture(t, "article/testdata/stcn_detail.html")
	emBody := fixture(t, "article/testdata/eastmoney_body.json")
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.asked[r.URL.Path]++
		list, emList, failing := s.list, s.emList, s.failing[r.URL.Path]
		s.mu.Unlock()
		switch {
		case r.URL.Path == "/article/list.html":
			w.Header().Set("Content-Type", "text/html") // no charset: the page's <meta> says gbk
			w.Write(list)
		case strings.HasPrefix(r.URL.Path, "/article/detail/"):
			if failing {
				http.Error(w, "upstream broke", http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(detail)
		case r.URL.Path == "/api/list":
			w.Write(emList)
		case r.URL.Path == "/api/text":
			if s.emFailed.Load() {
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			w.Write(emBody)
		case r.URL.Path == "/feed.xml":
			// The same story as the column's first item, through a feed.
			fmt.Fprintf(w, `<rss version="2.0"><channel><title>转载</title><link>http://relay.example/</link>
<item><title>宁德时代：拟在匈牙利建设第二座电池工厂</title><link>%s/article/detail/1764540.html?utm_source=rss</link>
<guid>relay-1</guid><description>转载自证券时报网</description></item></channel></rss>`, s.URL)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *site) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.asked[path]
}

// articles is how many article pages and body API answers were asked for.
func (s *site) articles() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.asked["/api/text"]
	for p, c := range s.asked {
		if strings.HasPrefix(p, "/article/detail/") {
			n += c
		}
	}
	return n
}

func (s *site) setList(b []byte) { s.mu.Lock(); s.list = b; s.mu.Unlock() }

func (s *site) setAPIList(b []byte) { s.mu.Lock(); s.emList = b; s.mu.Unlock() }

func (s *site) fail(path string, on bool) { s.mu.Lock(); s.failing[path] = on; s.mu.Unlock() }

// scrapeApp opens an App on the three kinds of source against s, with a
// clock the test moves.
func scrapeApp(t *testing.T, s *site, clock *atomic.Int64) *app.App {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	yaml := fmt.Sprintf(`base_url: http://relay.example/
timezone: Asia/Shanghai
defaults: {interval: 5m, timeout: 10s}
categories:
  - {slug: markets, title: Markets}
sources:
  - name: 证券时报网公司
    slug: stcn
    url: %[1]s/article/list.html?type=company
    kind: html
    items: "ul.list > li"
    fields:
      title: ".t a"
      link: ".t a @href"
      published: ".time"
      summary: ".text"
      origin: ".info .source"
      categories: ".tags a"
    full_text:
      selector: ".detail-content"
      remove: [".share", "script"]
    categories: [markets]
  - name: 东方财富网
    slug: eastmoney
    url: %[1]s/api/list
    kind: json
    items: nodeList
    fields:
      title: title
      guid: infocode
      link: "%[1]s/NewsShare.html?infoCode={infocode}"
      published: showtime
      origin: from
    full_text:
      url: "%[1]s/api/text?id={infocode}"
      path: text
    categories: [markets]
  - name: 转载
    slug: relay
    url: %[1]s/feed.xml
    categories: [markets]
`, s.URL)
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := app.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	a, err := app.Open(context.Background(), cfg, app.Options{
		Logging: app.NewLogging(&logs, "text", "warn"),
		Now:     func() time.Time { return time.Unix(clock.Load(), 0) },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.Close()
		if t.Failed() {
			t.Logf("logs:\n%s", logs.String())
		}
	})
	return a
}

// poll polls every source once and returns the results by slug.
func poll(t *testing.T, a *app.App) map[string]*feeds.Result {
	t.Helper()
	out := map[string]*feeds.Result{}
	for _, r := range a.PollOnce(context.Background(), a.Sources(), nil) {
		out[r.Source] = r
	}
	return out
}

func entries(t *testing.T, a *app.App, slug string) map[string]storage.Entry {
	t.Helper()
	es, err := a.DB.Entries(context.Background(), storage.EntryQuery{Sources: []string{slug}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]storage.Entry{}
	for _, e := range es {
		out[e.Link] = e
	}
	return out
}

func get(t *testing.T, a *app.App, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	a.Server.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", path, rec.Code, rec.Body.String())
	}
	return rec.Body.String()
}

// A YAML file alone turns a GBK list page and a JSON API into attributed,
// deduplicated feeds with each item's full text, fetched once per new or
// changed item; a failed fetch keeps the item with its summary, warns and
// is retried, boundedly; a layout change is an error that keeps the items.
func TestScrapeSourcesEndToEnd(t *testing.T) {
	s := newSite(t)
	var clock atomic.Int64
	clock.Store(time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC).Unix())
	a := scrapeApp(t, s, &clock)
	stcn := s.URL + "/article/detail/"

	// Cold poll.
	rs := poll(t, a)
	for slug, r := range rs {
		if r.Err != nil {
			t.Fatalf("%s: %v", slug, r.Err)
		}
	}
	if got := rs["stcn"].Summary(); got != "new 4, updated 0, unchanged 0; full text 4 fetched" {
		t.Errorf("stcn: %s", got)
	}
	// The node without infocode has neither guid nor link.
	if got := rs["eastmoney"].Summary(); got != "new 3, updated 0, unchanged 0; skipped 1 without guid or link; full text 3 fetched" {
		t.Errorf("eastmoney: %s", got)
	}
	if n := s.articles(); n != 7 {
		t.Errorf("cold poll fetched %d articles, want 7 (4 pages, 3 bodies)", n)
	}
	es := entries(t, a, "stcn")
	e := es[stcn+"1764543.html"]
	// GBK declared only in <meta>, with a GB18030 four-byte character.
	if e.Title != "𠮷野家母公司拟增资中国子公司 朱镕基时期老厂房改建" {
		t.Errorf("title %q (page charset not applied?)", e.Title)
	}
	e = es[stcn+"1764541.html"]
	if e.Origin != "券商中国" {
		t.Errorf("origin %q, want the page's 来源 券商中国", e.Origin)
	}
	if !strings.Contains(e.Content, "中期借贷便利") || strings.Contains(e.Content, "分享到") || strings.Contains(e.Content, "<script") {
		t.Errorf("content is not the sanitized article minus .share:\n%s", e.Content)
	}
	if !strings.Contains(e.Content, `src="`+s.URL+`/uploads/2026/11/26/mlf-chart.png"`) {
		t.Errorf("the article's image is not absolute:\n%s", e.Content)
	}
	if e.Summary != "贵州茅台披露三季报，营收和净利润保持两位数增长。" {
		t.Errorf("summary %q, want the list's text", e.Summary)
	}
	if shanghai := time.FixedZone("CST", 8*3600); !e.Published.Equal(time.Date(2026, 11, 25, 20, 5, 0, 0, shanghai)) {
		t.Errorf("published %v", e.Published)
	}
	em := entries(t, a, "eastmoney")
	for code, origin := range map[string]string{
		"202611263571234567": "证券时报网", // from the list's "from"
		"202611263571234566": "中国证券报", // the list's "from" wins over the article's 文章来源
		"202611253570987654": "证券时报网", // "from" empty: the article's （文章来源：证券时报网）
	} {
		e := em[s.URL+"/NewsShare.html?infoCode="+code]
		if e.Origin != origin || !strings.Contains(e.Content, "中期借贷便利") {
			t.Errorf("eastmoney %s: origin %q (want %q), content %.60q", code, e.Origin, origin, e.Content)
		}
	}
	// Attribution names the original publisher and the source polled.
	atom := get(t, a, "/sources/stcn.atom")
	if !strings.Contains(atom, "（文章来源：券商中国 · 经 证券时报网公司）") {
		t.Errorf("/sources/stcn.atom lacks the attribution of 1764541:\n%.2000s", atom)
	}
	// The relay's copy of 1764540 (a tracking parameter on the link) is
	// folded into the column's: one entry in the category.
	title := regexp.MustCompile(`<title[^>]*>宁德时代：拟在匈牙利建设第二座电池工厂</title>`)
	if n := len(title.FindAllString(get(t, a, "/feeds/markets.atom"), -1)); n != 1 {
		t.Errorf("the story shared by the html and the feed source is in /feeds/markets.atom %d times, want 1", n)
	}

	// Warm poll: the list is unchanged, no article is fetched.
	clock.Add(300)
	rs = poll(t, a)
	if got := rs["stcn"].Summary(); got != "new 0, updated 0, unchanged 4" {
		t.Errorf("warm stcn: %s", got)
	}
	if n := s.articles(); n != 7 {
		t.Errorf("the warm poll fetched %d articles, want 0", n-7)
	}

	// A changed item: its article (and only its) is fetched again.
	list := fixture(t, "scrape/testdata/stcn_company_gbk.html")
	changed := bytes.Replace(list, gbk(t, "比亚迪公告，11月新能源汽车销量超过50万辆。"), gbk(t, "比亚迪公告，11月新能源汽车销量超过52万辆。"), 1)
	if bytes.Equal(changed, list) {
		t.Fatal("the fixture does not hold the text to change")
	}
	s.setList(changed)
	clock.Add(300)
	rs = poll(t, a)
	if got := rs["stcn"].Summary(); got != "new 0, updated 1, unchanged 3; full text 1 fetched" {
		t.Errorf("changed stcn: %s", got)
	}
	if n := s.count("/article/detail/1764542.html"); n != 2 {
		t.Errorf("the changed item's article was fetched %d times, want 2", n)
	}
	if n := s.articles(); n != 8 {
		t.Errorf("%d articles fetched after the change, want 8", n)
	}

	// A new item whose article fails: kept with its summary, warned
	// about, retried on later polls with backoff, up to the bound.
	const failing = "/article/detail/1764599.html"
	withNew := bytes.Replace(changed, []byte("<ul class=\"list\">\n"), append([]byte("<ul class=\"list\">\n"),
		gbk(t, `<li><div class="t"><a href="/article/detail/1764599.html">新条目</a></div><div class="text">新条目摘要。</div><div class="info"><span class="time">2026年11月26日 13:00</span></div></li>`+"\n")...), 1)
	s.setList(withNew)
	s.fail(failing, true)
	clock.Add(300)
	rs = poll(t, a)
	if r := rs["stcn"]; r.Err != nil || !strings.Contains(r.Summary(), "new 1, updated 0, unchanged 4; full text 0 fetched, 1 failed") ||
		!strings.Contains(r.Summary(), "HTTP 500") {
		t.Errorf("stcn with a failing article: %s", r.Summary())
	}
	if e := entries(t, a, "stcn")[s.URL+failing]; e.Content != "新条目摘要。" {
		t.Errorf("the item of the failed article holds %q, want its summary", e.Content)
	}
	if page := get(t, a, "/"); !strings.Contains(page, "full text: 1 article(s) not fetched") || !strings.Contains(page, "HTTP 500") {
		t.Errorf("the index page does not warn of the failed article:\n%s", page)
	}
	// Not due yet: the next poll does not retry it.
	clock.Add(60)
	poll(t, a)
	if n := s.count(failing); n != 1 {
		t.Errorf("retried before its backoff: %d fetches", n)
	}
	for attempt := 2; attempt <= feeds.MaxArticleAttempts; attempt++ {
		clock.Add(int64((feeds.ArticleRetryBase << (attempt - 2)) / time.Second))
		rs = poll(t, a)
		if n := s.count(failing); n != attempt {
			t.Fatalf("after the backoff of attempt %d: %d fetches", attempt, n)
		}
		if r := rs["stcn"]; r.Err != nil || r.Articles.Failed != 1 {
			t.Errorf("retry %d: %s", attempt, r.Summary())
		}
	}
	clock.Add(int64(24 * time.Hour / time.Second))
	poll(t, a)
	if n := s.count(failing); n != feeds.MaxArticleAttempts {
		t.Errorf("fetched %d times, want it given up after %d", n, feeds.MaxArticleAttempts)
	}

	// A retry that succeeds puts the article in and moves the entry's
	// updated: it was published with what the list said.
	s.emFailed.Store(true)
	const code = "202611269999999999"
	s.setAPIList([]byte(strings.Replace(string(fixture(t, "scrape/testdata/eastmoney_list.json")), `"nodeList": [`,
		`"nodeList": [{"title": "新快讯", "from": "", "infocode": "`+code+`", "showtime": "2026-11-26 13:30:00"}, `, 1)))
	clock.Add(60)
	rs = poll(t, a)
	if r := rs["eastmoney"]; r.Err != nil || r.Counts.New != 1 || r.Articles.Failed != 1 || !strings.Contains(r.Summary(), "HTTP 503") {
		t.Errorf("eastmoney with a busy body API: %s", r.Summary())
	}
	link := s.URL + "/NewsShare.html?infoCode=" + code
	before := entries(t, a, "eastmoney")[link]
	if before.Content != "" {
		t.Errorf("before its article, the item holds %q", before.Content)
	}
	s.emFailed.Store(false)
	clock.Add(int64(feeds.ArticleRetryBase / time.Second))
	rs = poll(t, a)
	if r := rs["eastmoney"]; r.Counts.Unchanged != 4 || r.Articles.OK != 1 {
		t.Errorf("eastmoney retry: %s", r.Summary())
	}
	after := entries(t, a, "eastmoney")[link]
	if !strings.Contains(after.Content, "中期借贷便利") || after.Origin != "证券时报网" || !after.Updated.After(before.Updated) {
		t.Errorf("after the retry: origin %q, updated %v (was %v), content %.60q", after.Origin, after.Updated, before.Updated, after.Content)
	}

	// The column's layout changes: an error on the source, and its items
	// stay.
	s.setList(fixture(t, "scrape/testdata/stcn_yw_redesign.html"))
	clock.Add(300)
	rs = poll(t, a)
	if r := rs["stcn"]; r.Err == nil || !strings.Contains(r.Err.Error(), "items selector matched nothing: the page layout may have changed") {
		t.Errorf("layout change: %s", r.Summary())
	}
	if n := len(entries(t, a, "stcn")); n != 5 {
		t.Errorf("after the layout change the source holds %d items, want its 5", n)
	}
}

// gbk encodes s as the GBK fixtures are encoded.
func gbk(t *testing.T, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
