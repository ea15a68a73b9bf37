package feeds_test

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/feeds/feedstest"
	"github.com/feedrelay/feedrelay/storage"
)

// One bad source must never harm the others: with every kind of hostile
// source polled at once, each gets its own clear error, and a good source
// keeps being polled on schedule.
func TestHostileSources(t *testing.T) {
	sources := feedstest.HostileSources()
	slugs := []string{"good"}
	for _, h := range sources {
		slugs = append(slugs, h.Slug)
	}
	p, db := newPoller(t, slugs...)

	var goodPolls atomic.Int32
	good := httptest.NewServer(feedstest.Good(&goodPolls))
	defer good.Close()
	// The good source's timeout is the others' too: it answers at once, so
	// a timeout would be the machine's stall, not harm from the hostile
	// sources, and would cost it polls in backoff.
	srcs := []feeds.Source{{Slug: "good", URL: good.URL, Interval: 250 * time.Millisecond, Timeout: 8 * time.Second, MaxBodySize: 16 << 20}}
	for _, h := range sources {
		ts := httptest.NewServer(h.Handler)
		defer ts.Close()
		srcs = append(srcs, feeds.Source{Slug: h.Slug, URL: ts.URL + "/feed", Interval: time.Hour,
			Timeout: 8 * time.Second, MaxBodySize: 16 << 20}) // room for a gzip bomb under -race on a busy machine
	}

	// Run until every source has been polled once (the 20,000-item feed
	// takes longest, many seconds under the race detector), at least 3s.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var mu sync.Mutex
	first := map[string]*feeds.Result{}
	var goodFailed []string // the good source's failed polls
	sched := &feeds.Scheduler{Poller: p, Concurrency: 16, OnResult: func(r *feeds.Result) {
		mu.Lock()
		defer mu.Unlock()
		if r.Source == "good" && r.Err != nil {
			goodFailed = append(goodFailed, r.Summary())
		}
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
		t.Errorf("good source (250ms interval) polled %d times in %v beside hostile ones, want at least %d (%d failed: %q)", n, elapsed, want, len(goodFailed), goodFailed)
	}
	for _, h := range sources {
		r := first[h.Slug]
		if r == nil {
			t.Errorf("%s: never finished a poll", h.Slug)
			continue
		}
		if !strings.Contains(r.Summary(), h.Want) {
			t.Errorf("%s: %q, want it to contain %q", h.Slug, r.Summary(), h.Want)
		}
		es, err := db.Entries(context.Background(), storage.EntryQuery{Sources: []string{h.Slug}, Limit: 30000})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != h.Items {
			t.Errorf("%s: %d items stored, want %d", h.Slug, len(es), h.Items)
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
