package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/storage"
)

// gatedStore holds every query for an archive page (one with a cursor)
// until the test lets it go, and records which cursor each asked for, in
// the order they reached the database.
type gatedStore struct {
	*storage.DB
	mu      sync.Mutex
	order   []int64 // ids of the cursors, as queried
	release chan struct{}
}

func (s *gatedStore) Entries(ctx context.Context, q storage.EntryQuery) ([]storage.Entry, error) {
	if q.Before != nil {
		s.mu.Lock()
		s.order = append(s.order, q.Before.ID)
		s.mu.Unlock()
		<-s.release
	}
	return s.DB.Entries(ctx, q)
}

func (s *gatedStore) queried() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.order)
}

// waitFor waits until cond holds (the goroutines of the test reached their
// place in the queue), failing the test with what the queue holds if it
// never does.
func waitFor(t *testing.T, q *renderQueue, what string, cond func(gated, waiting, rendered int) bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		g, w, r := q.state()
		if cond(g, w, r) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened (queue: %d waiting behind their client, %d waiting for a slot, %d rendered)", what, g, w, r)
		}
	}
}

// archiveGet asks for the archive page before=…{id} of the markets feed
// as the client at ip, on ctx.
func archiveGet(ctx context.Context, srv *Server, ip string, id int) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("/feeds/markets.atom?before=1767225600.%d", id), nil)
	req.RemoteAddr = ip + ":40000"
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec
}

// A client asking for many archive pages at once (a crawler, a flood)
// waits for itself: another client's page is rendered next, not after
// the whole flood.
func TestRenderQueue_OneClientsFloodDoesNotDelayAnother(t *testing.T) {
	plain, db := newTestServer(t)
	store := &gatedStore{DB: db, release: make(chan struct{})}
	srv := New(store, nil, nil, plain.opts.Load())
	slots := renderSlots
	renderSlots = 1
	srv.cache.init()
	renderSlots = slots

	var wg sync.WaitGroup
	codes := make(chan int, 5)
	ask := func(ip string, id int) {
		wg.Go(func() { codes <- archiveGet(context.Background(), srv, ip, id).Code })
	}
	ask("192.0.2.1", 1) // the flood's first page takes the only worker
	for deadline := time.Now().Add(10 * time.Second); len(store.queried()) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first archive page never reached the database")
		}
	}
	ask("192.0.2.1", 2)
	ask("192.0.2.1", 3)
	waitFor(t, srv.cache.queue, "the flood's next two pages queue", func(g, s, _ int) bool { return g+s == 2 })
	ask("198.51.100.7", 4) // another reader, after the flood
	waitFor(t, srv.cache.queue, "the other reader's page queues", func(g, s, _ int) bool { return g+s == 3 })
	close(store.release)
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusOK {
			t.Errorf("an archive page answered %d", code)
		}
	}
	order := store.queried()
	if len(order) != 4 || order[1] != 4 {
		t.Errorf("archive pages reached the database in the order %v; want the other client's (4) second, before the rest of the flood", order)
	}
}

// A client that goes away while its archive page waits for a render slot
// costs no render, and is not logged as an error of the server's.
func TestRenderQueue_ClientGoneWhileWaiting(t *testing.T) {
	plain, db := newTestServer(t)
	store := &gatedStore{DB: db, release: make(chan struct{})}
	var log strings.Builder
	srv := New(store, nil, slog.New(slog.NewTextHandler(&log, nil)), plain.opts.Load())

	var wg sync.WaitGroup
	wg.Go(func() { archiveGet(context.Background(), srv, "192.0.2.1", 1) })
	for deadline := time.Now().Add(10 * time.Second); len(store.queried()) == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first archive page never reached the database")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan struct{})
	go func() { archiveGet(ctx, srv, "192.0.2.1", 2); close(gone) }()
	srv.cache.init()
	waitFor(t, srv.cache.queue, "the second page queues behind the first", func(g, _, _ int) bool { return g == 1 })
	cancel()
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		close(store.release)
		t.Fatal("a request whose client went away still waits for its turn")
	}
	close(store.release)
	wg.Wait()
	if order := store.queried(); !slices.Equal(order, []int64{1}) {
		t.Errorf("the database was asked for the pages %v; want only 1 (the other's client left before its turn)", order)
	}
	if strings.Contains(log.String(), "level=ERROR") {
		t.Errorf("a client that went away was logged as an error:\n%s", log.String())
	}
	if g, s, _ := srv.cache.queue.state(); g != 0 || s != 0 {
		t.Errorf("the queue still holds %d + %d requests", g, s)
	}
	// Its page is not left half-made in the cache: asked again, it renders.
	if rec := archiveGet(context.Background(), srv, "192.0.2.1", 2); rec.Code != http.StatusOK {
		t.Errorf("the page of the client that left, asked again: %d", rec.Code)
	}
}

// Renders use at most their share of a core: after a render, its slot
// rests (1/share - 1) times as long as the render took before the next
// render may start, whoever asks.
func TestRenderQueue_RendersWithinTheirShare(t *testing.T) {
	q := newRenderQueue(1, 0.25)
	var mu sync.Mutex
	clock := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var rests []time.Duration
	var release []func()
	q.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	q.after = func(d time.Duration, f func()) {
		mu.Lock()
		defer mu.Unlock()
		rests = append(rests, d)
		release = append(release, f)
	}
	render := func() { mu.Lock(); clock = clock.Add(30 * time.Millisecond); mu.Unlock() }

	if err := q.run(context.Background(), "192.0.2.1", render); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(rests) != 1 || rests[0] != 90*time.Millisecond {
		t.Errorf("after a render of 30 ms at a quarter of a core, the slot rests %v; want [90ms]", rests)
	}
	mu.Unlock()
	done := make(chan error)
	go func() { done <- q.run(context.Background(), "198.51.100.7", render) }()
	waitFor(t, q, "another client's render waits for the resting slot", func(_, w, r int) bool { return w == 1 && r == 1 })
	mu.Lock()
	release[0]()
	mu.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, _, r := q.state(); r != 2 {
		t.Errorf("%d renders done, want 2", r)
	}
}
