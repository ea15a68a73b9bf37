package server

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/storage"
)

var shanghai = time.FixedZone("CST", 8*3600)

// healthNow is the fixture's "now": noon in Shanghai.
var healthNow = time.Date(2026, 11, 26, 12, 0, 0, 0, shanghai)

// stcnPerDay is how many new items 证券时报网 brought on the day i days
// before today: zero on some days.
func stcnPerDay(i int) int { return (i * 7) % 5 }

// longText is an article longer than a category page's excerpt.
const longText = "沪深两市早盘震荡走高，创业板指涨超1%。盘面上，半导体、券商板块领涨，" +
	"北向资金净买入超30亿元。分析人士认为，随着稳增长政策持续发力，市场风险偏好有望逐步回升，" +
	"结构性机会仍将围绕科技创新与高股息两条主线展开。投资者可关注业绩确定性较强的龙头公司，" +
	"同时注意控制仓位，防范短期波动风险。本轮上涨的持续性还需观察成交量能否有效放大，" +
	"以及外部市场环境的变化。截至收盘，上证指数报3350点，深证成指报10850点。"

type healthFixture struct {
	srv *Server
	db  *storage.DB
	now *time.Time
	// outcomes are 东方财富网's polls, oldest first, and stcnOutcomes
	// 证券时报网's newest stripPolls.
	eastmoney    []storage.PollOutcome
	stcnOutcomes []storage.PollOutcome
	stcnPolls    int
}

// newHealthServer has three sources polled over 30 days: 证券时报网 healthy
// (new items most days, then 304s and oks), 东方财富网 failing for its last
// six polls (errors and a 429), 中国证券网 never polled. Their order in the
// config puts the failing one second.
func newHealthServer(t *testing.T) *healthFixture {
	t.Helper()
	ctx := context.Background()
	db := openTestDB(t,
		storage.SourceInfo{Slug: "stcn", Name: "证券时报网", URL: "https://rsshub.example/stcn/yw"},
		storage.SourceInfo{Slug: "eastmoney", Name: "东方财富网", URL: "https://feed.eastmoney.example/rss.xml"},
		storage.SourceInfo{Slug: "cnstock", Name: "中国证券网", URL: "https://news.cnstock.example/feed.atom"})
	fx := &healthFixture{db: db, now: new(time.Time)}
	*fx.now = healthNow.AddDate(0, 0, -40)
	db.Now = func() time.Time { return *fx.now }
	save := func(r *feeds.Result) {
		t.Helper()
		r.Attempted, r.Duration = *fx.now, 420*time.Millisecond
		if r.Feed != nil {
			for i := range r.Feed.Items {
				it := &r.Feed.Items[i]
				it.Identity, it.GUID, it.Hash = it.Link, it.Link, it.Title
			}
			// As the poller does: identity, entry id, story keys.
			(&feeds.Source{Slug: r.Source, TagAuthority: "relay.example.org"}).Identify(r.Feed, *fx.now)
		}
		if _, err := db.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	ok := func(src string, items ...feeds.Item) *feeds.Result {
		return &feeds.Result{Source: src, StatusCode: 200, ETag: `"v1"`, Feed: &feeds.Feed{Title: src, Items: items}}
	}
	n := 0
	for day := activityDays - 1; day >= 0; day-- {
		*fx.now = healthNow.AddDate(0, 0, -day).Add(-2 * time.Hour) // 10:00 that day
		var items []feeds.Item
		for range stcnPerDay(day) {
			n++
			items = append(items, feeds.Item{
				Title: fmt.Sprintf("证券时报第%d条", n), Link: fmt.Sprintf("https://www.stcn.com/article/detail/%d.html", n),
				Author: "证券时报记者 王一", Content: "<p>" + longText + "</p>", Published: *fx.now,
			})
		}
		save(ok("stcn", items...))
		fx.stcnPolls++
	}
	// Then, after this morning's, 90 polls a minute apart: mostly 304s.
	var outcomes []storage.PollOutcome
	for i := range 90 {
		*fx.now = fx.now.Add(time.Minute)
		if i%4 == 3 {
			save(ok("stcn"))
			outcomes = append(outcomes, storage.PollOK)
		} else {
			save(&feeds.Result{Source: "stcn", StatusCode: 304, NotModified: true, ETag: `"v1"`})
			outcomes = append(outcomes, storage.PollNotModified)
		}
		fx.stcnPolls++
	}
	fx.stcnOutcomes = outcomes[len(outcomes)-stripPolls:]

	// 东方财富网 relays 证券时报网's newest story, then fails.
	*fx.now = healthNow.Add(-3 * time.Hour)
	save(ok("eastmoney", feeds.Item{Title: "东方财富转载：证券时报第" + strconv.Itoa(n) + "条",
		Link: fmt.Sprintf("https://www.stcn.com/article/detail/%d.html?utm_source=em", n), Content: "<p>转载</p>"}))
	fx.eastmoney = append(fx.eastmoney, storage.PollOK)
	for i, err := range []error{
		&feeds.HTTPError{StatusCode: 500, Status: "500 Internal Server Error"},
		&feeds.HTTPError{StatusCode: 429, Status: "429 Too Many Requests", RetryAfter: healthNow.Add(time.Hour)},
		fmt.Errorf("parse: <script>alert(1)</script> is not a feed"),
		&feeds.HTTPError{StatusCode: 502, Status: "502 Bad Gateway"},
		&feeds.HTTPError{StatusCode: 502, Status: "502 Bad Gateway"},
		&feeds.HTTPError{StatusCode: 503, Status: "503 Service Unavailable"},
	} {
		*fx.now = healthNow.Add(time.Duration(i-6) * 20 * time.Minute)
		r := &feeds.Result{Source: "eastmoney", Err: err}
		outcome := storage.PollError
		if e, ok := err.(*feeds.HTTPError); ok {
			r.StatusCode = e.StatusCode
			if e.StatusCode == 429 {
				outcome = storage.PollBackoff
			}
		}
		save(r)
		fx.eastmoney = append(fx.eastmoney, outcome)
	}
	*fx.now = healthNow

	opts := &Options{
		Options: publish.Options{
			BaseURL: "https://relay.example.org/", Title: "feedrelay", Language: "zh-CN", PageSize: 50,
			Attribution: template.Must(template.New("a").Parse(defaultAttribution)),
			Categories: []publish.Category{
				{Slug: "markets", Title: "市场综合", Sources: []string{"stcn", "eastmoney", "cnstock"}},
				{Slug: "zhengquanshibaowang", Title: "证券时报网", Sources: []string{"stcn"}},
			},
			Sources: []publish.Source{
				{Slug: "stcn", Name: "证券时报网", URL: "https://rsshub.example/stcn/yw"},
				{Slug: "eastmoney", Name: "东方财富网", URL: "https://feed.eastmoney.example/rss.xml"},
				{Slug: "cnstock", Name: "中国证券网", URL: "https://news.cnstock.example/feed.atom"},
			},
		},
		Location: shanghai,
		Polling: map[string]Polling{
			"stcn":      {Interval: 5 * time.Minute},
			"eastmoney": {Interval: 15 * time.Minute},
			"cnstock":   {Kind: "html", Interval: time.Hour},
		},
	}
	fx.srv = New(db, nil, nil, opts)
	fx.srv.now = func() time.Time { return *fx.now }
	return fx
}

// dom parses an HTML page.
func dom(t *testing.T, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	return slices.Contains(strings.Fields(attr(n, "class")), class)
}

// findAll returns the elements under n named tag with class (any, if
// empty), in document order.
func findAll(n *html.Node, tag, class string) []*html.Node {
	var out []*html.Node
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && d.Data == tag && (class == "" || hasClass(d, class)) {
			out = append(out, d)
		}
	}
	return out
}

func byID(n *html.Node, id string) *html.Node {
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && attr(d, "id") == id {
			return d
		}
	}
	return nil
}

func text(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			b.WriteString(d.Data)
		}
	}
	return b.String()
}

// titleOf is the text of an SVG element's <title> child.
func titleOf(n *html.Node) string {
	for c := range n.ChildNodes() {
		if c.Type == html.ElementNode && c.Data == "title" {
			return text(c)
		}
	}
	return ""
}

// The index: categories and sources in their own sections, each source
// once, the failing one first and marked, each with its two charts.
func TestIndex_SourcesHealthCharts(t *testing.T) {
	fx := newHealthServer(t)
	rec := get(t, fx.srv, "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("index: %d", rec.Code)
	}
	doc := dom(t, rec.Body.String())

	cats, srcs := byID(doc, "categories"), byID(doc, "sources")
	if cats == nil || srcs == nil || text(cats) != "分类 Categories" || text(srcs) != "来源 Sources" {
		t.Fatal("index lacks its labelled Categories and Sources sections")
	}
	catList := findAll(doc, "ul", "categories")
	if len(catList) != 1 {
		t.Fatal("index has no list of categories")
	}
	if got := text(catList[0]); strings.Contains(got, "东方财富网") || strings.Contains(got, "中国证券网") || !strings.Contains(got, "市场综合") {
		t.Errorf("the categories list shows sources, or misses a category: %q", got)
	}

	items := findAll(doc, "li", "source")
	var order []string
	for _, li := range items {
		order = append(order, strings.TrimPrefix(attr(li, "id"), "source-"))
	}
	if !slices.Equal(order, []string{"eastmoney", "stcn", "cnstock"}) {
		t.Fatalf("sources in order %v, want the failing eastmoney first, then the config's order", order)
	}
	failing := items[0]
	if !hasClass(failing, "failing") || !strings.Contains(text(failing), "失败 failing ×6") ||
		!strings.Contains(text(failing), "HTTP 503 Service Unavailable (6 failures in a row)") {
		t.Errorf("the failing source is not marked failing with its error: %q", text(failing))
	}
	for _, li := range items[1:] {
		if hasClass(li, "failing") {
			t.Errorf("%s marked failing", attr(li, "id"))
		}
	}
	if !strings.Contains(text(items[2]), "等待 waiting") {
		t.Errorf("the never-polled source does not say it is waiting: %q", text(items[2]))
	}

	for _, li := range items {
		charts := findAll(li, "svg", "activity")
		if len(charts) != 1 {
			t.Fatalf("%s: %d activity charts, want 1", attr(li, "id"), len(charts))
		}
		if bars := findAll(charts[0], "rect", "bar"); len(bars) != activityDays {
			t.Errorf("%s: %d bars, want one per day: %d", attr(li, "id"), len(bars), activityDays)
		}
	}

	// 证券时报网's bars: one per day, oldest left, as many items as it
	// brought that day.
	bars := findAll(findAll(items[1], "svg", "activity")[0], "rect", "bar")
	lastX := -1
	for i, bar := range bars {
		daysAgo := activityDays - 1 - i
		day := healthNow.AddDate(0, 0, -daysAgo).Format(time.DateOnly)
		want := fmt.Sprintf("%s: %d new items", day, stcnPerDay(daysAgo))
		if got := titleOf(bar); got != want {
			t.Errorf("bar %d: tooltip %q, want %q", i, got, want)
		}
		if zero := stcnPerDay(daysAgo) == 0; hasClass(bar, "zero") != zero {
			t.Errorf("bar %d (%s): zero %v, want %v", i, day, hasClass(bar, "zero"), zero)
		}
		x, _ := strconv.Atoi(attr(bar, "x"))
		if x <= lastX {
			t.Errorf("bar %d at x=%d, left of the one before (%d)", i, x, lastX)
		}
		lastX = x
	}
	// The tallest day is full height; a day of 1 item a quarter of that.
	h := func(i int) int { n, _ := strconv.Atoi(attr(bars[i], "height")); return n }
	if h(activityDays-1-2) != smallCharts.Height || h(activityDays-1-3) != smallCharts.Height/4 {
		t.Errorf("bar heights %d (4 items) and %d (1 item), want %d and %d", h(activityDays-3), h(activityDays-4), smallCharts.Height, smallCharts.Height/4)
	}

	// Strips: 48 cells for 证券时报网 (120 polls), its outcomes in order,
	// newest right; 7 for 东方财富网; none for 中国证券网.
	checkStrip := func(li *html.Node, want []storage.PollOutcome) {
		t.Helper()
		svgs := findAll(li, "svg", "strip")
		if len(svgs) != 1 {
			t.Fatalf("%s: %d poll strips", attr(li, "id"), len(svgs))
		}
		cells := findAll(svgs[0], "rect", "poll")
		if len(cells) != len(want) {
			t.Fatalf("%s: %d cells, want %d", attr(li, "id"), len(cells), len(want))
		}
		slices.SortFunc(cells, func(a, b *html.Node) int {
			x, _ := strconv.Atoi(attr(a, "x"))
			y, _ := strconv.Atoi(attr(b, "x"))
			return x - y
		})
		for i, c := range cells {
			if !hasClass(c, string(want[i])) {
				t.Errorf("%s cell %d: class %q, want %s", attr(li, "id"), i, attr(c, "class"), want[i])
			}
		}
	}
	checkStrip(items[1], fx.stcnOutcomes)
	checkStrip(items[0], fx.eastmoney)
	checkStrip(items[2], nil)

	// Tooltips: time, outcome, error text — escaped, never markup.
	cells := findAll(findAll(items[0], "svg", "strip")[0], "rect", "poll")
	tips := map[string]bool{}
	for _, c := range cells {
		tips[titleOf(c)] = true
	}
	for _, want := range []string{
		"2026-11-26 11:40:00 CST · error: HTTP 503 Service Unavailable (0.4 s)",
		"2026-11-26 10:20:00 CST · backoff: HTTP 429 Too Many Requests (0.4 s)",
		"2026-11-26 10:40:00 CST · error: parse: <script>alert(1)</script> is not a feed (0.4 s)",
		"2026-11-26 09:00:00 CST · ok (HTTP 200), 1 new, 0 updated (0.4 s)",
	} {
		if !tips[want] {
			t.Errorf("no cell with tooltip %q; have %v", want, tips)
		}
	}
	if strings.Contains(rec.Body.String(), "<script>") {
		t.Error("an error text reached the page as markup")
	}
	// Each outcome has its own colour.
	fills := map[string]bool{}
	for _, o := range []string{"ok", "not_modified", "error", "backoff"} {
		i := strings.Index(rec.Body.String(), "svg ."+o+",")
		if i < 0 {
			t.Fatalf("no colour for %s cells", o)
		}
		fill, _, _ := strings.Cut(rec.Body.String()[i:], ";")
		fills[fill[strings.Index(fill, "{"):]] = true
	}
	if len(fills) != 4 {
		t.Errorf("the four outcomes share colours: %v", fills)
	}
}

// The index is rendered once per change and served with validators; a new
// poll changes it.
func TestIndex_CachedUntilAPoll(t *testing.T) {
	fx := newHealthServer(t)
	first := get(t, fx.srv, "/")
	etag := first.Header().Get("ETag")
	if etag == "" {
		t.Fatal("index has no ETag")
	}
	if rec := get(t, fx.srv, "/", "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", rec.Code)
	}
	if rec := get(t, fx.srv, "/", "Accept-Encoding", "gzip"); rec.Header().Get("Content-Encoding") != "gzip" {
		t.Error("index not gzipped for a client that accepts it")
	}
	*fx.now = fx.now.Add(time.Minute)
	if _, err := fx.db.Save(context.Background(), &feeds.Result{Source: "cnstock", Attempted: *fx.now,
		Err: fmt.Errorf("dial tcp: connection refused")}); err != nil {
		t.Fatal(err)
	}
	// The store notices its own commit at its next lazy check (every
	// versionCheckEvery, 1 s): no event to wait for, so a wide window
	// for a loaded machine.
	deadline := time.Now().Add(15 * time.Second)
	for {
		rec := get(t, fx.srv, "/", "If-None-Match", etag)
		if rec.Code == http.StatusOK {
			if items := findAll(dom(t, rec.Body.String()), "li", "failing"); len(items) != 2 {
				t.Errorf("after cnstock failed, %d failing sources shown, want 2", len(items))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the index still answers 304 15 s after a poll changed it")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A source's page: what it is, its charts, its last 100 polls, its feeds,
// its newest entries; an unknown source is 404.
func TestSourcePage(t *testing.T) {
	fx := newHealthServer(t)
	if rec := get(t, fx.srv, "/s/nope"); rec.Code != http.StatusNotFound {
		t.Errorf("/s/nope: %d, want 404", rec.Code)
	}
	rec := get(t, fx.srv, "/s/stcn")
	if rec.Code != http.StatusOK {
		t.Fatalf("/s/stcn: %d", rec.Code)
	}
	body := rec.Body.String()
	doc := dom(t, body)
	for _, want := range []string{
		"https://rsshub.example/stcn/yw", "Kindfeed", "Interval5m", "正常 ok",
		"Last poll2026-11-26 11:30:00 CST",
	} {
		if !strings.Contains(text(doc), want) {
			t.Errorf("/s/stcn lacks %q", want)
		}
	}
	for _, ext := range []string{"atom", "rss", "json"} {
		if !strings.Contains(body, `href="https://relay.example.org/sources/stcn.`+ext+`"`) {
			t.Errorf("/s/stcn has no %s subscribe link", ext)
		}
	}
	if !strings.Contains(body, `href="https://relay.example.org/c/markets"`) {
		t.Error("/s/stcn does not link its categories")
	}
	rows := findAll(findAll(doc, "table", "polls")[0], "tr", "")
	if len(rows) != 1+pagePolls { // the header row
		t.Errorf("%d poll rows, want the last %d (of %d)", len(rows)-1, pagePolls, fx.stcnPolls)
	}
	if got := text(rows[1]); got != "2026-11-26 11:30:00 CST●304 not modified3040.4 s0 / 0" {
		t.Errorf("newest poll row %q", got)
	}
	if bars := findAll(doc, "rect", "bar"); len(bars) != activityDays {
		t.Errorf("%d bars on the source page, want %d", len(bars), activityDays)
	}
	if cells := findAll(doc, "rect", "poll"); len(cells) != stripPolls {
		t.Errorf("%d strip cells on the source page, want %d", len(cells), stripPolls)
	}
	if w, _ := strconv.Atoi(attr(findAll(doc, "svg", "activity")[0], "width")); w <= activityDays*smallCharts.Bar*2 {
		t.Errorf("source page chart %d px wide: not larger than the index's", w)
	}
	entries := findAll(findAll(doc, "ul", "entries")[0], "li", "")
	if len(entries) != pageEntries || !strings.Contains(text(entries[0]), "证券时报第") {
		t.Errorf("%d entries on the source page, want its newest %d", len(entries), pageEntries)
	}

	rec = get(t, fx.srv, "/s/eastmoney")
	body = rec.Body.String()
	if !strings.Contains(body, "失败 failing ×6") || !strings.Contains(body, "parse: &lt;script&gt;alert(1)&lt;/script&gt; is not a feed") {
		t.Error("/s/eastmoney does not show it is failing, with its errors escaped")
	}
	if strings.Contains(body, "<script>") {
		t.Error("an error text reached /s/eastmoney as markup")
	}
	if rec := get(t, fx.srv, "/s/cnstock"); !strings.Contains(rec.Body.String(), "Not polled yet.") || !strings.Contains(rec.Body.String(), "<dd>html</dd>") {
		t.Error("/s/cnstock does not say it was never polled, or its kind")
	}
}

// The category page: each entry with an excerpt of its text, its source,
// author and time, other sources' copies as small links, older pages by
// cursor.
func TestCategoryPage_ExcerptsAndCopies(t *testing.T) {
	fx := newHealthServer(t)
	rec := get(t, fx.srv, "/c/markets")
	if rec.Code != http.StatusOK {
		t.Fatalf("/c/markets: %d", rec.Code)
	}
	doc := dom(t, rec.Body.String())
	entries := findAll(findAll(doc, "ul", "entries")[0], "li", "")
	if len(entries) != 50 {
		t.Fatalf("%d entries, want page_size 50", len(entries))
	}
	first := entries[0]
	excerpt := findAll(first, "p", "excerpt")
	want := string([]rune(longText)[:excerptRunes]) + "…"
	if len(excerpt) != 1 || text(excerpt[0]) != want {
		t.Errorf("excerpt %q, want the first %d characters of the text", text(excerpt[0]), excerptRunes)
	}
	if meta := text(findAll(first, "span", "meta")[0]); meta != "证券时报网 · 证券时报记者 王一 · 11-25 10:00" {
		t.Errorf("entry meta %q", meta)
	}
	also := findAll(first, "span", "also")
	if len(also) != 1 || text(also[0]) != "另见 东方财富网" || attr(findAll(also[0], "a", "")[0], "href") != "https://www.stcn.com/article/detail/60.html?utm_source=em" {
		t.Errorf("the copy from 东方财富网 is not a small link: %v", also)
	}
	next := findAll(doc, "a", "")
	var older string
	for _, a := range next {
		if attr(a, "rel") == "next" {
			older = attr(a, "href")
		}
	}
	older, ok := strings.CutPrefix(older, "https://relay.example.org/c/markets?before=")
	if !ok {
		t.Fatalf("no link to older entries")
	}
	older = "?before=" + older
	rec = get(t, fx.srv, "/c/markets"+older)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "← Newest") {
		t.Fatalf("older page: %d", rec.Code)
	}
	olderEntries := findAll(findAll(dom(t, rec.Body.String()), "ul", "entries")[0], "li", "")
	if len(olderEntries) != 60-50 {
		t.Errorf("older page has %d entries, want the other %d", len(olderEntries), 60-50)
	}
	etag := rec.Header().Get("ETag")
	if again := get(t, fx.srv, "/c/markets"+older, "If-None-Match", etag); again.Code != http.StatusNotModified {
		t.Errorf("older page with its ETag: %d, want 304", again.Code)
	}
	if rec := get(t, fx.srv, "/c/markets?before=x"); rec.Code != http.StatusBadRequest {
		t.Errorf("bad cursor: %d, want 400", rec.Code)
	}
}

// Durations are shown as a person, and the config, writes them.
func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		24 * time.Hour:                     "24h",
		time.Minute:                        "1m",
		90 * time.Minute:                   "1h30m",
		90 * time.Second:                   "1m30s",
		time.Hour + 30*time.Second:         "1h30s",
		30 * time.Second:                   "30s",
		1500 * time.Millisecond:            "1.5s",
		0:                                  "0s",
		-5 * time.Minute:                   "-5m",
		48*time.Hour + time.Millisecond:    "48h1ms",
		time.Minute + 500*time.Millisecond: "1m500ms",
	} {
		got := duration(d)
		if got != want {
			t.Errorf("duration(%v) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(got); err != nil || back != d {
			t.Errorf("duration(%v) = %q, which reads back as %v, %v", d, got, back, err)
		}
	}
}

// The index and a source's page say "Interval 1h30m" and "not fetched in
// the last 24h", not Go's 1h30m0s and 24h0m0s.
func TestPages_DurationsAsWritten(t *testing.T) {
	srv, _ := outputServer(t, nil, publish.Category{Slug: "mix", Title: "混合", Sources: []string{"full"}},
		storage.SourceInfo{Slug: "full", Name: "全文源", URL: "https://full.example/feed.xml"})
	opts := *srv.opts.Load()
	opts.Polling = map[string]Polling{"full": {Interval: 90 * time.Minute}}
	srv.SetOptions(&opts)
	// A poll whose full-text fetch failed (full_text: the item keeps its
	// summary), as the poller saves it.
	db := srv.store.(*storage.DB)
	at := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return at }
	it := feeds.Item{Identity: "tag:full.example,2026:1", GUID: "tag:full.example,2026:1", Title: "全文未取到",
		Link: "https://full.example/1", Summary: "<p>摘要</p>", Published: at, Hash: "1", ArticleURL: "https://full.example/1",
		Article: &feeds.Article{State: feeds.ArticlePending, Attempts: 1, Attempted: at, NextAttempt: at.Add(5 * time.Minute), Err: "HTTP 500"}}
	it.EntryID = (&feeds.Source{Slug: "full", TagAuthority: "relay.example.org"}).EntryID(&it, at)
	if _, err := db.Save(context.Background(), &feeds.Result{Source: "full", Attempted: at, StatusCode: 200,
		Feed: &feeds.Feed{ID: "tag:full.example,2026:feed", Title: "全文源", Items: []feeds.Item{it}}}); err != nil {
		t.Fatal(err)
	}
	leak := regexp.MustCompile(`\d+[hm]0m0s|\d+m0s\b`)
	for path, want := range map[string][]string{
		"/":       {"not fetched in the last 24h, shown with their summary"},
		"/s/full": {"not fetched in the last 24h, shown with their summary", "Interval1h30m"},
	} {
		rec := get(t, srv, path)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", path, rec.Code)
		}
		shown := text(dom(t, rec.Body.String()))
		for _, w := range want {
			if !strings.Contains(shown, w) {
				t.Errorf("%s does not say %q:\n%s", path, w, shown)
			}
		}
		if m := leak.FindString(shown); m != "" {
			t.Errorf("%s shows the Go duration %q", path, m)
		}
	}
}

// With several instances on one database, this instance's last poll of a
// source may be older than another's: its next poll is then stale, and is
// not shown before the last poll.
func TestSourcePage_NoNextPollBeforeTheLastPoll(t *testing.T) {
	fx := newHealthServer(t)
	history := &feeds.Health{}
	mine := healthNow.Add(-3 * time.Hour) // 09:00; another instance polled at 11:30
	history.Record(&feeds.Result{Source: "stcn", Attempted: mine, NextPoll: mine.Add(5 * time.Minute), StatusCode: 304, NotModified: true})
	srv := New(fx.db, history, nil, fx.srv.opts.Load())
	srv.now = fx.srv.now
	page := text(dom(t, get(t, srv, "/s/stcn").Body.String()))
	if !strings.Contains(page, "Last poll2026-11-26 11:30:00 CST") || !strings.Contains(page, "Next poll—") {
		t.Errorf("/s/stcn with a stale next poll: want the last poll 11:30 and no next poll; page:\n%s", page)
	}
	// This instance's own next poll, after the last poll, is shown.
	history.Record(&feeds.Result{Source: "stcn", Attempted: healthNow.Add(-10 * time.Minute), NextPoll: healthNow.Add(-5 * time.Minute), StatusCode: 304, NotModified: true})
	srv = New(fx.db, history, nil, fx.srv.opts.Load())
	srv.now = fx.srv.now
	if page := text(dom(t, get(t, srv, "/s/stcn").Body.String())); !strings.Contains(page, "Next poll2026-11-26 11:55:00 CST") {
		t.Errorf("/s/stcn does not show this instance's next poll 11:55; page:\n%s", page)
	}
}
