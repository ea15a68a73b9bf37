package feeds

import (
	"container/heap"
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// Scheduler polls every source on its interval, never the same source twice
// at once, and at most Concurrency sources at a time. Its sources, poller and
// concurrency can be swapped while it runs (SetSources, SetPoller,
// SetConcurrency) without cancelling polls in flight.
type Scheduler struct {
	// Poller polls the sources until SetPoller swaps it.
	Poller *Poller
	// Concurrency is how many sources may be polled at once (at least 1)
	// until SetConcurrency changes it.
	Concurrency int
	// OnResult, if set, is called after every poll of a configured source,
	// with NextPoll set, from the scheduling goroutine: it must not block.
	OnResult func(*Result)

	once    sync.Once
	wake    chan struct{} // a change is pending
	mu      sync.Mutex    // guards the pending changes below
	sources []Source      // when newSources
	newSrcs bool
	poller  *Poller // nil: no change
	limit   int     // 0: no change
}

func (s *Scheduler) init() { s.once.Do(func() { s.wake = make(chan struct{}, 1) }) }

// notify wakes Run to take in a pending change; it never blocks, so it is
// safe before Run starts and after it returned.
func (s *Scheduler) notify() {
	s.init()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// SetSources makes sources the ones polled. A source not polled before is
// due at once; a known one (same slug) keeps its place in the schedule and
// its failure count, and its new settings (interval, URL, headers…) apply
// from its next poll: a changed interval takes effect when the source is
// next scheduled. A source left out is no longer polled; a poll of it in
// flight finishes (what it fetched is stored) but is not rescheduled or
// reported to OnResult. Nothing in flight is cancelled. It is safe to call
// from any goroutine, before, while or after Run runs.
func (s *Scheduler) SetSources(sources []Source) {
	s.mu.Lock()
	s.sources, s.newSrcs = append([]Source(nil), sources...), true
	s.mu.Unlock()
	s.notify()
}

// SetPoller makes p poll every source from the next poll launched; polls in
// flight finish with the poller they started with.
func (s *Scheduler) SetPoller(p *Poller) {
	s.mu.Lock()
	s.poller = p
	s.mu.Unlock()
	s.notify()
}

// SetConcurrency changes how many sources may be polled at once; lowering
// it cancels nothing, it only holds back new polls.
func (s *Scheduler) SetConcurrency(n int) {
	s.mu.Lock()
	s.limit = max(n, 1)
	s.mu.Unlock()
	s.notify()
}

// entry is one source in the schedule.
type entry struct {
	src      Source
	at       time.Time // when it is next due, while queued
	index    int       // in the queue; -1 when not queued
	inFlight bool
	removed  bool // left the config while in flight
	// failures counts consecutive failed polls; only Run's goroutine
	// touches it.
	failures int
}

// done is a finished poll.
type done struct {
	e      *entry
	result *Result
}

// Run polls sources until ctx is done, then waits for the polls in flight
// (which see the cancelled context) and returns.
func (s *Scheduler) Run(ctx context.Context, sources []Source) {
	s.init()
	limit := max(s.Concurrency, 1)
	poller := s.Poller
	entries := map[string]*entry{}
	var q queue
	inFlight := 0
	results := make(chan done)

	set := func(sources []Source) {
		now := time.Now()
		keep := make(map[string]bool, len(sources))
		for _, src := range sources {
			keep[src.Slug] = true
			if e, ok := entries[src.Slug]; ok {
				e.src, e.removed = src, false
				continue
			}
			e := &entry{src: src, at: now}
			entries[src.Slug] = e
			heap.Push(&q, e)
		}
		for slug, e := range entries {
			if keep[slug] {
				continue
			}
			if e.inFlight {
				e.removed = true // forgotten when its poll returns
				continue
			}
			heap.Remove(&q, e.index)
			delete(entries, slug)
		}
	}
	// take applies the changes set since the last call.
	take := func() {
		s.mu.Lock()
		srcs, newSrcs, p, n := s.sources, s.newSrcs, s.poller, s.limit
		s.sources, s.newSrcs, s.poller, s.limit = nil, false, nil, 0
		s.mu.Unlock()
		if newSrcs {
			set(srcs)
		}
		if p != nil {
			poller = p
		}
		if n > 0 {
			limit = n
		}
	}
	// finished schedules a source's next poll after its result.
	finished := func(d done) {
		inFlight--
		e := d.e
		e.inFlight = false
		if e.removed {
			delete(entries, e.src.Slug)
			return
		}
		if ctx.Err() != nil && errors.Is(d.result.Err, context.Canceled) {
			return // cut short by the shutdown
		}
		if d.result.Err != nil {
			// The store's count carries failures over a restart.
			e.failures = max(e.failures+1, d.result.Failures)
		} else {
			e.failures = 0
		}
		d.result.NextPoll = NextPoll(e.src, d.result, e.failures, time.Now())
		if s.OnResult != nil {
			s.OnResult(d.result)
		}
		e.at = d.result.NextPoll
		heap.Push(&q, e)
	}

	set(sources)
	take() // a change made before Run started is newer than sources
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		for inFlight < limit && q.Len() > 0 && !q[0].at.After(time.Now()) && ctx.Err() == nil {
			e := heap.Pop(&q).(*entry)
			e.inFlight = true
			inFlight++
			go func(p *Poller, src Source) {
				results <- done{e: e, result: p.Poll(ctx, src)}
			}(poller, e.src)
		}
		var wait <-chan time.Time
		if inFlight < limit && q.Len() > 0 {
			timer.Reset(time.Until(q[0].at))
			wait = timer.C
		}
		select {
		case <-ctx.Done():
			for inFlight > 0 {
				finished(<-results)
			}
			return
		case d := <-results:
			finished(d)
		case <-s.wake:
			take()
		case <-wait:
		}
	}
}

// MaxBackoff caps how long a failing, gone or rate-limited source waits.
const MaxBackoff = 24 * time.Hour

// NextPoll is when src should be polled again after r, its failures-th
// failure in a row (0 after a success). Failing sources back off
// exponentially (interval × 2^failures, ±10 % jitter so that sources failing
// together spread out), a 410 Gone source is polled at most daily, and a
// Retry-After is honoured; all capped at MaxBackoff.
func NextPoll(src Source, r *Result, failures int, now time.Time) time.Time {
	wait := src.Interval
	var herr *HTTPError
	switch {
	case r.Err == nil:
		// The source's own hints may only lengthen the interval, and
		// only up to MaxInterval.
		if r.FreshFor > wait {
			wait = r.FreshFor
			if src.MaxInterval > 0 {
				wait = min(wait, max(src.MaxInterval, src.Interval))
			}
		}
	case errors.As(r.Err, &herr) && herr.StatusCode == http.StatusGone:
		wait = max(wait, MaxBackoff)
	default:
		for i := 0; i < failures && wait < MaxBackoff; i++ {
			wait *= 2
		}
		wait += time.Duration((rand.Float64()*0.2 - 0.1) * float64(wait))
		if herr != nil && herr.RetryAfter.After(now.Add(wait)) {
			wait = herr.RetryAfter.Sub(now)
		}
	}
	return now.Add(min(wait, MaxBackoff))
}

// queue orders the sources waiting for their turn, soonest first.
type queue []*entry

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *queue) Push(x any) {
	e := x.(*entry)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*q = old[:len(old)-1]
	return e
}
