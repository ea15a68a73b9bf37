package feeds_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/storage"
)

// hostile is one misbehaving source and what its poll must say.
type hostile struct {
	slug    string
	handler http.HandlerFunc
	want    string // substring of the poll summary
	items   int    // items that must be stored
}

func rssOf(items int, extra string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>大量</title><link>https://example.org/</link>`)
	for i := 0; i < items; i++ {
		fmt.Fprintf(&b, `<item><guid>id-%d</guid><title>第%d条 %s</title><link>https://example.org/a/%d</link><description>&lt;p&gt;正文 %d&lt;/p&gt;</description></item>`, i, i, extra, i, i)
	}
	b.WriteString(`</channel></rss>`)
	return b.Bytes()
}

func hostileSources(t *testing.T) []hostile {
	t.Helper()
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zero := make([]byte, 1<<20)
	for i := 0; i < 256; i++ { // 256 MB of zeros, about 256 KB compressed
		zw.Write(zero)
	}
	zw.Close()
	big := rssOf(20000, "")
	return []hostile{
		{"slowloris", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<"))
			for {
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(time.Second):
					w.Write([]byte("r"))
				}
			}
		}, "timed out", 0},
		{"huge", func(w http.ResponseWriter, r *http.Request) {
			chunk := bytes.Repeat([]byte("<rss>"), 1<<16)
			for sent := 0; sent < 260<<20 && r.Context().Err() == nil; sent += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, "body too large", 0},
		{"gzipbomb", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Type", "application/rss+xml")
			w.Write(bomb.Bytes())
		}, "body too large", 0},
		{"loop", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
		}, "redirect loop", 0},
		{"notfound", http.NotFound, "HTTP 404 Not Found", 0},
		{"gone", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "gone", http.StatusGone)
		}, "HTTP 410 Gone", 0},
		{"ratelimited", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "3600")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		}, "HTTP 429 Too Many Requests", 0},
		{"htmlpage", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<!doctype html><html><head><link rel="alternate" type="application/atom+xml" href="/feed.atom"></head><body>首页</body></html>`))
		}, "not a feed (text/html); the page advertises a feed at http://", 0},
		{"jsonerror", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"error":"rate limited"}`))
		}, "not a feed", 0},
		{"truncated", func(w http.ResponseWriter, r *http.Request) {
			w.Write(rssOf(3, "")[:300])
		}, "parse:", 0},
		{"empty", func(w http.ResponseWriter, r *http.Request) {}, "empty body", 0},
		{"laughs", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">` +
				`<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">` +
				`<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>` +
				`<rss version="2.0"><channel><title>&f;</title><item><guid>1</guid><title>&f;</title></item></channel></rss>`))
		}, "new 1,", 1},
		{"badutf8", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
			w.Write(bytes.Replace(rssOf(5, "坏字节"), []byte("第2条"), []byte("第2\xff\xfe条"), 1))
		}, "new 5,", 5},
		{"twentythousand", func(w http.ResponseWriter, r *http.Request) {
			w.Write(big)
		}, "new 20000,", 20000},
	}
}

// One bad source must never harm the others: with every kind of hostile
// source polled at once, each gets its own clear error, and a good source
// keeps being polled on schedule.
func TestHostileSources(t *testing.T) {
	sources := hostileSources(t)
	slugs := []string{"good"}
	for _, h := range sources {
		slugs = append(slugs, h.slug)
	}
	p, db := newPoller(t, slugs...)

	var goodPolls atomic.Int32
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		goodPolls.Add(1)
		w.Header().Set("ETag", `"good"`)
		if r.Header.Get("If-None-Match") == `"good"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(rssOf(2, "好"))
	}))
	defer good.Close()
	srcs := []feeds.Source{{Slug: "good", URL: good.URL, Interval: 250 * time.Millisecond, Timeout: time.Second, MaxBodySize: 16 << 20}}
	for _, h := range sources {
		ts := httptest.NewServer(h.handler)
		defer ts.Close()
		srcs = append(srcs, feeds.Source{Slug: h.slug, URL: ts.URL + "/feed", Interval: time.Hour,
			Timeout: 3 * time.Second, MaxBodySize: 16 << 20})
	}

	// Run until every source has been polled once (the 20,000-item feed
	// takes longest, many seconds under the race detector), at least 3s.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var mu sync.Mutex
	first := map[string]*feeds.Result{}
	sched := &feeds.Scheduler{Poller: p, Concurrency: 16, OnResult: func(r *feeds.Result) {
		mu.Lock()
		defer mu.Unlock()
		if first[r.Source] == nil {
			first[r.Source] = r
		}
		if len(first) == len(srcs) {
			cancel()
		}
	}}
	start := time.Now()
	go func() {
		time.Sleep(3 * time.Second)
		mu.Lock()
		defer mu.Unlock()
		if len(first) == len(srcs) {
			cancel()
		}
	}()
	sched.Run(ctx, srcs)
	elapsed := time.Since(start)
	t.Logf("every source polled once in %v; the good one %d times", elapsed, goodPolls.Load())

	// On schedule: at least half the polls its interval allows.
	if n, want := goodPolls.Load(), int32(elapsed/(250*time.Millisecond)/2); n < want {
		t.Errorf("good source (250ms interval) polled %d times in %v beside hostile ones, want at least %d", n, elapsed, want)
	}
	for _, h := range sources {
		r := first[h.slug]
		if r == nil {
			t.Errorf("%s: never finished a poll", h.slug)
			continue
		}
		if !strings.Contains(r.Summary(), h.want) {
			t.Errorf("%s: %q, want it to contain %q", h.slug, r.Summary(), h.want)
		}
		es, err := db.Entries(context.Background(), storage.EntryQuery{Sources: []string{h.slug}, Limit: 30000})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != h.items {
			t.Errorf("%s: %d items stored, want %d", h.slug, len(es), h.items)
		}
	}
	// Entities are not expanded: a billion laughs stays a few bytes.
	if es, _ := db.Entries(context.Background(), storage.EntryQuery{Sources: []string{"laughs"}, Limit: 1}); len(es) == 1 && len(es[0].Title) > 100 {
		t.Errorf("laughs: stored a %d-byte title: entities were expanded", len(es[0].Title))
	}
	es, _ := db.Entries(context.Background(), storage.EntryQuery{Sources: []string{"badutf8"}, Limit: 10})
	for _, e := range es {
		if strings.HasPrefix(e.Title, "第2") && e.Title != "第2\uFFFD条 坏字节" {
			t.Errorf("invalid bytes: title %q, want them replaced by U+FFFD and the rest kept", e.Title)
		}
	}
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(l, "VmHWM:") {
				t.Logf("peak RSS of the test process: %s", strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:")))
			}
		}
	}
}
