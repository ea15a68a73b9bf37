package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/internal/app"
)

// floor parses every body with gofeed on GOMAXPROCS goroutines, and
// nothing else: no fetch, no normalize, no store. scan says whether gofeed's
// RSS image scan runs (gofeed.NewParser's default) or not (as feedrelay
// parses).
func floor(bodies [][]byte, scan bool) (time.Duration, int, error) {
	var items atomic.Int64
	start := time.Now()
	err := onAllCores(len(bodies), func(i int) error {
		p := gofeed.NewParser()
		if !scan {
			p.RSSTranslator = &gofeed.DefaultRSSTranslator{DisableContentImageScan: true}
		}
		f, err := p.Parse(bytes.NewReader(bodies[i]))
		if err != nil {
			return err
		}
		items.Add(int64(len(f.Items)))
		return nil
	})
	return time.Since(start), int(items.Load()), err
}

// onAllCores calls f(0) … f(n-1) on GOMAXPROCS goroutines and returns the
// first error (a goroutine stops at its first).
func onAllCores(n int, f func(i int) error) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		first error
		mu    sync.Mutex
	)
	for range procs() {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := f(i); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// round is one poll of every source, as `feedrelay poll` does it.
type round struct {
	results []*feeds.Result
	poll    time.Duration // fetch, parse, normalize, store
	index   time.Duration // the search index of what the polls stored
	indexed int
}

func (r round) total() time.Duration { return r.poll + r.index }

// pollOnce polls every source of a once, as `feedrelay poll` does (its
// concurrency at a time), then indexes what it stored for search, as
// serve's background indexer does (timed apart; the retention pass too:
// see prune).
func pollOnce(ctx context.Context, a *app.App) (round, error) {
	var r round
	start := time.Now()
	r.results = a.PollOnce(ctx, a.Sources(), nil)
	r.poll = time.Since(start)
	start = time.Now()
	n, err := a.DB.IndexAll(ctx)
	r.index, r.indexed = time.Since(start), n
	if err != nil {
		return r, fmt.Errorf("search index: %w", err)
	}
	return r, nil
}

// prune applies every source's retention, as `feedrelay poll` does after
// polling and serve does hourly.
func prune(ctx context.Context, a *app.App) (time.Duration, int, error) {
	start := time.Now()
	n, err := a.Prune(ctx)
	return time.Since(start), n, err
}

// pollStats sums what a round of polls did.
type pollStats struct {
	ok, notModified, failed int
	feeds.Counts
	firstErr error
}

func statsOf(results []*feeds.Result) pollStats {
	var s pollStats
	for _, r := range results {
		switch {
		case r.Err != nil:
			s.failed++
			if s.firstErr == nil {
				s.firstErr = fmt.Errorf("%s: %w", r.Source, r.Err)
			}
		case r.NotModified:
			s.notModified++
		default:
			s.ok++
		}
		s.New += r.Counts.New
		s.Updated += r.Counts.Updated
		s.Unchanged += r.Counts.Unchanged
	}
	return s
}

func (s pollStats) String() string {
	return fmt.Sprintf("%d ok, %d not modified, %d failed; items new %d, updated %d, unchanged %d",
		s.ok, s.notModified, s.failed, s.New, s.Updated, s.Unchanged)
}

// parseAll parses and normalizes every body the way the poller does (story
// keys included), on GOMAXPROCS goroutines, into results ready to store.
func parseAll(bodies [][]byte, sources []feeds.Source) ([]*feeds.Result, error) {
	results := make([]*feeds.Result, len(bodies))
	err := onAllCores(len(bodies), func(i int) error {
		src := sources[i]
		f, err := feeds.Parse(bodies[i], "application/rss+xml; charset=utf-8", src.Charset, src.URL, src.Location)
		if err != nil {
			return fmt.Errorf("%s: %w", src.Slug, err)
		}
		r := &feeds.Result{Source: src.Slug, URL: src.URL, Attempted: time.Now(),
			StatusCode: 200, ETag: fmt.Sprintf(`"ingest-%d"`, i), Feed: f}
		src.Identify(f, r.Attempted)
		results[i] = r
		return nil
	})
	return results, err
}
