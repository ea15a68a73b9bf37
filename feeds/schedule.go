package feeds

import (
	"container/heap"
	"context"
	"errors"
	"log/slog"
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

	// Leases, if set, shares the sources with other instances (storage on
	// PostgreSQL): Run then polls only the sources it claims, when the
	// shared database says they are due, and each poll's Save records the
	// next poll and ends the lease (Result.Lease). Nil: Run schedules the
	// sources itself, in memory (one process: SQLite).
	Leases Leaser
	// LeaseTTL is how long a claim holds (with Leases) unless renewed: a
	// poll in flight renews its lease every third of it, so that a poll
	// longer than the TTL (the full text of many articles) keeps its
	// source. A dead instance's sources wait that long. Zero: LeaseTTLFor
	// the sources.
	LeaseTTL time.Duration
	// PerHost is how many sources of one host may be leased at once,
	// across all instances (with Leases), until SetPerHost changes it; 0:
	// no limit.
	PerHost int

	once    sync.Once
	wake    chan struct{} // a change is pending
	mu      sync.Mutex    // guards the pending changes below
	sources []Source      // when newSources
	newSrcs bool
	poller  *Poller // nil: no change
	limit   int     // 0: no change
	perHost int     // -1: no change
}

// Leaser shares sources among instances: storage.DB on PostgreSQL.
type Leaser interface {
	// Claim leases to this instance the sources of c that are due and
	// leased by no one (or whose lease expired), and returns their slugs.
	// Each lease ends in the Save of its poll (Result.Lease), or when it
	// expires.
	Claim(ctx context.Context, c Claim) ([]string, error)
	// Renew extends the leases of slugs this instance still holds to ttl
	// from now; a lease another instance holds by now is left as it is.
	Renew(ctx context.Context, slugs []string, ttl time.Duration) error
}

// Claim is what a Scheduler asks of its Leaser.
type Claim struct {
	Sources []string // slugs: only these (the configured sources)
	N       int      // at most this many
	// PerHost: none of a host that would then have more than this many
	// sources leased by all instances together; 0: no limit.
	PerHost int
	TTL     time.Duration // how long each lease holds
}

// LeaseTTLFor is how long a lease of one of sources holds by default:
// twice the longest fetch timeout among them (a poll is its fetch, then
// a parse and a transaction), and at least 10 s.
func LeaseTTLFor(sources []Source) time.Duration {
	ttl := 5 * time.Second
	for _, src := range sources {
		ttl = max(ttl, src.Timeout)
	}
	return 2 * ttl
}

// claimEvery is how often a leasing Scheduler asks for due sources: a
// source is polled at most this late.
const claimEvery = 500 * time.Millisecond

func (s *Scheduler) init() {
	s.once.Do(func() { s.wake, s.perHost = make(chan struct{}, 1), -1 })
}

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

// SetPerHost changes how many sources of one host may be leased at once
// (with Leases), from the next claim.
func (s *Scheduler) SetPerHost(n int) {
	s.init()
	s.mu.Lock()
	s.perHost = max(n, 0)
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

// rescheduled is when a queued source, due at at, is due once the config
// changes it from old to src: at once when its URL changed (an operator
// who fixes a broken URL should not wait out the old one's backoff), no
// later than one new interval from now when its interval shrank, else at.
func rescheduled(old, src Source, at, now time.Time) time.Time {
	switch {
	case src.URL != old.URL:
		return now
	case src.Interval > 0 && src.Interval < old.Interval && at.After(now.Add(src.Interval)):
		return now.Add(src.Interval)
	}
	return at
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
	if s.Leases != nil {
		s.runLeased(ctx, sources)
		return
	}
	cfg := running{poller: s.Poller, limit: max(s.Concurrency, 1)}
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
				old := e.src
				e.src, e.removed = src, false
				if e.index >= 0 {
					if at := rescheduled(old, src, e.at, now); !at.Equal(e.at) {
						e.at = at
						heap.Fix(&q, e.index)
					}
				}
				if src.URL != old.URL {
					e.failures = 0 // the old address's backoff is not the new one's
				}
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
		if srcs, ok := s.changes(&cfg); ok {
			set(srcs)
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
		for inFlight < cfg.limit && q.Len() > 0 && !q[0].at.After(time.Now()) && ctx.Err() == nil {
			e := heap.Pop(&q).(*entry)
			e.inFlight = true
			inFlight++
			go func(p *Poller, src Source) {
				results <- done{e: e, result: p.Poll(ctx, src)}
			}(cfg.poller, e.src)
		}
		var wait <-chan time.Time
		if inFlight < cfg.limit && q.Len() > 0 {
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
			// A change notified meanwhile goes first, whichever case select
			// picked: a source it removed is not reported.
			select {
			case <-s.wake:
				take()
			default:
			}
			finished(d)
		case <-s.wake:
			take()
		case <-wait:
		}
	}
}

// running is what a running scheduler polls with; SetPoller,
// SetConcurrency and SetPerHost change it.
type running struct {
	poller         *Poller
	limit, perHost int
}

// changes applies to r, and clears, the changes set since the last call;
// it returns the sources when they were set anew.
func (s *Scheduler) changes(r *running) (srcs []Source, newSrcs bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.poller != nil {
		r.poller = s.poller
	}
	if s.limit > 0 {
		r.limit = s.limit
	}
	if s.perHost >= 0 {
		r.perHost = s.perHost
	}
	srcs, newSrcs = s.sources, s.newSrcs
	s.sources, s.newSrcs, s.poller, s.limit, s.perHost = nil, false, nil, 0, -1
	return srcs, newSrcs
}

// runLeased is Run with Leases: the shared database, not this process,
// knows when each source is due. Every claimEvery, and after each poll
// (room for one more, a host's slot freed), it claims as many due sources
// as it has room for and polls them; each poll's Save records the next
// poll and ends the lease.
func (s *Scheduler) runLeased(ctx context.Context, sources []Source) {
	cfg := running{poller: s.Poller, limit: max(s.Concurrency, 1), perHost: max(s.PerHost, 0)}
	var (
		bySlug   map[string]Source
		slugs    []string
		ttl      time.Duration
		inFlight = map[string]bool{}
		results  = make(chan *Result)
	)
	set := func(sources []Source) {
		bySlug, slugs = make(map[string]Source, len(sources)), make([]string, 0, len(sources))
		for _, src := range sources {
			bySlug[src.Slug] = src
			slugs = append(slugs, src.Slug)
		}
		ttl = s.LeaseTTL
		if ttl <= 0 {
			ttl = LeaseTTLFor(sources)
		}
	}
	// take applies the changes set since the last call.
	take := func() {
		if srcs, ok := s.changes(&cfg); ok {
			set(srcs)
		}
	}
	// renew keeps the leases of the polls in flight, a third of a TTL at a
	// time: they end in their Save.
	renewEvery := func() time.Duration { return max(ttl/3, claimEvery) }
	// bounded is ctx for one call to the database from this loop: a claim
	// or renewal stuck in a hung database (a lock never released, a
	// connection to a host that went away) gives up after renewEvery, so
	// that the loop renews the leases in flight before they lapse, and
	// the next call gets another connection.
	bounded := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, renewEvery()) }
	claim := func() {
		n := cfg.limit - len(inFlight)
		if n <= 0 || len(slugs) == 0 || ctx.Err() != nil {
			return
		}
		cctx, cancel := bounded()
		got, err := s.Leases.Claim(cctx, Claim{Sources: slugs, N: n, PerHost: cfg.perHost, TTL: ttl})
		cancel()
		if err != nil {
			if ctx.Err() == nil && cfg.poller.Logger != nil {
				cfg.poller.Logger.Error("claim due sources", slog.Any("error", err))
			}
			return
		}
		for _, slug := range got {
			src, ok := bySlug[slug]
			if !ok || inFlight[slug] {
				continue // claimed from slugs, not in flight: never
			}
			inFlight[slug] = true
			go func(p *Poller, src Source) { results <- p.pollOnce(ctx, src, true) }(cfg.poller, src)
		}
	}

	renewTick := time.NewTicker(time.Hour)
	defer renewTick.Stop()
	renew := func() {
		if len(inFlight) == 0 || ctx.Err() != nil {
			return
		}
		held := make([]string, 0, len(inFlight))
		for slug := range inFlight {
			held = append(held, slug)
		}
		rctx, cancel := bounded()
		defer cancel()
		if err := s.Leases.Renew(rctx, held, ttl); err != nil && ctx.Err() == nil && cfg.poller.Logger != nil {
			cfg.poller.Logger.Error("renew the leases of the polls in flight", slog.Int("sources", len(held)), slog.Any("error", err))
		}
	}

	// changed takes in a notified change. The sources' TTL may have
	// changed with it: the leases in flight, claimed for the old one, are
	// renewed for the new one at once.
	changed := func() {
		take()
		renew()
		renewTick.Reset(renewEvery())
	}

	set(sources)
	take() // a change made before Run started is newer than sources
	renewTick.Reset(renewEvery())
	tick := time.NewTicker(claimEvery)
	defer tick.Stop()
	claim()
	for {
		// A renewal due goes first: a claim that hung may have used up a
		// third of the time the leases in flight had left, and another
		// claim taken before it could use up the rest.
		select {
		case <-renewTick.C:
			renew()
		default:
		}
		select {
		case <-ctx.Done():
			for len(inFlight) > 0 {
				delete(inFlight, (<-results).Source)
			}
			return
		case r := <-results:
			// As in Run: a change notified meanwhile goes first.
			select {
			case <-s.wake:
				changed()
			default:
			}
			delete(inFlight, r.Source)
			_, configured := bySlug[r.Source]
			cut := ctx.Err() != nil && errors.Is(r.Err, context.Canceled)
			if configured && !cut && s.OnResult != nil {
				s.OnResult(r)
			}
			// Room for one more, and perhaps a host's slot freed.
			claim()
		case <-s.wake:
			changed()
		case <-tick.C:
			claim()
		case <-renewTick.C:
			renew()
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
