package storage

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/internal/pgtest"
)

// A renewed lease holds past its first TTL: the other instance claims
// nothing; a renewal by an instance that no longer holds the lease (another
// took it over once it expired) leaves it with its holder.
func TestRenew_KeepsTheLease(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t, "storage", migratedTemplate)
	a, b := mustOpen(t, dsn), mustOpen(t, dsn)
	addSources(t, a.w, 2)
	expiry := func(slug string) (owner string, expires time.Time) {
		t.Helper()
		if err := a.w.QueryRowContext(ctx, `SELECT lease_owner, lease_expires FROM sources WHERE slug = $1`, slug).
			Scan(&owner, &expires); err != nil {
			t.Fatal(err)
		}
		return owner, expires
	}

	if got, err := a.Claim(ctx, feeds.Claim{Sources: []string{"s1"}, N: 1, TTL: time.Minute}); err != nil || len(got) != 1 || got[0] != "s1" {
		t.Fatalf("a claimed %v (%v), want s1", got, err)
	}
	// Its lease has nearly run out when a renews it.
	if _, err := a.w.ExecContext(ctx, `UPDATE sources SET lease_expires = now() + interval '1 second' WHERE slug = 's1'`); err != nil {
		t.Fatal(err)
	}
	if err := a.Renew(ctx, []string{"s1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if owner, until := expiry("s1"); owner != a.owner || time.Until(until) < 50*time.Minute {
		t.Errorf("after a's renewal the lease is %q's until %v, want a's for an hour", owner, until)
	}
	if got, err := b.Claim(ctx, feeds.Claim{Sources: []string{"s1"}, N: 1, TTL: time.Minute}); err != nil || len(got) != 0 {
		t.Errorf("b claimed %v (%v) while a's renewed lease holds, want none", got, err)
	}

	// s1's lease runs out (a hangs): b takes it; a's late renewal leaves it b's.
	expireLeases(t, a.w, a.owner)
	if got, err := b.Claim(ctx, feeds.Claim{Sources: []string{"s1"}, N: 1, TTL: time.Minute}); err != nil || len(got) != 1 {
		t.Fatalf("b claimed %v (%v) once a's lease expired, want s1", got, err)
	}
	_, bUntil := expiry("s1")
	if err := a.Renew(ctx, []string{"s1", "s2"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if owner, until := expiry("s1"); owner != b.owner || !until.Equal(bUntil) {
		t.Errorf("after a's late renewal the lease is %q's until %v, want b's until %v", owner, until, bUntil)
	}
	var owner string
	if err := a.w.QueryRowContext(ctx, `SELECT lease_owner FROM sources WHERE slug = 's2'`).Scan(&owner); err != nil || owner != "" {
		t.Errorf("a's renewal of s2, never claimed, leased it to %q (%v)", owner, err)
	}
}

// A claim waiting for the claim lock that another instance holds and never
// lets go (its transaction hung) gives up when its context says so, and
// leaves its connection fit for the next claim, which succeeds once the
// lock is free: the scheduler bounds each claim so as to renew the leases
// of its polls in flight meanwhile.
func TestClaim_GivesUpOnAHeldClaimLock(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t, "storage", migratedTemplate)
	a, b := mustOpen(t, dsn), mustOpen(t, dsn)
	addSources(t, a.w, 1)
	hung := holdClaimLock(t, b)

	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	got, err := a.Claim(cctx, feeds.Claim{Sources: []string{"s1"}, N: 1, TTL: time.Minute})
	cancel()
	if err == nil || cctx.Err() == nil {
		t.Fatalf("a claim behind a held claim lock returned %v, %v before its deadline, want the deadline's error", got, err)
	}
	if owner := leaseHolder(t, a, "s1"); owner != "" {
		t.Errorf("the claim that gave up leased s1 to %q", owner)
	}

	if err := hung.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Claim(ctx, feeds.Claim{Sources: []string{"s1"}, N: 1, TTL: time.Minute}); err != nil || len(got) != 1 {
		t.Errorf("the next claim, the lock free: %v (%v), want s1", got, err)
	}
}

func leaseHolder(t *testing.T, db *DB, slug string) (owner string) {
	t.Helper()
	if err := db.w.QueryRowContext(context.Background(), `SELECT lease_owner FROM sources WHERE slug = $1`, slug).
		Scan(&owner); err != nil {
		t.Fatal(err)
	}
	return owner
}

// An instance that hangs or loses its network in the middle of a claim
// (its transaction holding the claim lock, idle) does not stop the others
// claiming: PostgreSQL ends its session once it has sat idle for
// idleInTransactionTimeout, and with it the lock.
func TestClaim_AHungInstanceLetsGoOfTheClaimLock(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t, "storage", migratedTemplate)
	a := mustOpen(t, dsn)
	defer func(d time.Duration) { idleInTransactionTimeout = d }(idleInTransactionTimeout)
	idleInTransactionTimeout = time.Second
	b := mustOpen(t, dsn)
	addSources(t, a.w, 1)
	hung := holdClaimLock(t, b)

	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, err := a.Claim(cctx, feeds.Claim{Sources: []string{"s1"}, N: 1, TTL: time.Minute})
	if err != nil || len(got) != 1 {
		t.Fatalf("a's claim while b's transaction held the claim lock, idle: %v (%v), want s1 once b's session was ended", got, err)
	}
	if _, err := hung.ExecContext(ctx, "SELECT 1"); err == nil {
		t.Error("b's idle transaction still runs statements, want its session ended")
	}
}

// A value of the database URL's own, as a parameter or in its options,
// is the session's: feedrelay's default does not override it.
func TestOpen_TheURLsIdleTransactionTimeoutWins(t *testing.T) {
	dsn := pgtest.Database(t, "storage", migratedTemplate)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	for _, tc := range []struct{ dsn, want string }{
		{dsn, "1min"},
		{dsn + sep + "idle_in_transaction_session_timeout=7000", "7s"},
		{dsn + sep + "options=" + strings.NewReplacer(" ", "%20", "=", "%3D").Replace("-c idle_in_transaction_session_timeout=9000"), "9s"},
	} {
		db := mustOpen(t, tc.dsn)
		var got string
		if err := db.w.QueryRowContext(context.Background(), "SHOW idle_in_transaction_session_timeout").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("%s: idle_in_transaction_session_timeout %s, want %s", tc.dsn, got, tc.want)
		}
	}
}

// holdClaimLock takes the claim lock in a transaction of db's that then
// waits, as an instance that hung in the middle of a claim does.
func holdClaimLock(t *testing.T, db *DB) *sql.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(claimLockKey)); err != nil {
		t.Fatal(err)
	}
	return tx
}

// A poll in flight keeps its lease when a reload renames its source: the
// scheduler renews it under the slug it claimed, and the lease of the row
// now under another slug holds on.
func TestRenew_KeepsTheLeaseOfARenamedSource(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t, "storage", migratedTemplate)
	a, b := mustOpen(t, dsn), mustOpen(t, dsn)
	addSources(t, a.w, 1)
	if got, err := a.Claim(ctx, feeds.Claim{Sources: []string{"s1"}, N: 1, TTL: time.Minute}); err != nil || len(got) != 1 || got[0] != "s1" {
		t.Fatalf("a claimed %v (%v), want s1", got, err)
	}
	// The reload renames s1 to s1b (same url) while its poll is in flight.
	changes, err := a.SyncSourcesReport(ctx, []SourceInfo{
		{Slug: "stcn", Name: "证券时报网", URL: "https://example.org/stcn.xml"},
		{Slug: "other", Name: "Other", URL: "https://example.org/other.xml"},
		{Slug: "s1b", URL: "https://example.org/1.xml"},
	})
	if err != nil || len(changes) != 1 || changes[0].Kind != SourceRenamed {
		t.Fatalf("the reload reported %+v (%v), want s1 renamed", changes, err)
	}
	if _, err := a.w.ExecContext(ctx, `UPDATE sources SET lease_expires = now() + interval '1 second' WHERE slug = 's1b'`); err != nil {
		t.Fatal(err)
	}
	if err := a.Renew(ctx, []string{"s1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	var (
		owner string
		until time.Time
	)
	if err := a.w.QueryRowContext(ctx, `SELECT lease_owner, lease_expires FROM sources WHERE slug = 's1b'`).
		Scan(&owner, &until); err != nil {
		t.Fatal(err)
	}
	if owner != a.owner || time.Until(until) < 50*time.Minute {
		t.Errorf("after a's renewal of s1 the lease of s1b is %q's until %v, want a's for an hour", owner, until)
	}
	time.Sleep(1100 * time.Millisecond) // past the lease a would have had
	if got, err := b.Claim(ctx, feeds.Claim{Sources: []string{"s1b"}, N: 1, TTL: time.Minute}); err != nil || len(got) != 0 {
		t.Errorf("b claimed %v (%v) while a's poll of the renamed source is in flight, want none", got, err)
	}
}
