package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/internal/pgtest"
)

// migratedTemplate prepares the template database of pgDB: migrated once,
// copied for each test.
func migratedTemplate(ctx context.Context, dsn string) error {
	db, err := openPostgres(ctx, dsn)
	if err != nil {
		return err
	}
	return db.Close()
}

// pgDB opens a new, migrated PostgreSQL database for this test.
func pgDB(tb testing.TB) *sql.DB {
	tb.Helper()
	db, err := openPostgres(context.Background(), pgtest.Database(tb, "storage", migratedTemplate))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestIsPostgres(t *testing.T) {
	for dsn, want := range map[string]bool{
		"postgres://u:p@db:5432/feedrelay?sslmode=disable": true,
		"postgresql://db/feedrelay":                        true,
		"POSTGRES://db/feedrelay":                          true,
		"postgres://":                                      true, // all from PG* variables
		"feedrelay.db":                                     false,
		"/var/lib/feedrelay/feedrelay.db":                  false,
		"postgres.db":                                      false,
		"file:feedrelay.db":                                false,
	} {
		if got := isPostgres(dsn); got != want {
			t.Errorf("isPostgres(%q) = %v, want %v", dsn, got, want)
		}
	}
}

// TestPostgresMigrate_Concurrent starts four instances together on an
// empty database: the advisory lock lets one migrate, the others find the
// work done.
func TestPostgresMigrate_Concurrent(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t, "empty", nil)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			db, err := openPostgres(ctx, dsn)
			if err == nil {
				err = db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
	db, err := openPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	files, err := fs.Glob(pgMigrationFS, "migrations/postgres/*.sql")
	if err != nil || len(files) < 5 {
		t.Fatalf("%d migration files (%v)", len(files), err)
	}
	var names, applied int
	if err := db.QueryRowContext(ctx, "SELECT count(DISTINCT name), count(*) FROM migrations").Scan(&names, &applied); err != nil {
		t.Fatal(err)
	}
	if names != len(files) || applied != len(files) {
		t.Errorf("%d migrations recorded %d times, want %d once each", names, applied, len(files))
	}
}

// TestPostgresSchema_SameAsSQLite: every column of SQLite's tables exists
// in PostgreSQL's, so that one storage contract can read and write both
// (PostgreSQL has more: the leases).
func TestPostgresSchema_SameAsSQLite(t *testing.T) {
	lite := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	pg := pgDB(t)
	for _, table := range []string{"sources", "items", "pruned", "search_queue", "story_key_queue", "articles", "migrations", "polls", "item_hours", "former_slugs"} {
		want := column[string](t, lite.r, "SELECT name FROM pragma_table_info(?)", table)
		if len(want) == 0 {
			t.Fatalf("SQLite has no table %s", table)
		}
		have := map[string]bool{}
		for _, name := range column[string](t, pg, `SELECT column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1`, table) {
			have[name] = true
		}
		for _, c := range want {
			if !have[c] {
				t.Errorf("PostgreSQL's %s has no column %s (SQLite's has): add it to storage/migrations/postgres", table, c)
			}
		}
	}
}

// addSources inserts n sources, due now, named s1…sn.
func addSources(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	if _, err := db.ExecContext(context.Background(), `INSERT INTO sources (slug, url)
		SELECT 's' || g, 'https://example.org/' || g || '.xml' FROM generate_series(1, $1) g`, n); err != nil {
		t.Fatal(err)
	}
}

// TestClaimDue_Concurrent: two instances (two connection pools), each
// claiming in two goroutines, a few sources at a time, until none is due:
// every source is claimed exactly once.
func TestClaimDue_Concurrent(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Database(t, "storage", migratedTemplate)
	const sources = 400
	var instances []*sql.DB
	for range 2 {
		db, err := openPostgres(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		instances = append(instances, db)
	}
	addSources(t, instances[0], sources)
	var (
		mu      sync.Mutex
		claimed = map[string][]string{} // slug → owners
		wg      sync.WaitGroup
		start   = make(chan struct{})
	)
	for i, db := range instances {
		for g := range 2 {
			owner := fmt.Sprintf("instance%d/%d", i, g)
			wg.Go(func() {
				<-start
				for {
					leases, err := claimDue(ctx, db, owner, feeds.Claim{N: 3, TTL: time.Hour})
					if err != nil {
						t.Error(err)
						return
					}
					if len(leases) == 0 {
						return
					}
					mu.Lock()
					for _, l := range leases {
						claimed[l.Slug] = append(claimed[l.Slug], owner)
					}
					mu.Unlock()
				}
			})
		}
	}
	close(start)
	wg.Wait()
	if len(claimed) != sources {
		t.Errorf("%d sources claimed, want all %d", len(claimed), sources)
	}
	owners := map[string]int{}
	for slug, by := range claimed {
		if len(by) != 1 {
			t.Errorf("source %s claimed by %v, want one", slug, by)
		}
		owners[by[0]]++
	}
	t.Logf("claims per owner: %v", owners)
}

// expireLeases makes owner's leases expired, a second ago, as if its
// instance had died an hour ago: the tests' leases are long, so that only
// this ends them, never a slow machine.
func expireLeases(t *testing.T, db *sql.DB, owner string) {
	t.Helper()
	res, err := db.ExecContext(context.Background(),
		`UPDATE sources SET lease_expires = now() - interval '1 second' WHERE lease_owner = $1`, owner)
	if err != nil {
		t.Fatalf("expire the leases of %s: %v", owner, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		t.Fatalf("expire the leases of %s: %d rows (%v), want its leases", owner, n, err)
	}
}

// TestClaimDue_ExpiredLeaseTakenOver: a lease holds until it expires (its
// instance died, say); then another instance claims the source, and the
// first can no longer record a poll of it.
func TestClaimDue_ExpiredLeaseTakenOver(t *testing.T) {
	ctx := context.Background()
	db := pgDB(t)
	addSources(t, db, 3)
	slugs := func(ls []Lease) []string {
		var out []string
		for _, l := range ls {
			out = append(out, l.Slug)
		}
		slices.Sort(out)
		return out
	}
	const ttl = time.Hour
	a, err := claimDue(ctx, db, "a", feeds.Claim{N: 10, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	if got := slugs(a); !slices.Equal(got, []string{"s1", "s2", "s3"}) {
		t.Fatalf("a claimed %v, want s1 s2 s3", got)
	}
	if b, err := claimDue(ctx, db, "b", feeds.Claim{N: 10, TTL: ttl}); err != nil || len(b) != 0 {
		t.Fatalf("b claimed %v (%v) while a's leases hold, want none", slugs(b), err)
	}
	expireLeases(t, db, "a")
	b, err := claimDue(ctx, db, "b", feeds.Claim{N: 2, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if got := slugs(b); !slices.Equal(got, []string{"s1", "s2"}) {
		t.Fatalf("b claimed %v after a's leases expired, want s1 s2 (limit 2, oldest due first)", got)
	}
	release := func(owner string, id int64, after time.Duration) bool {
		t.Helper()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		ok, err := releaseLease(ctx, tx, owner, id, after)
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if release("a", b[0].SourceID, time.Minute) {
		t.Errorf("a released s1, which b holds now")
	}
	if !release("b", b[0].SourceID, time.Hour) {
		t.Errorf("b could not release s1, which it holds")
	}
	if !release("a", a[2].SourceID, 0) {
		t.Errorf("a could not release s3, expired but claimed by no one since")
	}
	// s1 is due in an hour, s2 leased by b: only s3, due at once, is left.
	c, err := claimDue(ctx, db, "c", feeds.Claim{N: 10, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if got := slugs(c); !slices.Equal(got, []string{"s3"}) {
		t.Errorf("c claimed %v, want s3 alone", got)
	}
}

// openInstances opens n DBs on one new PostgreSQL database, as n instances
// of feedrelay sharing it would, with the sources stcn and other.
func openInstances(t *testing.T, n int) []*DB {
	t.Helper()
	dsn := pgtest.Database(t, "storage", migratedTemplate)
	var dbs []*DB
	for range n {
		dbs = append(dbs, mustOpen(t, dsn))
	}
	return dbs
}

// TestSave_LeasedPoll: a leased poll's Save ends the lease and records the
// next poll in the items' transaction; a poll whose lease another instance
// took over meanwhile writes nothing.
func TestSave_LeasedPoll(t *testing.T) {
	ctx := context.Background()
	dbs := openInstances(t, 2)
	a, b := dbs[0], dbs[1]
	claim := func(db *DB, ttl time.Duration) []string {
		t.Helper()
		got, err := db.Claim(ctx, feeds.Claim{Sources: []string{"stcn", "other"}, N: 10, TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		return got
	}
	if got := claim(a, time.Hour); !slices.Equal(got, []string{"other", "stcn"}) {
		t.Fatalf("a claimed %v, want both sources (new sources are due)", got)
	}
	if got := claim(b, time.Minute); len(got) != 0 {
		t.Fatalf("b claimed %v while a holds both", got)
	}
	pub := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	next := time.Now().Add(time.Hour)
	r := result("stcn", `"v1"`, item("a", "leased", pub))
	r.Lease = func(failures int) time.Time { return next }
	saved, err := a.Save(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if saved.New != 1 || !saved.NextPoll.Equal(next) {
		t.Errorf("leased save: %+v, want 1 new and the next poll recorded", saved)
	}
	var due time.Time
	var owner string
	if err := a.w.QueryRowContext(ctx, "SELECT next_poll, lease_owner FROM sources WHERE slug = 'stcn'").Scan(&due, &owner); err != nil {
		t.Fatal(err)
	}
	if owner != "" || due.Sub(next).Abs() > time.Second {
		t.Errorf("after the leased save: owner %q, next poll %v; want released, due %v", owner, due, next)
	}

	// a's lease of other expires; b takes it over; a's late poll is lost.
	expireLeases(t, a.w, a.owner)
	if got := claim(b, time.Minute); !slices.Equal(got, []string{"other"}) {
		t.Fatalf("b claimed %v after a's lease of other expired, want other (stcn is due in an hour)", got)
	}
	late := result("other", `"late"`, item("o", "late", pub))
	late.Lease = func(int) time.Time { return next }
	if _, err := a.Save(ctx, late); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("save under a lease taken over: %v, want ErrLeaseLost", err)
	}
	if es := entries(t, a, "other"); len(es) != 0 {
		t.Errorf("the lost poll stored %d items", len(es))
	}
	if etag, _, _ := a.Validators(ctx, "other"); etag != "" {
		t.Errorf("the lost poll stored its validators %q", etag)
	}
}

// TestClaim_PerHostAcrossInstances: two instances claiming together never
// lease more sources of one host than the limit, counting each other's.
func TestClaim_PerHostAcrossInstances(t *testing.T) {
	ctx := context.Background()
	dbs := openInstances(t, 2)
	var infos []SourceInfo
	var slugs []string
	for i := range 6 {
		host := "a.example"
		if i >= 4 {
			host = "B.example:8080"
		}
		slug := fmt.Sprintf("h%d", i)
		infos = append(infos, SourceInfo{Slug: slug, URL: fmt.Sprintf("https://user@%s/%d.xml", host, i)})
		slugs = append(slugs, slug)
	}
	if err := dbs[0].SyncSources(ctx, infos); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([][]string, 2)
	for i, db := range dbs {
		wg.Go(func() {
			var err error
			got[i], err = db.Claim(ctx, feeds.Claim{Sources: slugs, N: 10, PerHost: 2, TTL: time.Minute})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	all := append(append([]string(nil), got[0]...), got[1]...)
	slices.Sort(all)
	// Two of a.example's four, both of b.example's.
	if len(all) != 4 || all[2] != "h4" || all[3] != "h5" || all[0] >= "h4" || all[1] >= "h4" {
		t.Errorf("claimed %v and %v, want two of h0–h3 and h4 h5", got[0], got[1])
	}
}

// TestVersion_OtherInstance: an instance's render cache learns of another
// instance's poll within a second (LISTEN/NOTIFY).
func TestVersion_OtherInstance(t *testing.T) {
	ctx := context.Background()
	dbs := openInstances(t, 2)
	writer, reader := dbs[0], dbs[1]
	// The listener is up once the version stops moving (its LISTEN counts
	// as a change: one may have been missed before).
	v := reader.Version(ctx)
	for settled := time.Now(); time.Since(settled) < 300*time.Millisecond; time.Sleep(10 * time.Millisecond) {
		if now := reader.Version(ctx); now != v {
			v, settled = now, time.Now()
		}
	}
	if _, err := writer.Save(ctx, result("stcn", "", item("n", "news", time.Now()))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for reader.Version(ctx) == v {
		if time.Now().After(deadline) {
			t.Fatal("the other instance's version did not move within a second of the commit")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
