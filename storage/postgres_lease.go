package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// ErrLeaseLost is Save's error for a leased poll whose lease expired and
// was claimed by another instance meanwhile: nothing of the poll is
// written, since the other instance is polling the source.
var ErrLeaseLost = errors.New("the source's lease expired and another instance claimed it")

// claimLockKey is the pg_advisory_xact_lock key that serializes claims
// ("feedclai" in ASCII): a claim is a few milliseconds once a second per
// instance, and taking them in turn lets each count the leases every host
// already has, so that per-host limits hold across instances.
const claimLockKey = 0x66656564636c6169

// hostOf is the SQL for the host (and port) of a source's URL, lower-cased:
// what the fetcher's per-host limit counts (url.URL.Host).
const hostOf = `lower(substring(url from '^[^:/]+://(?:[^@/?#]*@)?([^/?#]*)'))`

// Lease is a source claimed by one instance until Expires (the database's
// clock): no other instance polls it before then.
type Lease struct {
	SourceID int64
	Slug     string
	URL      string
	Expires  time.Time
}

// Claim leases to this instance the sources the scheduler may poll now
// (feeds.Leaser): see claimDue. It needs PostgreSQL.
func (db *DB) Claim(ctx context.Context, c feeds.Claim) ([]string, error) {
	if !db.pg {
		return nil, errors.New("claim due sources: leases need a PostgreSQL database")
	}
	leases, err := claimDue(ctx, db.w, db.owner, c)
	if err != nil {
		return nil, err
	}
	db.leases.add(leases)
	slugs := make([]string, len(leases))
	for i, l := range leases {
		slugs[i] = l.Slug
	}
	return slugs, nil
}

// heldLeases are the leases an instance claimed, by source id, with the
// slug each was claimed under: the scheduler renews its polls in flight by
// the slugs it claimed them under, which a reload may have given to
// another row meanwhile (a rename, a swap), so Renew renews the rows
// claimed under them, by id.
type heldLeases struct {
	mu sync.Mutex
	m  map[int64]Lease
}

func (h *heldLeases) add(leases []Lease) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.m == nil {
		h.m = map[int64]Lease{}
	}
	for _, l := range leases {
		h.m[l.SourceID] = l
	}
}

// ids are the sources claimed under slugs. Leases long expired are
// forgotten (a claim the scheduler never polled, a poll saved: its lease
// ended, and a renewal would not find it this instance's anyway).
func (h *heldLeases) ids(slugs []string, now time.Time) []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ids []int64
	for id, l := range h.m {
		switch {
		case slices.Contains(slugs, l.Slug):
			ids = append(ids, id)
		case now.Sub(l.Expires) > forgetLeaseAfter:
			delete(h.m, id)
		}
	}
	return ids
}

// renewed records the leases Renew extended, and forgets those of ids
// it did not (another instance's by now, or released).
func (h *heldLeases) renewed(ids []int64, until map[int64]time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, id := range ids {
		l, ok := h.m[id]
		if !ok {
			continue
		}
		if t, ok := until[id]; ok {
			l.Expires = t
			h.m[id] = l
		} else {
			delete(h.m, id)
		}
	}
}

// forgetLeaseAfter is how long past its expiry (the database's clock,
// compared with this host's) a lease not renewed is remembered: well
// beyond any clock skew between the hosts.
const forgetLeaseAfter = time.Hour

// Renew extends the leases of slugs this instance still holds to ttl from
// now (feeds.Leaser): the scheduler renews the leases of its polls in
// flight, so that one longer than a lease keeps its source. The leases
// are those claimed under slugs, found by source id: a reload that renamed
// or swapped the slug meanwhile leaves the poll its lease. A lease another
// instance claimed meanwhile stays its own.
func (db *DB) Renew(ctx context.Context, slugs []string, ttl time.Duration) error {
	if !db.pg {
		return errors.New("renew leases: leases need a PostgreSQL database")
	}
	ids := db.leases.ids(slugs, time.Now())
	if len(ids) == 0 {
		return nil
	}
	rows, err := db.w.QueryContext(ctx, `UPDATE sources SET lease_expires = now() + $2 * interval '1 microsecond'
		WHERE lease_owner = $1 AND id = ANY($3) RETURNING id, lease_expires`, db.owner, ttl.Microseconds(), ids)
	if err != nil {
		return fmt.Errorf("renew the leases of %d sources for %s: %w", len(ids), db.owner, err)
	}
	defer rows.Close()
	until := make(map[int64]time.Time, len(ids))
	for rows.Next() {
		var (
			id int64
			t  time.Time
		)
		if err := rows.Scan(&id, &t); err != nil {
			return fmt.Errorf("renew the leases of %d sources for %s: %w", len(ids), db.owner, err)
		}
		until[id] = t
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("renew the leases of %d sources for %s: %w", len(ids), db.owner, err)
	}
	db.leases.renewed(ids, until)
	return nil
}

// claimDue leases to owner at most c.N of the sources c.Sources names (all
// when nil) that are due (next_poll has passed) and not leased, or whose
// lease has expired (its holder died or hangs), oldest due first, for
// c.TTL; with c.PerHost > 0, none of a host that would then have more than
// c.PerHost sources leased, by any instance. Instances claiming at the
// same time never get the same source: claims take turns (an advisory
// lock), each locks the rows it picks, skipping those another transaction
// has locked (a poll being saved), and a row locked and leased meanwhile is
// re-checked against the WHERE once that transaction commits, and no
// longer matches.
func claimDue(ctx context.Context, db *sql.DB, owner string, c feeds.Claim) (_ []Lease, err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("claim due sources for %s: %w", owner, err)
		}
	}()
	if c.N <= 0 {
		return nil, nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(claimLockKey)); err != nil {
		return nil, fmt.Errorf("wait for the claim lock: %w", err)
	}
	// The due CTE walks sources_next_poll; ttl goes as microseconds, the
	// resolution of an interval.
	rows, err := tx.QueryContext(ctx, `
		WITH leased AS (
			SELECT `+hostOf+` AS host, count(*) AS n FROM sources
			WHERE lease_owner != '' AND lease_expires > now()
			GROUP BY 1
		), due AS (
			SELECT id, next_poll, `+hostOf+` AS host FROM sources
			WHERE next_poll <= now() AND (lease_owner = '' OR lease_expires <= now())
			  AND ($4::text[] IS NULL OR slug = ANY($4))
			ORDER BY next_poll, id
			FOR UPDATE SKIP LOCKED
		), ranked AS (
			SELECT d.id, d.next_poll,
				row_number() OVER (PARTITION BY d.host ORDER BY d.next_poll, d.id) + coalesce(l.n, 0) AS k
			FROM due d LEFT JOIN leased l ON l.host = d.host
		)
		UPDATE sources SET lease_owner = $1, lease_expires = now() + $2 * interval '1 microsecond'
		WHERE id IN (
			SELECT id FROM ranked WHERE $5 <= 0 OR k <= $5
			ORDER BY next_poll, id
			LIMIT $3)
		RETURNING id, slug, url, lease_expires`, owner, c.TTL.Microseconds(), c.N, c.Sources, c.PerHost)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		var l Lease
		if err := rows.Scan(&l.SourceID, &l.Slug, &l.URL, &l.Expires); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
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

// releaseAll ends this instance's leases, when it closes, leaving their
// sources due as they were: other instances claim them at their next
// claim instead of when the leases expire. Best effort: a lease left over
// expires anyway.
func (db *DB) releaseAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _ = db.w.ExecContext(ctx, `UPDATE sources SET lease_owner = '', lease_expires = '-infinity'
		WHERE lease_owner = $1`, db.owner)
}
