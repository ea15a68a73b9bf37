package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
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

// recordPoll adds r, which stored counts, to the source's poll history in
// tx, the transaction that saves r: the history never shows a poll whose
// result was not saved, nor misses one that was. It drops the source's
// polls beyond MaxPolls, and counts the new items in item_hours.
func (db *DB) recordPoll(ctx context.Context, tx *sql.Tx, srcID int64, r *feeds.Result, counts feeds.Counts) error {
	var msg string
	if r.Err != nil {
		msg = truncate(r.Err.Error(), maxPollError)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO polls (source_id, attempted, duration_ms, status, outcome,
		new, updated, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		srcID, r.Attempted.Unix(), r.Duration.Milliseconds(), r.StatusCode, string(outcomeOf(r)),
		counts.New, counts.Updated, msg); err != nil {
		return fmt.Errorf("insert poll: %w", err)
	}
	// The subquery is NULL, and nothing goes, while MaxPolls or fewer are
	// kept. Both walk polls_source.
	if _, err := tx.ExecContext(ctx, `DELETE FROM polls WHERE source_id = ? AND id <= (
		SELECT id FROM polls WHERE source_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
		srcID, srcID, MaxPolls); err != nil {
		return fmt.Errorf("drop old polls: %w", err)
	}
	if counts.New == 0 {
		return nil
	}
	now := db.Now() // the clock that stamps items.first_seen
	hour := now.Unix() / 3600
	if _, err := tx.ExecContext(ctx, `INSERT INTO item_hours (source_id, hour, n) VALUES (?, ?, ?)
		ON CONFLICT (source_id, hour) DO UPDATE SET n = n + excluded.n`, srcID, hour, counts.New); err != nil {
		return fmt.Errorf("count new items: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM item_hours WHERE source_id = ? AND hour < ?`,
		srcID, now.Add(-itemHoursKept).Unix()/3600); err != nil {
		return fmt.Errorf("drop old item counts: %w", err)
	}
	return nil
}

// recordNotModified records a 304 from a healthy source, which changes
// nothing else, in a transaction of its own.
func (db *DB) recordNotModified(ctx context.Context, r *feeds.Result) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record poll of %s: %w", r.Source, err)
	}
	defer tx.Rollback()
	var srcID int64
	if err := tx.QueryRowContext(ctx, `SELECT id FROM sources WHERE slug = ?`, r.Source).Scan(&srcID); err != nil {
		return fmt.Errorf("record poll of %s: find source: %w", r.Source, err)
	}
	if err := db.recordPoll(ctx, tx, srcID, r, feeds.Counts{}); err != nil {
		return fmt.Errorf("record poll of %s: %w", r.Source, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record poll of %s: commit: %w", r.Source, err)
	}
	return nil
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
	rows, err := db.r.QueryContext(ctx, `SELECT `+pollColumns+`
		FROM polls p JOIN sources s ON s.id = p.source_id
		WHERE s.slug = ? ORDER BY p.id DESC LIMIT ?`, source, limit)
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
	return out, nil
}

// RecentPolls returns the newest limit polls of every source that has any,
// by slug, newest first.
func (db *DB) RecentPolls(ctx context.Context, limit int) (map[string][]Poll, error) {
	// For each source, a range of polls_source from its limit-th newest
	// poll (the scalar subquery, once per source; 0 when it has fewer).
	rows, err := db.r.QueryContext(ctx, `SELECT s.slug, `+pollColumns+`
		FROM sources s JOIN polls p ON p.source_id = s.id
		WHERE p.id >= COALESCE((SELECT id FROM polls WHERE source_id = s.id
			ORDER BY id DESC LIMIT 1 OFFSET ?), 0)
		ORDER BY s.id, p.id DESC`, limit-1)
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
		out[slug] = append(out[slug], p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query recent polls: %w", err)
	}
	return out, nil
}

// NewItems returns, by source slug, the hours since since in which new
// items were first seen, oldest first.
func (db *DB) NewItems(ctx context.Context, since time.Time) (map[string][]HourCount, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT s.slug, h.hour, h.n
		FROM item_hours h JOIN sources s ON s.id = h.source_id
		WHERE h.hour >= ? ORDER BY h.source_id, h.hour`, since.Unix()/3600)
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
