package feeds_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
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

// A poll that takes longer than its lease (the full text of many articles
// on a slow site) keeps its source: the scheduler renews the lease while
// the poll is in flight, so no other instance claims it and polls it too.
func TestScheduler_RenewsTheLeasesOfPollsInFlight(t *testing.T) {
	const ttl = 1500 * time.Millisecond
	body := gbkFeed(t, "慢")
	hold := make(chan struct{})
	release := sync.OnceFunc(func() { close(hold) })
	asked := make(chan struct{}, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case asked <- struct{}{}:
		default:
		}
		<-hold
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write(body)
	}))
	defer ts.Close()
	defer release()
	p, _ := newPoller(t, "slow")
	leaser := &expiringLeaser{expires: map[string]time.Time{}}
	results := make(chan *feeds.Result, 1)
	sched := &feeds.Scheduler{Poller: p, Concurrency: 1, Leases: leaser, LeaseTTL: ttl,
		OnResult: func(r *feeds.Result) { results <- r }}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		sched.Run(ctx, []feeds.Source{{Slug: "slow", URL: ts.URL + "/slow", Interval: time.Hour, Timeout: 30 * time.Second}})
		close(stopped)
	}()
	defer func() { release(); cancel(); <-stopped }()

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
