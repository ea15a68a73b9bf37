package feeds_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// expiringLeaser leases each source once for the claim's TTL, as the
// database does, and records whether a lease lapsed before it was renewed.
type expiringLeaser struct {
	mu       sync.Mutex
	expires  map[string]time.Time
	renewals int
	lapsed   []string // sources renewed after their lease had expired
}

func (l *expiringLeaser) Claim(_ context.Context, c feeds.Claim) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var got []string
	for _, s := range c.Sources {
		if _, ok := l.expires[s]; !ok && len(got) < c.N {
			l.expires[s] = time.Now().Add(c.TTL)
			got = append(got, s)
		}
	}
	return got, nil
}

func (l *expiringLeaser) Renew(_ context.Context, slugs []string, ttl time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for _, s := range slugs {
		if now.After(l.expires[s]) {
			l.lapsed = append(l.lapsed, s)
		}
		l.expires[s] = now.Add(ttl)
		l.renewals++
	}
	return nil
}

// slowOrigin is a source that answers only once release is called; asked
// receives when the first request arrives.
func slowOrigin(t *testing.T) (ts *httptest.Server, asked <-chan struct{}, release func()) {
	body := gbkFeed(t, "慢")
	hold := make(chan struct{})
	release = sync.OnceFunc(func() { close(hold) })
	ask := make(chan struct{}, 1)
	ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case ask <- struct{}{}:
		default:
		}
		<-hold
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write(body)
	}))
	// Released before the server closes, which waits for its handlers.
	t.Cleanup(func() { release(); ts.Close() })
	return ts, ask, release
}

// runSlow runs sched on the one source "slow" of ts until the test ends,
// when the origin is released first so that the poll in flight ends.
func runSlow(t *testing.T, sched *feeds.Scheduler, ts *httptest.Server, release func()) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		sched.Run(ctx, []feeds.Source{{Slug: "slow", URL: ts.URL + "/slow", Interval: time.Hour, Timeout: 30 * time.Second}})
		close(stopped)
	}()
	t.Cleanup(func() { release(); cancel(); <-stopped })
}

// A poll that takes longer than its lease (the full text of many articles
// on a slow site) keeps its source: the scheduler renews the lease while
// the poll is in flight, so no other instance claims it and polls it too.
func TestScheduler_RenewsTheLeasesOfPollsInFlight(t *testing.T) {
	const ttl = 1500 * time.Millisecond
	ts, asked, release := slowOrigin(t)
	defer release()
	p, _ := newPoller(t, "slow")
	leaser := &expiringLeaser{expires: map[string]time.Time{}}
	results := make(chan *feeds.Result, 1)
	sched := &feeds.Scheduler{Poller: p, Concurrency: 1, Leases: leaser, LeaseTTL: ttl,
		OnResult: func(r *feeds.Result) { results <- r }}
	runSlow(t, sched, ts, release)

	<-asked
	time.Sleep(2 * ttl) // the poll outlasts its lease twice over
	leaser.mu.Lock()
	held := time.Now().Before(leaser.expires["slow"])
	renewals, lapsed := leaser.renewals, leaser.lapsed
	leaser.mu.Unlock()
	if !held || renewals < 3 || len(lapsed) > 0 {
		t.Errorf("after 2 TTLs in flight: lease held %v, renewed %d times, lapsed before a renewal %d times; want held, renewed, never lapsed",
			held, renewals, len(lapsed))
	}
	release()
	if r := <-results; r.Err != nil {
		t.Errorf("the long poll: %v", r.Err)
	}
	// Once the poll is saved its lease is not renewed any more.
	leaser.mu.Lock()
	after := leaser.renewals
	leaser.mu.Unlock()
	time.Sleep(ttl)
	leaser.mu.Lock()
	defer leaser.mu.Unlock()
	if leaser.renewals != after {
		t.Errorf("the lease of a finished poll was renewed %d more times", leaser.renewals-after)
	}
}

// stuckLeaser answers its first claim as expiringLeaser does and never
// answers the later ones, as a database does whose claim lock another
// instance holds and never lets go, or a connection to a host gone away.
type stuckLeaser struct {
	expiringLeaser
	claims, gaveUp atomic.Int32
}

func (l *stuckLeaser) Claim(ctx context.Context, c feeds.Claim) ([]string, error) {
	if l.claims.Add(1) == 1 {
		return l.expiringLeaser.Claim(ctx, c)
	}
	<-ctx.Done()
	l.gaveUp.Add(1)
	return nil, fmt.Errorf("claim due sources: %w", ctx.Err())
}

// lockedWriter is a log any goroutine may write to.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// A claim that never answers costs the polls in flight nothing: it gives
// up in time for their leases to be renewed, and says why in the log.
func TestScheduler_AStuckClaimCostsNoLease(t *testing.T) {
	const ttl = 1500 * time.Millisecond
	ts, asked, release := slowOrigin(t)
	defer release()
	p, _ := newPoller(t, "slow")
	var log lockedWriter
	p.Logger = slog.New(slog.NewTextHandler(&log, nil))
	leaser := &stuckLeaser{expiringLeaser: expiringLeaser{expires: map[string]time.Time{}}}
	// Room for two: with one poll in flight the scheduler keeps claiming.
	sched := &feeds.Scheduler{Poller: p, Concurrency: 2, Leases: leaser, LeaseTTL: ttl}
	runSlow(t, sched, ts, release)

	<-asked
	time.Sleep(2 * ttl) // the claims hang all along
	leaser.mu.Lock()
	held := time.Now().Before(leaser.expires["slow"])
	renewals, lapsed := leaser.renewals, leaser.lapsed
	leaser.mu.Unlock()
	if !held || renewals < 2 || len(lapsed) > 0 {
		t.Errorf("after 2 TTLs of claims that never answer: lease held %v, renewed %d times, lapsed before a renewal %d times; want held, renewed, never lapsed",
			held, renewals, len(lapsed))
	}
	if n := leaser.gaveUp.Load(); n < 1 {
		t.Errorf("%d stuck claims gave up, want at least 1", n)
	}
	if got := log.String(); !strings.Contains(got, `msg="claim due sources"`) || !strings.Contains(got, "deadline exceeded") {
		t.Errorf("log does not say the claim timed out:\n%s", got)
	}
}

// A poll cut short by a shutdown is no failure of its source: the log
// says so at INFO, not as a WARN an operator's alert would count.
func TestPoll_CutShortIsNoFailure(t *testing.T) {
	asked := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(asked)
		<-r.Context().Done()
	}))
	defer ts.Close()
	p, _ := newPoller(t, "slow")
	var log lockedWriter
	p.Logger = slog.New(slog.NewTextHandler(&log, nil))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-asked; cancel() }()
	r := p.Poll(ctx, feeds.Source{Slug: "slow", URL: ts.URL + "/slow", Interval: time.Hour, Timeout: 30 * time.Second})
	if !errors.Is(r.Err, context.Canceled) {
		t.Fatalf("poll: %v, want it cut short", r.Err)
	}
	got := log.String()
	if strings.Contains(got, "level=WARN") || !strings.Contains(got, `level=INFO msg="poll cut short"`) {
		t.Errorf("log of a poll cut short:\n%s\nwant one INFO line, no WARN", got)
	}
}
