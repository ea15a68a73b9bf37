package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestServe_SharedPostgres runs two `feedrelay serve` processes on one
// PostgreSQL database with the same sources: together they fetch each
// source once per interval, never twice, store each item once, and answer
// a category feed with the same bytes and ETag.
func TestServe_SharedPostgres(t *testing.T) {
	const (
		sources  = 12
		interval = 2 * time.Second
		run      = 5 * time.Second
	)
	var (
		mu    sync.Mutex
		times = map[string][]time.Time{}
	)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slug := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".xml")
		mu.Lock()
		times[slug] = append(times[slug], time.Now())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>%s</title><link>https://example.org/%s</link>
<item><title>%s 1</title><link>https://example.org/%s/1</link><guid>%s-1</guid></item>
</channel></rss>`, slug, slug, slug, slug, slug)
	}))
	defer ts.Close()
	database := pgDatabase(t)
	var srcs strings.Builder
	for i := range sources {
		fmt.Fprintf(&srcs, "  - {name: s%d, url: %s/s%d.xml, categories: [news]}\n", i, ts.URL, i)
	}
	var addrs []string
	for range 2 {
		dir := t.TempDir()
		cfg := fmt.Sprintf(`listen: 127.0.0.1:0
base_url: http://relay.example/
database: %s
per_host_concurrency: 20
defaults: {interval: %s, timeout: 5s}
categories:
  - {slug: news, title: News}
sources:
%s`, database, interval, srcs.String())
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		d := startServe(t, path)
		addrs = append(addrs, d.addr(t))
		defer d.stop(t, 5*time.Second)
	}
	time.Sleep(run)

	mu.Lock()
	for i := range sources {
		slug := fmt.Sprintf("s%d", i)
		ts := times[slug]
		if len(ts) == 0 {
			t.Errorf("%s never fetched", slug)
			continue
		}
		// At most one fetch per interval: the run holds run/interval of
		// them, plus the first at start.
		if max := int(run/interval) + 1; len(ts) > max {
			t.Errorf("%s fetched %d times in %v at a %v interval, want at most %d", slug, len(ts), run, interval, max)
		}
		for j := 1; j < len(ts); j++ {
			if gap := ts[j].Sub(ts[j-1]); gap < interval-100*time.Millisecond {
				t.Errorf("%s fetched twice %v apart, within its %v interval", slug, gap, interval)
			}
		}
	}
	mu.Unlock()

	// Both instances answer the category feed alike.
	var etags, bodies []string
	for _, addr := range addrs {
		resp, err := http.Get("http://" + addr + "/feeds/news.atom")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if n := strings.Count(string(body), "<entry>"); resp.StatusCode != 200 || n != sources {
			t.Errorf("%s: %d with %d entries, want 200 with %d (each item once)", addr, resp.StatusCode, n, sources)
		}
		etags, bodies = append(etags, resp.Header.Get("ETag")), append(bodies, string(body))
	}
	if etags[0] == "" || etags[0] != etags[1] || bodies[0] != bodies[1] {
		t.Errorf("the instances answer with ETags %q and %q (bodies equal: %v), want the same", etags[0], etags[1], bodies[0] == bodies[1])
	}
}
