package feeds_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// eventually fails the test unless ok becomes true within 10s.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// SetSources swaps the sources under a running scheduler: a poll in flight
// is not cancelled (it completes and its items are stored), an added source
// starts polling, a removed one stops, a changed one is polled with its new
// settings.
func TestScheduler_SetSources(t *testing.T) {
	body := gbkFeed(t, "慢", "更慢")
	hold := make(chan struct{})
	release := sync.OnceFunc(func() { close(hold) })
	var slowStarted atomic.Bool
	var mu sync.Mutex
	versions := map[string][]string{} // path → X-Version of each request
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		versions[r.URL.Path] = append(versions[r.URL.Path], r.Header.Get("X-Version"))
		mu.Unlock()
		if r.URL.Path == "/slow" {
			slowStarted.Store(true)
			<-hold
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write(body)
	}))
	defer ts.Close()
	requests := func(path string) []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), versions[path]...)
	}
	p, _ := newPoller(t, "slow", "gone", "changed", "added")
	src := func(slug string, interval time.Duration, version string) feeds.Source {
		return feeds.Source{Slug: slug, URL: ts.URL + "/" + slug, Interval: interval, Timeout: 30 * time.Second,
			Headers: map[string]string{"X-Version": version}}
	}

	var rmu sync.Mutex
	results := map[string][]*feeds.Result{}
	sched := &feeds.Scheduler{Poller: p, Concurrency: 4, OnResult: func(r *feeds.Result) {
		rmu.Lock()
		results[r.Source] = append(results[r.Source], r)
		rmu.Unlock()
	}}
	resultsOf := func(slug string) []*feeds.Result {
		rmu.Lock()
		defer rmu.Unlock()
		return append([]*feeds.Result(nil), results[slug]...)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		sched.Run(ctx, []feeds.Source{
			src("slow", time.Hour, "1"),
			src("gone", 20*time.Millisecond, "1"),
			src("changed", 20*time.Millisecond, "1"),
		})
		close(stopped)
	}()
	defer func() { release(); cancel(); <-stopped }() // however the test ends
	eventually(t, "the slow fetch in flight and the others polled", func() bool {
		return slowStarted.Load() && len(resultsOf("gone")) >= 2 && len(resultsOf("changed")) >= 2
	})

	sched.SetSources([]feeds.Source{
		src("slow", time.Hour, "2"),
		src("changed", 20*time.Millisecond, "2"),
		src("added", time.Hour, "1"),
	})
	eventually(t, "the added source polled", func() bool { return len(resultsOf("added")) == 1 })
	eventually(t, "the changed source polled with its new settings", func() bool {
		v := requests("/changed")
		return v[len(v)-1] == "2"
	})
	goneAfter := len(requests("/gone"))
	time.Sleep(200 * time.Millisecond) // ten of its intervals
	if n := len(requests("/gone")); n > goneAfter+1 {
		t.Errorf("the removed source was asked %d more times after it left (one poll in flight may finish)", n-goneAfter)
	}

	release()
	eventually(t, "the slow poll in flight during the swap finished", func() bool { return len(resultsOf("slow")) == 1 })
	r := resultsOf("slow")[0]
	if r.Err != nil || r.Counts.New != 2 {
		t.Errorf("the poll in flight during the swap: err %v, %d new items; want it completed and stored with 2 new", r.Err, r.Counts.New)
	}
	if v := requests("/slow"); len(v) != 1 {
		t.Errorf("the slow source was asked %d times, want once (its hour has not passed)", len(v))
	}
}

// A source removed while its poll is in flight is not rescheduled, and its
// late result is not reported; SetSources before Run wins over Run's list.
func TestScheduler_SetSourcesRemovesInFlight(t *testing.T) {
	body := gbkFeed(t, "慢")
	hold := make(chan struct{})
	release := sync.OnceFunc(func() { close(hold) })
	var asked atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		<-hold
		w.Write(body)
	}))
	defer ts.Close()
	p, db := newPoller(t, "slow", "never")
	var reported atomic.Int32
	sched := &feeds.Scheduler{Poller: p, Concurrency: 2, OnResult: func(*feeds.Result) { reported.Add(1) }}
	slow := feeds.Source{Slug: "slow", URL: ts.URL, Interval: 20 * time.Millisecond, Timeout: 30 * time.Second}
	sched.SetSources([]feeds.Source{slow})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		sched.Run(ctx, []feeds.Source{{Slug: "never", URL: ts.URL + "/never", Interval: time.Hour}})
		close(stopped)
	}()
	defer func() { release(); cancel(); <-stopped }()
	eventually(t, "the slow fetch in flight", func() bool { return asked.Load() == 1 })
	sched.SetSources(nil)
	release()
	eventually(t, "its items stored", func() bool {
		st, err := db.Sources(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if s.Slug == "slow" && s.Items == 1 {
				return true
			}
		}
		return false
	})
	time.Sleep(200 * time.Millisecond)
	if n := asked.Load(); n != 1 {
		t.Errorf("the removed source was asked %d times, want only the poll in flight", n)
	}
	if n := reported.Load(); n != 0 {
		t.Errorf("%d results reported for a source no longer configured", n)
	}
}

// onceLeaser leases each source once, and records the claims it is asked.
type onceLeaser struct {
	mu      sync.Mutex
	leased  map[string]bool
	perHost []int // PerHost of each claim, in order
}

func (l *onceLeaser) Claim(_ context.Context, c feeds.Claim) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.perHost = append(l.perHost, c.PerHost)
	var got []string
	for _, s := range c.Sources {
		if len(got) < c.N && !l.leased[s] {
			l.leased[s] = true
			got = append(got, s)
		}
	}
	return got, nil
}

func (l *onceLeaser) Renew(context.Context, []string, time.Duration) error { return nil }

func (l *onceLeaser) lastPerHost() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.perHost[len(l.perHost)-1]
}

// A reloaded concurrency reaches a running scheduler, leased or not: with
// one poll allowed, one source is fetched at a time; raised to three,
// three are. A reloaded per-host limit reaches the next claim.
func TestScheduler_SetConcurrency(t *testing.T) {
	for _, leased := range []bool{false, true} {
		name := map[bool]string{false: "local", true: "leased"}[leased]
		t.Run(name, func(t *testing.T) {
			body := gbkFeed(t, "慢")
			hold := make(chan struct{})
			release := sync.OnceFunc(func() { close(hold) })
			var inFlight atomic.Int32
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				inFlight.Add(1)
				defer inFlight.Add(-1)
				<-hold
				w.Header().Set("Content-Type", "application/rss+xml")
				w.Write(body)
			}))
			defer ts.Close()
			defer release() // before ts.Close: its handlers must return
			slugs := []string{"a", "b", "c", "d"}
			p, _ := newPoller(t, slugs...)
			p.Fetcher.SetPerHostLimit(4) // the scheduler's limit is the one tested
			var sources []feeds.Source
			for _, s := range slugs {
				sources = append(sources, feeds.Source{Slug: s, URL: ts.URL + "/" + s, Interval: time.Hour, Timeout: 30 * time.Second})
			}
			sched := &feeds.Scheduler{Poller: p, Concurrency: 1}
			leaser := &onceLeaser{leased: map[string]bool{}}
			if leased {
				sched.Leases, sched.PerHost = leaser, 4
			}
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan struct{})
			go func() { sched.Run(ctx, sources); close(stopped) }()
			defer func() { release(); cancel(); <-stopped }()

			eventually(t, "one fetch in flight", func() bool { return inFlight.Load() == 1 })
			time.Sleep(100 * time.Millisecond)
			if n := inFlight.Load(); n != 1 {
				t.Fatalf("%d fetches in flight with a concurrency of 1", n)
			}
			sched.SetConcurrency(3)
			sched.SetPerHost(2)
			eventually(t, "three fetches in flight after SetConcurrency(3)", func() bool { return inFlight.Load() == 3 })
			if leased {
				if got := leaser.lastPerHost(); got != 2 {
					t.Errorf("the claim after SetPerHost(2) asked PerHost %d", got)
				}
			}
		})
	}
}
