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
// at once, and at most Concurrency sources at a time.
type Scheduler struct {
	Poller      *Poller
	Concurrency int
	// OnResult, if set, is called after every poll, with NextPoll set,
	// from the scheduling goroutine: it must not block.
	OnResult func(*Result)
	// Due, if set, says when sources (by slug) are next due; the others
	// are due at once. A config reload passes on what Run returned.
	Due map[string]time.Time
}

// Run polls sources until ctx is done, then waits for polls in flight (which
// see the cancelled context) and returns when each source is next due: as
// scheduled, or now for those whose poll was cut short.
func (s *Scheduler) Run(ctx context.Context, sources []Source) map[string]time.Time {
	n := s.Concurrency
	if n < 1 {
		n = 1
	}
	// failures counts consecutive failed polls per source; only the loop
	// below touches it.
	failures := make([]int, len(sources))
	sem := make(chan struct{}, n)
	done := make(chan due, len(sources))
	var wg sync.WaitGroup

	q := make(queue, 0, len(sources))
	now := time.Now()
	for i, src := range sources {
		at, ok := s.Due[src.Slug]
		if !ok {
			at = now
		}
		q = append(q, due{at: at, idx: i})
	}
	heap.Init(&q)
	// finished schedules a source's next poll after its result d.
	finished := func(d due) {
		if d.result.Err != nil {
			// The store's count carries failures over a restart.
			failures[d.idx] = max(failures[d.idx]+1, d.result.Failures)
		} else {
			failures[d.idx] = 0
		}
		d.result.NextPoll = NextPoll(sources[d.idx], d.result, failures[d.idx], time.Now())
		if s.OnResult != nil {
			s.OnResult(d.result)
		}
		heap.Push(&q, due{at: d.result.NextPoll, idx: d.idx})
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if q.Len() > 0 {
			timer.Reset(time.Until(q[0].at))
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			close(done)
			next := make(map[string]time.Time, len(sources))
			for _, d := range q {
				next[sources[d.idx].Slug] = d.at
			}
			for d := range done {
				if ctx.Err() != nil && errors.Is(d.result.Err, context.Canceled) {
					next[sources[d.idx].Slug] = time.Now() // cut short: due again at once
					continue
				}
				finished(d)
				next[sources[d.idx].Slug] = d.result.NextPoll
			}
			return next
		case d := <-done:
			finished(d)
		case <-timer.C:
		launch:
			for q.Len() > 0 && !q[0].at.After(time.Now()) {
				// Results are taken in while waiting for a slot: with
				// thousands of sources due at once (a start), they would
				// otherwise pile up until the last one is launched.
				select {
				case sem <- struct{}{}:
				case d := <-done:
					finished(d)
					continue
				case <-ctx.Done():
					break launch // the outer select returns
				}
				d := heap.Pop(&q).(due)
				wg.Add(1)
				go func(src Source, idx int) {
					defer wg.Done()
					defer func() { <-sem }()
					done <- due{idx: idx, result: s.Poller.Poll(ctx, src)}
				}(sources[d.idx], d.idx)
			}
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

type due struct {
	at     time.Time
	idx    int
	result *Result
}

type queue []due

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q queue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)        { *q = append(*q, x.(due)) }
func (q *queue) Pop() any {
	old := *q
	d := old[len(old)-1]
	*q = old[:len(old)-1]
	return d
}
