package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// MaxPolls is how many polls of each source the history keeps: at a
// 5-minute interval, the last 41 hours.
const MaxPolls = 500

// itemHoursKept is how far back the new-items counts go: the 30 days the
// pages draw, and a day or two of slack for time zones.
const itemHoursKept = 32 * 24 * time.Hour

// maxPollError bounds the error text kept per poll (in bytes; cut at a
// rune boundary).
const maxPollError = 1000

// PollOutcome is how a poll ended.
type PollOutcome string

// The outcomes of a poll.
const (
	PollOK          PollOutcome = "ok"           // a feed was read
	PollNotModified PollOutcome = "not_modified" // 304: nothing new
	PollError       PollOutcome = "error"
	// PollBackoff is an error by which the source asked us to wait: a 429,
	// or any answer with Retry-After.
	PollBackoff PollOutcome = "backoff"
)

// Poll is one poll of a source, as the history keeps it.
type Poll struct {
	Attempted    time.Time
	Duration     time.Duration
	Status       int // HTTP status; 0 when there was no answer
	Outcome      PollOutcome
	New, Updated int
	Error        string
}

// HourCount is how many new items of a source were first seen in the hour
// that begins at Hour.
type HourCount struct {
	Hour time.Time
	New  int
}

// outcomeOf classifies r.
func outcomeOf(r *feeds.Result) PollOutcome {
	var herr *feeds.HTTPError
	switch {
	case r.Err == nil && r.NotModified:
		return PollNotModified
	case r.Err == nil:
		return PollOK
	case errors.As(r.Err, &herr) && (herr.StatusCode == http.StatusTooManyRequests || !herr.RetryAfter.IsZero()):
		return PollBackoff
	default:
		return PollError
	}
}

// The statements of recordPoll, which SQLite's writer keeps prepared
// (writerQuery). The bound walks polls_source: all but the newest MaxPolls
// of a source (LIMIT -1 is SQLite's no limit, LIMIT ALL PostgreSQL's).
var (
	qInsertPoll = writerQuery(`INSERT INTO polls (source_id, attempted, duration_ms, status, outcome,
		new, updated, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	qDropPolls = writerQuery(`DELETE FROM polls WHERE id IN (SELECT id FROM polls
		WHERE source_id = ? ORDER BY attempted DESC, id DESC LIMIT -1 OFFSET ?)`)
	qDropPollsPG = `DELETE FROM polls WHERE id IN (SELECT id FROM polls
		WHERE source_id = ? ORDER BY attempted DESC, id DESC LIMIT ALL OFFSET ?)`
	qCountHour = writerQuery(`INSERT INTO item_hours (source_id, hour, n) VALUES (?, ?, ?)
		ON CONFLICT (source_id, hour) DO UPDATE SET n = item_hours.n + excluded.n`)
	qDropHours = writerQuery(`DELETE FROM item_hours WHERE source_id = ? AND hour < ?`)
)

// recordPoll adds r, which stored counts, to the source's poll history in
// tx, the transaction that saves r: the history never shows a poll whose
// result was not saved, nor misses one that was. It drops the source's
// polls beyond MaxPolls, and counts the new items in item_hours.
func (db *DB) recordPoll(ctx context.Context, tx *sql.Tx, srcID int64, r *feeds.Result, counts feeds.Counts) error {
	var msg string
	if r.Err != nil {
		msg = truncate(r.Err.Error(), maxPollError)
	}
	if _, err := db.txExec(ctx, tx, qInsertPoll, srcID, r.Attempted.Unix(), r.Duration.Milliseconds(), r.StatusCode, string(outcomeOf(r)),
		counts.New, counts.Updated, msg); err != nil {
		return fmt.Errorf("insert poll: %w", err)
	}
	dropPolls := qDropPolls
	if db.pg {
		dropPolls = qDropPollsPG
	}
	if _, err := db.txExec(ctx, tx, dropPolls, srcID, MaxPolls); err != nil {
		return fmt.Errorf("drop old polls: %w", err)
	}
	if err := db.notifyData(ctx, tx); err != nil {
		return err
	}
	if counts.New == 0 {
		return nil
	}
	now := db.Now() // the clock that stamps items.first_seen
	hour := now.Unix() / 3600
	if _, err := db.txExec(ctx, tx, qCountHour, srcID, hour, counts.New); err != nil {
		return fmt.Errorf("count new items: %w", err)
	}
	if _, err := db.txExec(ctx, tx, qDropHours, srcID, now.Add(-itemHoursKept).Unix()/3600); err != nil {
		return fmt.Errorf("drop old item counts: %w", err)
	}
	return nil
}

// pollQueue holds the history rows of healthy 304s until a background
// writer stores them: such a poll changes nothing else, and must not wait
// for the writer while another source's big batch holds it (Save checks it
// on a reader for that reason). Reads of the history include the queue.
type pollQueue struct {
	mu      sync.Mutex
	pending []feeds.Result // without their feeds
	err     error          // of the last write, told by the next 304's Save
	started bool
	closed  bool
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

// recordNotModified queues the history row of a 304 from a healthy source
// for the background writer, started on first use and stopped by Close. It
// returns the error of the queue's last write, if any.
func (db *DB) recordNotModified(ctx context.Context, r *feeds.Result) error {
	q := &db.notModified
	c := *r
	c.Feed = nil
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return fmt.Errorf("record poll of %s: database closed", r.Source)
	}
	q.pending = append(q.pending, c)
	err := q.err
	q.err = nil
	if !q.started {
		q.started = true
		q.wake, q.stop, q.done = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
		go db.writeQueuedPolls()
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default: // the writer is awake already
	}
	return err
}

// writeQueuedPolls stores queued 304s whenever some are queued, until Close.
func (db *DB) writeQueuedPolls() {
	q := &db.notModified
	defer close(q.done)
	for {
		select {
		case <-q.wake:
			db.flushPolls()
		case <-q.stop:
			db.flushPolls()
			return
		}
	}
}

// flushPolls stores the queued 304s in one transaction. They stay queued,
// and so shown, until it commits; a failed batch is dropped and its error
// kept for the next 304's Save.
func (db *DB) flushPolls() {
	q := &db.notModified
	q.mu.Lock()
	batch := slices.Clone(q.pending)
	q.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	err := db.writePolls(context.Background(), batch)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending = slices.Delete(q.pending, 0, len(batch)) // only this goroutine removes
	if err != nil {
		q.err = err
	}
}

func (db *DB) writePolls(ctx context.Context, batch []feeds.Result) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record %d polls: %w", len(batch), err)
	}
	defer tx.Rollback()
	for i := range batch {
		r := &batch[i]
		// The row of the URL polled, as saveTx finds it: a reload may have
		// renamed or swapped the slug while the 304 was queued. A stale
		// one (its URL no source's now) is dropped, not the batch.
		src, ok, err := db.resultSource(ctx, tx, r)
		if err != nil {
			return fmt.Errorf("record poll of %s: %w", r.Source, err)
		}
		if !ok {
			continue
		}
		if err := db.recordPoll(ctx, tx, src.id, r, feeds.Counts{}); err != nil {
			return fmt.Errorf("record poll of %s: %w", r.Source, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record %d polls: commit: %w", len(batch), err)
	}
	return nil
}

// closePolls stores what is queued and stops the background writer.
func (db *DB) closePolls() {
	q := &db.notModified
	q.mu.Lock()
	started, closed := q.started, q.closed
	q.closed = true
	q.mu.Unlock()
	if started && !closed {
		close(q.stop)
		<-q.done
	}
}

// queuedPolls are the queued polls of source (every source's if empty), by
// slug, newest first.
func (db *DB) queuedPolls(source string) map[string][]Poll {
	q := &db.notModified
	q.mu.Lock()
	defer q.mu.Unlock()
	out := map[string][]Poll{}
	for i := len(q.pending) - 1; i >= 0; i-- {
		r := &q.pending[i]
		if source == "" || r.Source == source {
			out[r.Source] = append(out[r.Source], Poll{Attempted: r.Attempted.Truncate(time.Second), Duration: r.Duration.Truncate(time.Millisecond),
				Status: r.StatusCode, Outcome: PollNotModified})
		}
	}
	return out
}

// withQueued merges the queued polls q into stored (both newest first),
// keeping the newest limit.
func withQueued(stored, q []Poll, limit int) []Poll {
	if len(q) == 0 {
		return stored
	}
	// A batch just committed is briefly both stored and queued.
	q = slices.DeleteFunc(slices.Clone(q), func(p Poll) bool {
		return slices.ContainsFunc(stored, func(s Poll) bool { return s.Attempted.Equal(p.Attempted) && s.Outcome == p.Outcome })
	})
	out := append(q, stored...)
	slices.SortStableFunc(out, func(a, b Poll) int { return b.Attempted.Compare(a.Attempted) })
	return out[:min(len(out), limit)]
}

// pollColumns are the columns scanPoll reads, from polls p.
const pollColumns = `p.attempted, p.duration_ms, p.status, p.outcome, p.new, p.updated, p.error`

func scanPoll(rows *sql.Rows, dest ...any) (Poll, error) {
	var (
		p             Poll
		attempted, ms int64
		outcome       string
	)
	err := rows.Scan(append(dest, &attempted, &ms, &p.Status, &outcome, &p.New, &p.Updated, &p.Error)...)
	p.Attempted, p.Duration, p.Outcome = unixTime(attempted), time.Duration(ms)*time.Millisecond, PollOutcome(outcome)
	return p, err
}

// Polls returns the newest limit polls of source, newest first.
func (db *DB) Polls(ctx context.Context, source string, limit int) ([]Poll, error) {
	// The queue first: a row written meanwhile is then read twice, not
	// missed (withQueued drops the copy).
	queued := db.queuedPolls(source)[source]
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT `+pollColumns+`
		FROM polls p JOIN sources s ON s.id = p.source_id
		WHERE s.slug = ? ORDER BY p.attempted DESC, p.id DESC LIMIT ?`), source, limit)
	if err != nil {
		return nil, fmt.Errorf("query polls of %s: %w", source, err)
	}
	defer rows.Close()
	var out []Poll
	for rows.Next() {
		p, err := scanPoll(rows)
		if err != nil {
			return nil, fmt.Errorf("scan poll of %s: %w", source, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query polls of %s: %w", source, err)
	}
	return withQueued(out, queued, limit), nil
}

// RecentPolls returns the newest limit polls of every source that has any,
// by slug, newest first.
func (db *DB) RecentPolls(ctx context.Context, limit int) (map[string][]Poll, error) {
	queued := db.queuedPolls("") // first, as in Polls
	// For each source, a range of polls_source from the time of its
	// limit-th newest poll (the scalar subquery, once per source; 0 when
	// it has fewer). Polls at the same second may add a few: cut below.
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT s.slug, `+pollColumns+`
		FROM sources s JOIN polls p ON p.source_id = s.id
		WHERE p.attempted >= COALESCE((SELECT attempted FROM polls WHERE source_id = s.id
			ORDER BY attempted DESC, id DESC LIMIT 1 OFFSET ?), 0)
		ORDER BY s.id, p.attempted DESC, p.id DESC`), limit-1)
	if err != nil {
		return nil, fmt.Errorf("query recent polls: %w", err)
	}
	defer rows.Close()
	out := map[string][]Poll{}
	for rows.Next() {
		var slug string
		p, err := scanPoll(rows, &slug)
		if err != nil {
			return nil, fmt.Errorf("scan recent poll: %w", err)
		}
		if len(out[slug]) < limit {
			out[slug] = append(out[slug], p)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query recent polls: %w", err)
	}
	for slug, q := range queued {
		out[slug] = withQueued(out[slug], q, limit)
	}
	return out, nil
}

// NewItems returns, by source slug, the hours since since in which new
// items were first seen, oldest first.
func (db *DB) NewItems(ctx context.Context, since time.Time) (map[string][]HourCount, error) {
	rows, err := db.r.QueryContext(ctx, db.q(`SELECT s.slug, h.hour, h.n
		FROM item_hours h JOIN sources s ON s.id = h.source_id
		WHERE h.hour >= ? ORDER BY h.source_id, h.hour`), since.Unix()/3600)
	if err != nil {
		return nil, fmt.Errorf("query new items per hour: %w", err)
	}
	defer rows.Close()
	out := map[string][]HourCount{}
	for rows.Next() {
		var (
			slug string
			hour int64
			n    int
		)
		if err := rows.Scan(&slug, &hour, &n); err != nil {
			return nil, fmt.Errorf("scan new items per hour: %w", err)
		}
		out[slug] = append(out[slug], HourCount{Hour: time.Unix(hour*3600, 0).UTC(), New: n})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query new items per hour: %w", err)
	}
	return out, nil
}

// truncate cuts s to at most n bytes at a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
