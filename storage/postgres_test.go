package storage

import (
	"context"
	"database/sql"
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
	ctx := context.Background()
	lite := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	pg := pgDB(t)
	for _, table := range []string{"sources", "items", "pruned", "search_queue", "story_key_queue", "articles", "migrations"} {
		rows, err := lite.r.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", table)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			want = append(want, name)
		}
		rows.Close()
		if len(want) == 0 {
			t.Fatalf("SQLite has no table %s", table)
		}
		rows, err = pg.QueryContext(ctx, `SELECT column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1`, table)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			have[name] = true
		}
		rows.Close()
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
	const ttl = 300 * time.Millisecond
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
	time.Sleep(time.Until(a[0].Expires) + 50*time.Millisecond)
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
