package feeds

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Scheduler polls every source on its interval, never the same source twice
// at once, and at most Concurrency sources at a time.
type Scheduler struct {
	Poller      *Poller
	Concurrency int
	// OnResult, if set, is called after every poll (from the polling
	// goroutine).
	OnResult func(*Result)
}

// Run polls sources until ctx is done, then waits for polls in flight (which
// see the cancelled context) and returns.
func (s *Scheduler) Run(ctx context.Context, sources []Source) {
	n := s.Concurrency
	if n < 1 {
		n = 1
	}
	sem := make(chan struct{}, n)
	done := make(chan due, len(sources))
	var wg sync.WaitGroup
	defer wg.Wait()

	q := make(queue, 0, len(sources))
	now := time.Now()
	for i := range sources {
		q = append(q, due{at: now, idx: i})
	}
	heap.Init(&q)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if q.Len() > 0 {
			timer.Reset(time.Until(q[0].at))
		}
		select {
		case <-ctx.Done():
			return
		case d := <-done:
			heap.Push(&q, d)
		case <-timer.C:
			for q.Len() > 0 && !q[0].at.After(time.Now()) {
				d := heap.Pop(&q).(due)
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				wg.Add(1)
				go func(src Source, idx int) {
					defer wg.Done()
					defer func() { <-sem }()
					r := s.Poller.Poll(ctx, src)
					if s.OnResult != nil {
						s.OnResult(r)
					}
					done <- due{at: s.next(src, r), idx: idx}
				}(sources[d.idx], d.idx)
			}
		}
	}
}

// next is when src should be polled again after r.
func (s *Scheduler) next(src Source, r *Result) time.Time {
	return time.Now().Add(src.Interval)
}

type due struct {
	at  time.Time
	idx int
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
