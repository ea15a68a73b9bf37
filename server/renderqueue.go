package server

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// renderQueue bounds the renders of archive pages (pages of a cursor, which
// any client may ask for by the thousand, each new to the cache) so that
// they cannot take the CPU from what is served from the cache:
//
//   - at most cap(slots) renders run at once, and each slot rests after a
//     render for as long as share says (a render of 3 ms at share ½ keeps
//     its slot 3 ms more), so that renders use at most share of a core per
//     slot however many clients ask;
//   - a client (a remote IP address) has at most one render waiting for a
//     slot or running; its other requests wait behind it, so a client
//     walking cursors as fast as it can waits for itself, while another
//     client's page is next in line for a slot.
//
// A slot is taken by the goroutine of the request that renders, in the
// order the requests asked (Go's channel sends queue in order).
//
// It is safe for concurrent use; newRenderQueue makes one.
type renderQueue struct {
	slots chan struct{}
	share float64                     // of a core each slot may use, in (0, 1]
	now   func() time.Time            // tests set both
	after func(time.Duration, func()) // runs f after d

	mu       sync.Mutex
	clients  map[string]*clientTurn // clients with a request in run
	waiting  int                    // requests waiting for a slot
	rendered int                    // renders done
}

// clientTurn is one client's place in the queue.
type clientTurn struct {
	turn  chan struct{} // holds a token while the client's render waits for a slot or runs
	refs  int           // requests of this client in run
	gated int           // of which waiting for the turn
}

// renderShare is the share of a core each render slot may use: with half
// the cores as slots (renderSlots), archive renders take at most an eighth
// of the machine, however many cursors are asked for. Measured on 2 cores
// (BENCHMARKS.md): at ½ the hot page's p99 under a flood of cursors was
// still 2.7× its unloaded p99 in one run of three, at ¼ within 1.2× in all.
const renderShare = 0.25

func newRenderQueue(slots int, share float64) *renderQueue {
	return &renderQueue{
		slots: make(chan struct{}, slots), share: share,
		now: time.Now, after: func(d time.Duration, f func()) { time.AfterFunc(d, f) },
		clients: map[string]*clientTurn{},
	}
}

// run calls render in a slot, after the client's earlier renders, and
// returns once it has returned. It returns ctx's error, and render is not
// called, if ctx ends while the request waits (the client went away).
func (q *renderQueue) run(ctx context.Context, client string, render func()) error {
	q.mu.Lock()
	c := q.clients[client]
	if c == nil {
		c = &clientTurn{turn: make(chan struct{}, 1)}
		q.clients[client] = c
	}
	c.refs++
	c.gated++
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		if c.refs--; c.refs == 0 {
			delete(q.clients, client)
		}
		q.mu.Unlock()
	}()

	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		q.mu.Lock()
		c.gated--
		q.mu.Unlock()
		return fmt.Errorf("waiting for the render of the client's previous page: %w", ctx.Err())
	}
	defer func() { <-c.turn }()

	q.mu.Lock()
	c.gated--
	q.waiting++
	q.mu.Unlock()
	var err error
	select {
	case q.slots <- struct{}{}:
	case <-ctx.Done():
		err = fmt.Errorf("waiting for a render slot: %w", ctx.Err())
	}
	q.mu.Lock()
	q.waiting--
	q.mu.Unlock()
	if err != nil {
		return err
	}

	start := q.now()
	defer func() { // even if render panics: the slot comes back
		q.mu.Lock()
		q.rendered++
		q.mu.Unlock()
		release := func() { <-q.slots }
		if rest := time.Duration(float64(q.now().Sub(start)) * (1/q.share - 1)); rest > 0 {
			q.after(rest, release)
		} else {
			release()
		}
	}()
	render()
	return nil
}

// state is what the queue holds: requests waiting behind their client's
// earlier render, requests waiting for a slot, and renders done.
func (q *renderQueue) state() (gated, waiting, rendered int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, c := range q.clients {
		gated += c.gated
	}
	return gated, q.waiting, q.rendered
}
