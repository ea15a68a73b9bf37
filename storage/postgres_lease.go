package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Lease is a source claimed by one instance until Expires (the database's
// clock): no other instance polls it before then.
type Lease struct {
	SourceID int64
	Slug     string
	URL      string
	Expires  time.Time
}

// claimDue leases to owner at most n sources that are due (next_poll has
// passed) and not leased, or whose lease has expired (its holder died or
// hangs), oldest due first, for ttl. Instances claiming at the same time
// never get the same source: each locks the rows it picks, skipping those
// another has locked (FOR UPDATE SKIP LOCKED), and a row locked and
// leased by another meanwhile is re-checked against the WHERE once its
// transaction commits, and no longer matches.
func claimDue(ctx context.Context, db *sql.DB, owner string, ttl time.Duration, n int) ([]Lease, error) {
	// The subquery walks sources_next_poll; ttl goes as microseconds, the
	// resolution of an interval.
	rows, err := db.QueryContext(ctx, `
		UPDATE sources SET lease_owner = $1, lease_expires = now() + $2 * interval '1 microsecond'
		WHERE id IN (
			SELECT id FROM sources
			WHERE next_poll <= now() AND (lease_owner = '' OR lease_expires <= now())
			ORDER BY next_poll, id
			LIMIT $3
			FOR UPDATE SKIP LOCKED)
		RETURNING id, slug, url, lease_expires`, owner, ttl.Microseconds(), n)
	if err != nil {
		return nil, fmt.Errorf("claim due sources for %s: %w", owner, err)
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		var l Lease
		if err := rows.Scan(&l.SourceID, &l.Slug, &l.URL, &l.Expires); err != nil {
			return nil, fmt.Errorf("claim due sources for %s: %w", owner, err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim due sources for %s: %w", owner, err)
	}
	return out, nil
}

// releaseLease ends owner's lease of source id and sets its next poll
// after from now, in tx: the poll's own transaction, with its items and
// validators, so that a poll is recorded whole or not at all. It reports
// false when owner no longer holds the lease (it expired and another
// instance claimed the source): the caller should then roll back, since
// the other instance is polling the source.
func releaseLease(ctx context.Context, tx *sql.Tx, owner string, id int64, after time.Duration) (bool, error) {
	res, err := tx.ExecContext(ctx, `
		UPDATE sources SET lease_owner = '', lease_expires = '-infinity',
			next_poll = now() + $3 * interval '1 microsecond'
		WHERE id = $1 AND lease_owner = $2`, id, owner, after.Microseconds())
	if err != nil {
		return false, fmt.Errorf("release lease of source %d by %s: %w", id, owner, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("release lease of source %d by %s: %w", id, owner, err)
	}
	return n == 1, nil
}
