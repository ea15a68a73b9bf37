package storage

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// SQLite has one writer, so concurrent polls' Saves wait for it in turn.
// Rather than one transaction each, the Saves waiting when the writer
// frees up (and, when they come together, those that arrive within
// groupDelay of the last commit) go in one plain transaction (group
// commit), and Save returns only once it is committed. What that saves is per transaction: the pages
// of the indexes on items (updated, the story key hashes: one random leaf
// per item) that every transaction dirtied and wrote to the WAL again, and
// a commit each. A cold poll of 500 sources × 50 items wrote 24 KB per
// item one transaction a poll.
//
// A poll's items and validators are still saved together or not at all:
// when one Save of a group fails, the whole transaction is rolled back,
// that Save is told its error, and the group is written again without it.
// Savepoints around each Save would keep the others' work instead, but
// they copied every page a Save first touched into a sub-journal: a fifth
// of a cold poll's CPU, paid by every group for a failure that is rare.
// saveTx changes nothing outside the transaction on SQLite (no cache, no
// counter: Save counts a published change once its group committed), so a
// Save written twice is as if written once.

// Limits of one group: enough to amortise a commit, small enough that the
// writer is never held long (a group of 16 polls of 50 items takes tens of
// milliseconds).
const (
	maxGroupSaves = 16
	maxGroupItems = 2000
)

// GroupSaves is how many Saves one commit may take together: on SQLite a
// group's (they hold their caller until it commits), on PostgreSQL none
// (a transaction per Save). A caller bounding the Saves it has waiting
// leaves room for this many beyond its own bound, so that Saves arriving
// while a group is written still find room.
func (db *DB) GroupSaves() int {
	if db.pg {
		return 0
	}
	return maxGroupSaves
}

// groupDelay is how long after a commit the next group waits for more
// Saves when they arrive together. Without it a group is what arrived
// while the last one was written: with savepoints gone a commit takes a
// few milliseconds, so groups of one or two polls, each rewriting the
// index pages of the last (a cold poll of 500 × 50 wrote 12–14 KB per
// item that way, 7 with 50 ms; 100 and 200 ms bought only 0.3 KB more). No
// transaction is open meanwhile: readers and the other Saves' fetches go
// on. A Save alone (nothing else pending or arriving) never waits.
const groupDelay = 50 * time.Millisecond

// moreSavesKey marks the context of a Save whose caller has more to send
// while it waits (MoreSaves).
type moreSavesKey struct{}

// MoreSaves returns ctx marked for a Save whose caller sends more Saves
// while this one waits for the writer (a one-shot poll hands its fetch
// slot to the next source): only a group made of such Saves waits
// groupDelay for company. Any unmarked Save in the group ends the wait:
// a one-shot poll's last Save (the last group waited 50 ms with both
// cores idle), and every Save of serve's scheduler, which holds a poll's
// slot until its Save returns, so no more than its concurrency ever wait
// (with every group waiting, its first round of 10,000 sources took 3× as
// long).
func MoreSaves(ctx context.Context) context.Context {
	return context.WithValue(ctx, moreSavesKey{}, true)
}

// saveRequest is one Save waiting for a group.
type saveRequest struct {
	ctx       context.Context
	r         *feeds.Result
	more      bool // MoreSaves: others follow it
	saved     feeds.Saved
	published bool
	err       error
	done      chan struct{}
}

// saveGroups queues the Saves waiting for the writer.
type saveGroups struct {
	mu      sync.Mutex
	pending []*saveRequest
	writing bool // a goroutine is writing groups
	// crowded says the last group had company: it held several Saves,
	// or others arrived while it was written. The next group then waits
	// for more until groupDelay after that one committed (committed).
	crowded   bool
	committed time.Time
	// arrived wakes a writer waiting for more Saves.
	arrived chan struct{}
}

// saveGrouped saves r within a group and returns once its group is
// committed. The first Save to find nobody writing writes groups until
// its own is done; if others are then still waiting, a goroutine goes on
// writing them.
func (db *DB) saveGrouped(ctx context.Context, r *feeds.Result) (feeds.Saved, bool, error) {
	more, _ := ctx.Value(moreSavesKey{}).(bool)
	req := &saveRequest{ctx: ctx, r: r, more: more, done: make(chan struct{})}
	g := &db.groups
	g.mu.Lock()
	g.pending = append(g.pending, req)
	lead := !g.writing
	g.writing = true
	if g.arrived == nil {
		g.arrived = make(chan struct{}, 1)
	}
	arrived := g.arrived
	g.mu.Unlock()
	select {
	case arrived <- struct{}{}:
	default: // already told
	}
	if lead {
		db.writeGroups(req.done)
	}
	<-req.done
	return req.saved, req.published, req.err
}

// writeGroups writes groups of pending Saves until until is closed, then
// hands what is still pending to a goroutine.
func (db *DB) writeGroups(until chan struct{}) {
	g := &db.groups
	for {
		select {
		case <-until:
			g.mu.Lock()
			if len(g.pending) == 0 {
				g.writing = false
				g.mu.Unlock()
				return
			}
			g.mu.Unlock()
			go db.writeGroups(nil)
			return
		default:
		}
		g.mu.Lock()
		n, full := g.take()
		if g.crowded && !full && n > 0 {
			// Saves arrive together: wait for more, up to groupDelay
			// after the last commit, rather than commit a few at a time.
			deadline, arrived := g.committed.Add(groupDelay), g.arrived
			for !full && time.Now().Before(deadline) {
				g.mu.Unlock()
				t := time.NewTimer(time.Until(deadline))
				select {
				case <-arrived:
				case <-t.C:
				}
				t.Stop()
				g.mu.Lock()
				n, full = g.take()
			}
		}
		group := g.pending[:n:n]
		g.pending = g.pending[n:]
		if n == 0 {
			// until is nil: the goroutine of a finished leader.
			g.writing = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		db.writeGroup(group)
		g.mu.Lock()
		g.crowded = n > 1 || len(g.pending) > 0
		g.committed = time.Now()
		g.mu.Unlock()
	}
}

// take says how many pending Saves the next group takes, and whether
// that is a full group, or one not worth waiting for: a Save in it was
// sent without MoreSaves. g.mu is held.
func (g *saveGroups) take() (n int, full bool) {
	items, more := 0, true
	for n < len(g.pending) && n < maxGroupSaves && (n == 0 || items < maxGroupItems) {
		if f := g.pending[n].r.Feed; f != nil {
			items += len(f.Items)
		}
		more = more && g.pending[n].more
		n++
	}
	return n, !more || n == maxGroupSaves || items >= maxGroupItems
}

// writeGroup saves the requests of group in one transaction, and tells
// each its outcome once committed. A request that fails is told its error
// at once and the others are written again in a new transaction, without
// it: nothing of a failed Save stays, as if it had its own transaction.
func (db *DB) writeGroup(group []*saveRequest) {
	// The group's transaction outlives any one poll's context: a Save
	// whose context is done is left out, never the others with it.
	ctx := context.WithoutCancel(group[0].ctx)
	live := slices.Clone(group)
	for {
		live = slices.DeleteFunc(live, func(req *saveRequest) bool {
			if req.err = req.ctx.Err(); req.err != nil {
				close(req.done)
				return true
			}
			return false
		})
		if len(live) == 0 {
			return
		}
		failed, err := db.tryGroup(ctx, live)
		if err != nil {
			// The transaction itself failed: no Save of it was stored.
			for _, req := range live {
				req.saved, req.published, req.err = feeds.Saved{}, false, err
				close(req.done)
			}
			return
		}
		if failed < 0 {
			for _, req := range live {
				close(req.done)
			}
			return
		}
		// Rolled back: told its error, which no other Save shares.
		req := live[failed]
		req.saved, req.published = feeds.Saved{}, false
		close(req.done)
		live = slices.Delete(live, failed, failed+1)
	}
}

// tryGroup writes live in one transaction and commits it. It returns the
// index of the first request that failed (its err set, the transaction
// rolled back: the group is to be written again without it), or -1 once
// committed, every request's outcome set; err is the transaction's own
// failure (begin, the published counter, commit), every request's then.
func (db *DB) tryGroup(ctx context.Context, live []*saveRequest) (failed int, err error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return -1, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	published := false
	for i, req := range live {
		req.saved, req.published, req.err = db.saveTx(ctx, tx, req.r)
		if req.err != nil {
			return i, nil
		}
		published = published || req.published
	}
	if published {
		if err := db.bumpPublished(ctx, tx); err != nil {
			return -1, err
		}
	}
	if err := tx.Commit(); err != nil {
		return -1, fmt.Errorf("commit: %w", err)
	}
	return -1, nil
}
