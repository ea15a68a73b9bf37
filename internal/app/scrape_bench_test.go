package app_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds/scrape"
	"github.com/feedrelay/feedrelay/internal/app"
)

// BenchmarkScrapeSource polls one source of 50 items from a server on
// 127.0.0.1, through the App as `feedrelay poll` runs it (fetch, parse or
// scrape, normalize, store; for full_text the 50 article pages too):
//
//   - html+full_text: 证券时报网's 要闻 page of 50 items (stcn_yw_50.html),
//     each item's article page (stcn_detail.html, 5 KB) fetched and
//     extracted by selector;
//   - feed: the same 50 items as RSS 2.0 (title, link, the list's summary),
//     no full text.
//
// cold: each op is the first poll of a fresh database (every item new);
// warm: each op polls again a database that holds the items, the list
// unchanged (both servers answer 200 without validators, so that a warm
// poll reads the whole list either way). Reported: items/s, the article
// requests the server saw per op (warm must be 0), and the process's peak
// RSS (VmHWM: run one sub-benchmark per process to read it; see
// BENCHMARKS.md).
func BenchmarkScrapeSource(b *testing.B) {
	page, err := os.ReadFile(filepath.Join("..", "..", "feeds", "scrape", "testdata", "stcn_yw_50.html"))
	if err != nil {
		b.Fatal(err)
	}
	detail, err := os.ReadFile(filepath.Join("..", "..", "feeds", "article", "testdata", "stcn_detail.html"))
	if err != nil {
		b.Fatal(err)
	}
	var articles atomic.Int64
	var rss []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/list.html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(page)
		case r.URL.Path == "/feed.xml":
			w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
			w.Write(rss)
		case strings.HasPrefix(r.URL.Path, "/article/detail/"):
			articles.Add(1)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write(detail)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	rss = sameItemsAsRSS(b, page, srv.URL+"/list.html")

	kinds := []struct{ name, source string }{
		{"html+full_text", fmt.Sprintf(`  - name: 证券时报网
    slug: stcn
    url: %s/list.html
    kind: html
    items: "ul.list > li"
    fields: {title: ".tt a", link: ".tt a @href", published: ".time", summary: ".text"}
    full_text: {selector: ".detail-content", remove: [".share", "script"]}
`, srv.URL)},
		{"feed", fmt.Sprintf("  - {name: 证券时报网, slug: stcn, url: %q}\n", srv.URL+"/feed.xml")},
	}
	for _, k := range kinds {
		open := func(b *testing.B) *app.App {
			path := filepath.Join(b.TempDir(), "config.yaml")
			yaml := "timezone: Asia/Shanghai\nlog: {level: error}\nper_host_concurrency: 8\nsources:\n" + k.source
			if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
				b.Fatal(err)
			}
			cfg, err := app.LoadConfig(path)
			if err != nil {
				b.Fatal(err)
			}
			a, err := app.Open(context.Background(), cfg, app.Options{Logging: app.NewLogging(nopWriter{}, "text", "error")})
			if err != nil {
				b.Fatal(err)
			}
			return a
		}
		pollOnce := func(b *testing.B, a *app.App, wantNew int) {
			r := a.PollOnce(context.Background(), a.Sources(), nil)[0]
			if r.Err != nil || r.Counts.New != wantNew || r.Counts.New+r.Counts.Unchanged != 50 || r.Articles.Failed > 0 {
				b.Fatalf("poll: %s", r.Summary())
			}
		}
		b.Run(k.name+"/cold", func(b *testing.B) {
			articles.Store(0)
			var polled time.Duration
			for b.Loop() {
				b.StopTimer()
				a := open(b)
				b.StartTimer()
				start := time.Now()
				pollOnce(b, a, 50)
				polled += time.Since(start)
				b.StopTimer()
				a.Close()
				b.StartTimer()
			}
			report(b, polled, articles.Load())
		})
		b.Run(k.name+"/warm", func(b *testing.B) {
			a := open(b)
			defer a.Close()
			pollOnce(b, a, 50)
			articles.Store(0)
			var polled time.Duration
			for b.Loop() {
				start := time.Now()
				pollOnce(b, a, 0)
				polled += time.Since(start)
			}
			report(b, polled, articles.Load())
		})
	}
}

func report(b *testing.B, polled time.Duration, articles int64) {
	b.ReportMetric(float64(50*b.N)/polled.Seconds(), "items/s")
	b.ReportMetric(float64(articles)/float64(b.N), "articles/op")
	if hwm := vmHWM(); hwm > 0 {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MiB")
	}
}

// sameItemsAsRSS is the list page's items as an RSS 2.0 feed: the same
// titles, links, dates and summaries.
func sameItemsAsRSS(b *testing.B, page []byte, pageURL string) []byte {
	s, err := scrape.Compile(scrape.Spec{Kind: scrape.HTML, Items: "ul.list > li", Fields: map[string]string{
		"title": ".tt a", "link": ".tt a @href", "published": ".time", "summary": ".text"}})
	if err != nil {
		b.Fatal(err)
	}
	shanghai := time.FixedZone("CST", 8*3600)
	r, err := s.Parse(page, pageURL, shanghai, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	var w strings.Builder
	w.WriteString(`<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>要闻_证券时报网</title><link>` + pageURL + `</link>`)
	for _, it := range r.Feed.Items {
		pub, err := time.ParseInLocation("2006-01-02 15:04", it.Published, shanghai)
		if err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(&w, "<item><title>%s</title><link>%s</link><pubDate>%s</pubDate><description>%s</description></item>",
			html.EscapeString(it.Title), html.EscapeString(it.Link), pub.Format(time.RFC1123Z), html.EscapeString(it.Description))
	}
	w.WriteString("</channel></rss>")
	return []byte(w.String())
}

// vmHWM is the process's peak resident set size in bytes (Linux), 0 when
// unknown.
func vmHWM() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }
