package feeds_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/storage"
)

// gbkFeed is an RSS feed encoded in GBK that declares gb2312, as many
// Chinese sites do, served without a charset in Content-Type.
func gbkFeed(t testing.TB, titles ...string) []byte {
	t.Helper()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="gb2312"?><rss version="2.0"><channel><title>证券时报网</title><link>https://www.stcn.com/</link>`)
	for i, title := range titles {
		b.WriteString("<item><title>" + title + "</title><link>/a/" + string(rune('0'+i)) + ".html</link>" +
			"<pubDate>2026-11-26 09:3" + string(rune('0'+i)) + ":00</pubDate></item>")
	}
	b.WriteString("</channel></rss>")
	out, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type source struct {
	mu       sync.Mutex
	body     []byte
	etag     string
	requests atomic.Int32
	notMod   atomic.Int32
	active   atomic.Int32
	overlap  atomic.Bool // two requests for this source at once
}

func (s *source) set(body []byte, etag string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.etag = body, etag
}

func (s *source) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.active.Add(1) > 1 {
		s.overlap.Store(true)
	}
	defer s.active.Add(-1)
	time.Sleep(20 * time.Millisecond) // long enough for an overlap to show
	s.mu.Lock()
	body, etag := s.body, s.etag
	s.mu.Unlock()
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		s.notMod.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "application/rss+xml")
	w.Write(body)
}

func newPoller(t *testing.T, slugs ...string) (*feeds.Poller, *storage.DB) {
	t.Helper()
	db, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "feedrelay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var infos []storage.SourceInfo
	for _, s := range slugs {
		infos = append(infos, storage.SourceInfo{Slug: s, Name: s})
	}
	if err := db.SyncSources(context.Background(), infos); err != nil {
		t.Fatal(err)
	}
	return &feeds.Poller{Fetcher: feeds.NewFetcher(""), Store: db}, db
}

func TestPoll_GBKSourceConditionalGET(t *testing.T) {
	src := &source{}
	src.set(gbkFeed(t, "A股三大指数集体高开", "央行开展逆回购"), `"v1"`)
	ts := httptest.NewServer(src)
	defer ts.Close()
	p, db := newPoller(t, "stcn")
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	s := feeds.Source{Slug: "stcn", Name: "证券时报网", URL: ts.URL + "/rss.xml", Timeout: 5 * time.Second,
		MaxBodySize: 1 << 20, Location: shanghai}
	ctx := context.Background()

	r := p.Poll(ctx, s)
	if r.Err != nil || r.Counts.New != 2 {
		t.Fatalf("first poll: %s", r.Summary())
	}
	es, err := db.Entries(ctx, storage.EntryQuery{Sources: []string{"stcn"}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[1].Title != "A股三大指数集体高开" || es[1].Link != ts.URL+"/a/0.html" {
		t.Fatalf("stored entries: %+v", es)
	}
	if want := time.Date(2026, 11, 26, 1, 30, 0, 0, time.UTC); !es[1].Published.Equal(want) {
		t.Errorf("zone-less date read as %v, want %v (Asia/Shanghai)", es[1].Published, want)
	}

	r = p.Poll(ctx, s)
	if r.Err != nil || !r.NotModified || src.notMod.Load() != 1 {
		t.Fatalf("second poll: %s (server sent %d 304s)", r.Summary(), src.notMod.Load())
	}
	if got := r.Summary(); got != "unchanged (not modified)" {
		t.Errorf("summary %q", got)
	}

	// New content: one new item, the others unchanged.
	src.set(gbkFeed(t, "A股三大指数集体高开", "央行开展逆回购", "北向资金流入"), `"v2"`)
	r = p.Poll(ctx, s)
	if r.Err != nil || r.Counts != (feeds.Counts{New: 1, Unchanged: 2}) {
		t.Fatalf("third poll: %s", r.Summary())
	}
	if got := r.Summary(); got != "new 1, updated 0, unchanged 2" {
		t.Errorf("summary %q", got)
	}
}

// A GB2312 blog of 16 guid-less posts, each linking to its month's archive
// page with its own #anchor, is 16 items, stored once each, published under
// ids from the source's tag authority.
func TestPoll_FragmentsArePosts(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="gb2312"?><rss version="2.0"><channel><title>老股民的博客</title><link>http://blog.example.cn/</link>`)
	for i := 16; i >= 1; i-- {
		fmt.Fprintf(&b, `<item><title>复盘第%d篇</title><link>http://blog.example.cn/archives/2017-%02d.html#a%d</link><description>第%d篇正文。</description></item>`,
			i, 1+(i-1)/6, i, i)
	}
	b.WriteString(`</channel></rss>`)
	body, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer ts.Close()
	p, db := newPoller(t, "blog")
	src := feeds.Source{Slug: "blog", URL: ts.URL, Timeout: 5 * time.Second, TagAuthority: "relay.example.org"}
	ctx := context.Background()
	if r := p.Poll(ctx, src); r.Err != nil || r.Counts != (feeds.Counts{New: 16}) {
		t.Fatalf("first poll: %s, want 16 new", r.Summary())
	}
	if r := p.Poll(ctx, src); r.Err != nil || r.Counts != (feeds.Counts{Unchanged: 16}) {
		t.Fatalf("second poll: %s, want 16 unchanged", r.Summary())
	}
	es, err := db.Entries(ctx, storage.EntryQuery{Sources: []string{"blog"}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, e := range es {
		if !strings.HasPrefix(e.EntryID, "tag:relay.example.org,") || ids[e.EntryID] {
			t.Errorf("%q: entry id %q, want a tag: URI of its own under the source's authority", e.Title, e.EntryID)
		}
		ids[e.EntryID] = true
	}
	if len(es) != 16 {
		t.Errorf("%d entries stored of 16 posts", len(es))
	}
}

func TestPoll_ErrorNamesTheProblem(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/gone":
			http.NotFound(w, r)
		case "/page":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte("<!DOCTYPE html><html><head><title>首页</title></head><body>hi</body></html>"))
		case "/home":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(`<!DOCTYPE html><html><head><link rel="stylesheet" href="/s.css">` +
				`<link rel="alternate" type="application/rss+xml" title="要闻" href="/rss/yw.xml"></head><body></body></html>`))
		case "/always304": // even to the first request, which validates nothing
			w.Header().Set("ETag", `"x"`)
			w.WriteHeader(http.StatusNotModified)
		}
	}))
	defer ts.Close()
	p, db := newPoller(t, "gone", "page", "home", "always304")
	for slug, want := range map[string]string{
		"gone":      "error: fetch: HTTP 404 Not Found",
		"page":      "error: not a feed (text/html)",
		"home":      "error: not a feed (text/html); the page advertises a feed at " + ts.URL + "/rss/yw.xml",
		"always304": "error: fetch: HTTP 304 Not Modified to a request that asked for no validation (no If-None-Match or If-Modified-Since sent): nothing to read",
	} {
		r := p.Poll(context.Background(), feeds.Source{Slug: slug, URL: ts.URL + "/" + slug, Timeout: time.Second})
		if got := r.Summary(); got != want {
			t.Errorf("%s: %q, want %q", slug, got, want)
		}
	}
	states, err := db.Sources(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range states {
		if st.Failures != 1 || st.LastError == "" {
			t.Errorf("%s: failures %d, last error %q", st.Slug, st.Failures, st.LastError)
		}
	}
}

func TestScheduler_PollsEachSourceOnItsInterval(t *testing.T) {
	fast, slow := &source{}, &source{}
	fast.set(gbkFeed(t, "快"), `"f"`)
	slow.set(gbkFeed(t, "慢"), `"s"`)
	fastTS, slowTS := httptest.NewServer(fast), httptest.NewServer(slow)
	defer fastTS.Close()
	defer slowTS.Close()
	p, _ := newPoller(t, "fast", "slow")

	// 2s for at least 5 polls of a 100ms interval: room for a busy
	// machine under -race; a poll cut short by the end of the run is not
	// an error.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sched := &feeds.Scheduler{Poller: p, Concurrency: 2, OnResult: func(r *feeds.Result) {
		if r.Err != nil && ctx.Err() == nil {
			t.Errorf("%s: %v", r.Source, r.Err)
		}
	}}
	sched.Run(ctx, []feeds.Source{
		{Slug: "fast", URL: fastTS.URL, Interval: 100 * time.Millisecond, Timeout: time.Second},
		{Slug: "slow", URL: slowTS.URL, Interval: time.Hour, Timeout: time.Second},
	})
	if n := fast.requests.Load(); n < 5 {
		t.Errorf("fast source (100ms) polled %d times in 2s, want at least 5", n)
	}
	if n := slow.requests.Load(); n != 1 {
		t.Errorf("slow source (1h) polled %d times, want once at start", n)
	}
	if fast.overlap.Load() || slow.overlap.Load() {
		t.Error("a source was polled twice at once")
	}
}

func TestScheduler_HonoursRetryAfter(t *testing.T) {
	var requests atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Retry-After", "3600")
		http.Error(w, "slow down", http.StatusTooManyRequests)
	}))
	defer ts.Close()
	p, _ := newPoller(t, "limited")
	var last *feeds.Result
	sched := &feeds.Scheduler{Poller: p, Concurrency: 1, OnResult: func(r *feeds.Result) { last = r }}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	sched.Run(ctx, []feeds.Source{{Slug: "limited", URL: ts.URL, Interval: 50 * time.Millisecond, Timeout: time.Second}})
	if n := requests.Load(); n != 1 {
		t.Errorf("a source answering 429 Retry-After: 3600 was asked %d times in 1s, want once", n)
	}
	if last == nil || !strings.Contains(last.Summary(), "HTTP 429 Too Many Requests") {
		t.Errorf("last poll: %+v", last)
	}
}

func TestScheduler_PerHostLimit(t *testing.T) {
	var active, peak atomic.Int32
	body := gbkFeed(t, "同一主机")
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := active.Add(1)
		defer active.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write(body)
	}))
	defer ts.Close()
	slugs := []string{"a", "b", "c", "d", "e", "f"}
	p, _ := newPoller(t, slugs...)
	var srcs []feeds.Source
	for _, s := range slugs {
		srcs = append(srcs, feeds.Source{Slug: s, URL: ts.URL + "/" + s, Interval: time.Hour, Timeout: 5 * time.Second})
	}
	var polled atomic.Int32
	sched := &feeds.Scheduler{Poller: p, Concurrency: 8, OnResult: func(r *feeds.Result) {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Source, r.Err)
		}
		polled.Add(1)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sched.Run(ctx, srcs)
	if polled.Load() != int32(len(slugs)) {
		t.Fatalf("%d of %d sources polled", polled.Load(), len(slugs))
	}
	if got := peak.Load(); got != feeds.DefaultPerHost {
		t.Errorf("at most %d requests at once to one host, want %d", got, feeds.DefaultPerHost)
	}
}

func TestPoll_PermanentRedirectIsReported(t *testing.T) {
	body := gbkFeed(t, "搬家了")
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/old":
			http.Redirect(w, r, "/older", http.StatusMovedPermanently)
		case "/older":
			http.Redirect(w, r, "/new", http.StatusPermanentRedirect)
		case "/temp":
			http.Redirect(w, r, "/new", http.StatusFound)
		case "/new":
			w.Write(body)
		}
	}))
	defer ts.Close()
	p, _ := newPoller(t, "old", "temp")
	r := p.Poll(context.Background(), feeds.Source{Slug: "old", URL: ts.URL + "/old", Timeout: time.Second})
	if want := "new 1, updated 0, unchanged 0; moved permanently to " + ts.URL + "/new"; r.Summary() != want {
		t.Errorf("301+308: %q, want %q", r.Summary(), want)
	}
	r = p.Poll(context.Background(), feeds.Source{Slug: "temp", URL: ts.URL + "/temp", Timeout: time.Second})
	if r.MovedTo != "" || r.Err != nil {
		t.Errorf("302: moved %q, err %v; a temporary redirect is not a move", r.MovedTo, r.Err)
	}
}

// A restart does not reset a failing source's backoff: the count of failures
// in a row lives in the database, and the scheduler continues from it.
func TestScheduler_BackoffSurvivesRestart(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	defer ts.Close()
	p, _ := newPoller(t, "down")
	src := feeds.Source{Slug: "down", URL: ts.URL, Interval: time.Minute, Timeout: 5 * time.Second}
	for i := 1; i <= 3; i++ { // the polls of an earlier run
		if r := p.Poll(context.Background(), src); r.Failures != i {
			t.Fatalf("poll %d: Failures = %d, want %d", i, r.Failures, i)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	var first *feeds.Result
	sched := &feeds.Scheduler{Poller: p, Concurrency: 1, OnResult: func(r *feeds.Result) {
		first = r
		cancel()
	}}
	sched.Run(ctx, []feeds.Source{src})
	if first == nil {
		t.Fatal("the scheduler polled nothing")
	}
	if first.Failures != 4 || !strings.Contains(first.Summary(), "(4 failures in a row)") {
		t.Errorf("first poll after restart: Failures %d, summary %q; want the 4th failure in a row", first.Failures, first.Summary())
	}
	// interval × 2^4 = 16 min, ±10 %.
	if wait := first.NextPoll.Sub(first.Attempted); wait < 14*time.Minute || wait > 18*time.Minute {
		t.Errorf("next poll in %v, want about 16m (1m × 2^4): the backoff restarted from zero", wait)
	}
}

// pollSteps polls one RSS source, slug, whose channel lists each step's
// items in turn, and checks each poll's counts; it returns the titles
// stored, newest first.
func pollSteps(t *testing.T, slug string, steps []pollStep) []string {
	t.Helper()
	src := &source{}
	ts := httptest.NewServer(src)
	defer ts.Close()
	p, db := newPoller(t, slug)
	s := feeds.Source{Slug: slug, Name: slug, URL: ts.URL, Timeout: 5 * time.Second, MaxBodySize: 1 << 20}
	ctx := context.Background()
	for i, step := range steps {
		src.set([]byte(`<rss version="2.0"><channel><title>`+slug+`</title>`+strings.Join(step.items, "")+`</channel></rss>`), fmt.Sprintf(`"v%d"`, i))
		if r := p.Poll(ctx, s); r.Err != nil || r.Counts != step.want {
			t.Fatalf("poll %d: %s, want %+v", i+1, r.Summary(), step.want)
		}
	}
	es, err := db.Entries(ctx, storage.EntryQuery{Sources: []string{slug}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, e := range es {
		titles = append(titles, e.Title)
	}
	return titles
}

type pollStep struct {
	items []string // the channel's <item>s
	want  feeds.Counts
}

// rssItem is an RSS item without guid, dated day November 2026.
func rssItem(title, link, day string) string {
	return `<item><title>` + title + `</title><link>` + link + `</link><pubDate>` + day + ` Nov 2026 09:00:00 +0800</pubDate></item>`
}

// A notice board whose items all link to its index page, with no guid:
// each notice is a post of its own, stored once, and the notice stored
// alone before the board listed others keeps its row.
func TestPoll_PostsSharingALinkAreEachKept(t *testing.T) {
	const board = "http://example.com/notice"
	one, two, three := rssItem("公告一：停牌", board, "26"), rssItem("公告二：复牌", board, "27"), rssItem("公告三：分红", board, "28")
	titles := pollSteps(t, "gg", []pollStep{
		{[]string{one}, feeds.Counts{New: 1}},
		{[]string{three, two, one}, feeds.Counts{New: 2, Unchanged: 1}},
		{[]string{three, two, one}, feeds.Counts{Unchanged: 3}}, // the same board, under a new ETag
	})
	if want := []string{"公告三：分红", "公告二：复牌", "公告一：停牌"}; !slices.Equal(titles, want) {
		t.Errorf("stored %q, want %q", titles, want)
	}
}

// Items whose link is no web address (javascript:void(0)), without guid:
// the link is dropped, never published, and each item is known by its
// title and date, so a later story in the same slot is a new item and the
// first one stays.
func TestPoll_ScriptLinksAreNoIdentity(t *testing.T) {
	titles := pollSteps(t, "yw", []pollStep{
		{[]string{rssItem("北向资金净买入50亿元", "javascript:void(0)", "26")}, feeds.Counts{New: 1}},
		{[]string{rssItem("另一篇完全不同的新闻", "javascript:void(0)", "27")}, feeds.Counts{New: 1}},
	})
	if want := []string{"另一篇完全不同的新闻", "北向资金净买入50亿元"}; !slices.Equal(titles, want) {
		t.Errorf("stored %q, want %q", titles, want)
	}
}

// A list page that pins a copy of a story above it (the same link, its
// title marked 置顶): both are kept while both are listed, and when the
// pinned copy leaves, or comes back, nothing is new.
func TestPoll_PinnedCopyLeavesAndReturns(t *testing.T) {
	normal := rssItem("央行：保持流动性合理充裕", "http://example.com/a/1001.html", "26")
	pinned := rssItem("置顶 央行：保持流动性合理充裕", "http://example.com/a/1001.html", "26")
	other := rssItem("两市成交额突破万亿", "http://example.com/a/1002.html", "26")
	titles := pollSteps(t, "yw", []pollStep{
		{[]string{pinned, normal, other}, feeds.Counts{New: 3}},
		{[]string{normal, other}, feeds.Counts{Unchanged: 2}},
		{[]string{pinned, normal, other}, feeds.Counts{Unchanged: 3}},
		{[]string{normal, other}, feeds.Counts{Unchanged: 2}},
	})
	if len(titles) != 3 {
		t.Errorf("stored %q, want 3 (the story, its pinned copy, the other)", titles)
	}
}

// A running schedule given a source's new URL polls the new address at
// once, and a shorter interval from now, rather than when the old
// settings had it due (an hour away here).
func TestScheduler_ChangedURLOrIntervalIsDueNow(t *testing.T) {
	old, moved, other := &source{}, &source{}, &source{}
	old.set(gbkFeed(t, "旧"), `"o"`)
	moved.set(gbkFeed(t, "新"), `"m"`)
	other.set(gbkFeed(t, "别"), `"x"`)
	oldTS, movedTS, otherTS := httptest.NewServer(old), httptest.NewServer(moved), httptest.NewServer(other)
	defer oldTS.Close()
	defer movedTS.Close()
	defer otherTS.Close()
	p, _ := newPoller(t, "a", "b")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	polled := make(chan string, 16)
	sched := &feeds.Scheduler{Poller: p, Concurrency: 2, OnResult: func(r *feeds.Result) { polled <- r.Source }}
	a := feeds.Source{Slug: "a", URL: oldTS.URL, Interval: time.Hour, Timeout: time.Second}
	b := feeds.Source{Slug: "b", URL: otherTS.URL, Interval: time.Hour, Timeout: time.Second}
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		sched.Run(ctx, []feeds.Source{a, b})
	}()
	for range 2 {
		<-polled // the first poll of each
	}
	a.URL, b.Interval = movedTS.URL, 200*time.Millisecond
	sched.SetSources([]feeds.Source{a, b})
	got := map[string]bool{}
	for len(got) < 2 {
		select {
		case slug := <-polled:
			got[slug] = true
		case <-ctx.Done():
			t.Fatalf("polled again after the change: %v; want both, long before their hour", got)
		}
	}
	if moved.requests.Load() == 0 {
		t.Error("the new URL was not fetched")
	}
	cancel()
	<-ran
}
