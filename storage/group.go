package storage

import (
	"context"
	"fmt"
	"sync"

	"github.com/feedrelay/feedrelay/feeds"
)

// SQLite has one writer, so concurrent polls' Saves wait for it in turn.
// Rather than one transaction each, the Saves waiting when the writer
// frees up go in one transaction (group commit), each under its own
// savepoint: a poll's items and validators are still saved together or
// not at all, and Save still returns only once they are committed. What
// that saves is per transaction: the pages of the indexes on items
// (updated, url_key, title_key: one random leaf per item) that every
// transaction dirtied and wrote to the WAL again, and a commit each. A
// cold poll of 500 sources × 50 items wrote 24 KB per item that way.

// Limits of one group: enough to amortise a commit, small enough that the
// writer is never held long (a group of 16 polls of 50 items takes tens of
// milliseconds).
const (
	maxGroupSaves = 16
	maxGroupItems = 2000
)

// saveRequest is one Save waiting for a group.
type saveRequest struct {
	ctx       context.Context
	r         *feeds.Result
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
}

// saveGrouped saves r within a group and returns once its group is
// committed. The first Save to find nobody writing writes groups until
// its own is done; if others are then still waiting, a goroutine goes on
// writing them.
func (db *DB) saveGrouped(ctx context.Context, r *feeds.Result) (feeds.Saved, bool, error) {
	req := &saveRequest{ctx: ctx, r: r, done: make(chan struct{})}
	g := &db.groups
	g.mu.Lock()
	g.pending = append(g.pending, req)
	lead := !g.writing
	g.writing = true
	g.mu.Unlock()
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
		n, items := 0, 0
		for n < len(g.pending) && n < maxGroupSaves && (n == 0 || items < maxGroupItems) {
			if f := g.pending[n].r.Feed; f != nil {
				items += len(f.Items)
			}
			n++
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
	}
}

// writeGroup saves each request of group under its own savepoint in one
// transaction, and tells each its outcome once committed.
func (db *DB) writeGroup(group []*saveRequest) {
	finish := func(err error) {
		for _, req := range group {
			if err != nil && req.err == nil {
				req.saved, req.published, req.err = feeds.Saved{}, false, err
			}
			close(req.done)
		}
	}
	// The group's transaction outlives any one poll's context: a Save
	// whose context is done is skipped below, never the others' with it.
	ctx := context.WithoutCancel(group[0].ctx)
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		finish(fmt.Errorf("begin: %w", err))
		return
	}
	defer tx.Rollback()
	for _, req := range group {
		if err := req.ctx.Err(); err != nil {
			req.err = err
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT save"); err != nil {
			finish(fmt.Errorf("savepoint: %w", err))
			return
		}
		req.saved, req.published, req.err = db.saveTx(ctx, tx, req.r)
		end := []string{"RELEASE save"}
		if req.err != nil {
			// Nothing of a failed Save stays, as if it had its own transaction.
			req.saved, req.published = feeds.Saved{}, false
			end = []string{"ROLLBACK TO save", "RELEASE save"}
		}
		for _, q := range end {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				finish(fmt.Errorf("%s: %w", q, err))
				return
			}
		}
	}
	published := false
	for _, req := range group {
		published = published || req.published
	}
	if published {
		if err := db.bumpPublished(ctx, tx); err != nil {
			finish(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		finish(fmt.Errorf("commit: %w", err))
		return
	}
	finish(nil)
}
