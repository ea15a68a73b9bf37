package storage

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/internal/pgtest"
)

// eachBackend runs test against a new, empty database of each backend, as
// the subtests sqlite and postgres: one storage contract, one test suite.
// dsn is what the config's `database` would say (a SQLite file, a
// PostgreSQL URL); the test may open it as often as it likes (mustOpen).
func eachBackend(t *testing.T, test func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { test(t, filepath.Join(t.TempDir(), "feedrelay.db")) })
	t.Run("postgres", func(t *testing.T) { test(t, pgtest.Database(t, "storage", migratedTemplate)) })
}

// mustOpen opens the database dsn names, with the sources stcn and other.
func mustOpen(tb testing.TB, dsn string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.SyncSources(context.Background(), []SourceInfo{
		{Slug: "stcn", Name: "证券时报网", URL: "https://example.org/stcn.xml"},
		{Slug: "other", Name: "Other", URL: "https://example.org/other.xml"},
	}); err != nil {
		tb.Fatal(err)
	}
	return db
}

// clock is a settable time source for DB.Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func item(guid, title string, published time.Time) feeds.Item {
	it := feeds.Item{GUID: guid, Identity: guid, Title: title, Link: "https://example.org/" + guid,
		Content: "<p>" + title + "</p>", Published: published}
	it.Hash = title // any change of what a reader sees changes the hash
	return it
}

func result(source, etag string, items ...feeds.Item) *feeds.Result {
	now := time.Now()
	return &feeds.Result{Source: source, URL: "https://example.org/" + source + ".xml", Attempted: now,
		StatusCode: 200, ETag: etag, LastModified: "Wed, 25 Nov 2026 10:00:00 GMT",
		Feed: &feeds.Feed{ID: "urn:feed:" + source, Title: source + " feed", Items: withEntryIDs(source, now, items)}}
}

// withEntryIDs gives items without one the entry id feeds mints for them
// (the poller does, in feeds.Source.Identify): storage persists it.
func withEntryIDs(source string, seen time.Time, items []feeds.Item) []feeds.Item {
	src := &feeds.Source{Slug: source}
	for i := range items {
		if items[i].EntryID == "" {
			items[i].EntryID = src.EntryID(&items[i], seen)
		}
	}
	return items
}

func entries(t *testing.T, db *DB, sources ...string) []Entry {
	t.Helper()
	es, err := db.Entries(context.Background(), EntryQuery{Sources: sources, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestSave_NewUnchangedUpdated(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		path := dsn
		db := mustOpen(t, path)
		clk := &clock{t: time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)}
		db.Now = clk.now
		pub := time.Date(2026, 11, 26, 1, 30, 0, 0, time.UTC)

		counts, err := db.Save(ctx, result("stcn", `"v1"`, item("a", "A股高开", pub), item("b", "逆回购", pub)))
		if err != nil {
			t.Fatal(err)
		}
		if counts.Counts != (feeds.Counts{New: 2}) {
			t.Fatalf("first poll: %+v, want 2 new", counts)
		}
		if etag, lm, _ := db.Validators(ctx, "stcn"); etag != `"v1"` || lm == "" {
			t.Errorf("validators after save: %q %q", etag, lm)
		}
		before := entries(t, db, "stcn")

		// The same items again: nothing written.
		clk.t = clk.t.Add(time.Hour)
		counts, err = db.Save(ctx, result("stcn", `"v2"`, item("a", "A股高开", pub), item("b", "逆回购", pub)))
		if err != nil {
			t.Fatal(err)
		}
		if counts.Counts != (feeds.Counts{Unchanged: 2}) {
			t.Fatalf("repeat poll: %+v, want 2 unchanged", counts)
		}
		var changes int
		if err := db.w.QueryRowContext(ctx, "SELECT COUNT(*) FROM items WHERE updated != published").Scan(&changes); err != nil {
			t.Fatal(err)
		}
		if changes != 0 {
			t.Errorf("%d items got a new updated time from an unchanged poll", changes)
		}

		// One item edited at the source, which did not touch its date.
		clk.t = clk.t.Add(time.Hour)
		counts, err = db.Save(ctx, result("stcn", `"v3"`, item("a", "A股高开 沪指涨0.35%", pub), item("b", "逆回购", pub)))
		if err != nil {
			t.Fatal(err)
		}
		if counts.Counts != (feeds.Counts{Updated: 1, Unchanged: 1}) {
			t.Fatalf("edit poll: %+v, want 1 updated 1 unchanged", counts)
		}
		after := entries(t, db, "stcn")
		if len(after) != 2 {
			t.Fatalf("%d entries, want 2", len(after))
		}
		edited := after[0]
		if edited.Title != "A股高开 沪指涨0.35%" {
			t.Fatalf("newest entry %q: the edited item should move to the top", edited.Title)
		}
		var orig Entry
		for _, e := range before {
			if e.Link == edited.Link {
				orig = e
			}
		}
		if edited.EntryID != orig.EntryID {
			t.Errorf("id changed on edit: %q → %q", orig.EntryID, edited.EntryID)
		}
		if !edited.Updated.Equal(clk.t) {
			t.Errorf("updated = %v, want the time the change was seen (%v)", edited.Updated, clk.t)
		}
		if !edited.Published.Equal(pub) {
			t.Errorf("published = %v, want %v", edited.Published, pub)
		}

		// An RSS item the source re-dated (its pubDate, RSS's only
		// date): updated moves to the source's new date, not to the poll.
		clk.t = clk.t.Add(time.Hour)
		redated := item("b", "逆回购", pub.Add(45*time.Minute))
		redated.Hash = "逆回购 redated"
		if counts, err = db.Save(ctx, result("stcn", `"v4"`, item("a", "A股高开 沪指涨0.35%", pub), redated)); err != nil {
			t.Fatal(err)
		}
		if counts.Counts != (feeds.Counts{Updated: 1, Unchanged: 1}) {
			t.Fatalf("re-date poll: %+v, want 1 updated 1 unchanged", counts)
		}
		for _, e := range entries(t, db, "stcn") {
			if e.Title == "逆回购" && (!e.Updated.Equal(pub.Add(45*time.Minute)) || !e.Published.Equal(pub.Add(45*time.Minute))) {
				t.Errorf("re-dated item: updated %v, published %v; want both the source's new date %v", e.Updated, e.Published, pub.Add(45*time.Minute))
			}
		}
	})
}

func TestSave_IDsStableAcrossRestart(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		path := dsn
		db := mustOpen(t, path)
		pub := time.Date(2026, 11, 26, 1, 30, 0, 0, time.UTC)
		// The ids feeds mints, as the poller's source says.
		minted := func(authority string, seen time.Time, items ...feeds.Item) []feeds.Item {
			src := &feeds.Source{Slug: "stcn", TagAuthority: authority}
			for i := range items {
				items[i].EntryID = src.EntryID(&items[i], seen)
			}
			return items
		}
		if _, err := db.Save(ctx, result("stcn", "", minted("relay.example.org", pub, item("12345", "relative guid", pub),
			item("https://example.org/a/1", "absolute guid", pub))...)); err != nil {
			t.Fatal(err)
		}
		ids := map[string]string{}
		for _, e := range entries(t, db, "stcn") {
			ids[e.Title] = e.EntryID
		}
		if got := ids["absolute guid"]; got != "https://example.org/a/1" {
			t.Errorf("absolute IRI guid published as %q, want it unchanged", got)
		}
		if got := ids["relative guid"]; !strings.HasPrefix(got, "tag:relay.example.org,") || !strings.Contains(got, ":stcn/") {
			t.Errorf("non-IRI guid published as %q, want a tag: URI naming the source", got)
		}
		db.Close()

		// Restart, with another authority configured, days later: minted ids
		// do not move.
		db2 := mustOpen(t, path)
		if _, err := db2.Save(ctx, result("stcn", "", minted("elsewhere.example", pub.Add(72*time.Hour),
			item("12345", "relative guid, edited", pub), item("https://example.org/a/1", "absolute guid", pub))...)); err != nil {
			t.Fatal(err)
		}
		for _, e := range entries(t, db2, "stcn") {
			want := ids[e.Title]
			if e.Title == "relative guid, edited" {
				want = ids["relative guid"]
			}
			if e.EntryID != want {
				t.Errorf("%q: id %q after restart, want %q", e.Title, e.EntryID, want)
			}
		}
	})
}

func TestSave_UndatedItemKeepsFirstSeen(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		clk := &clock{t: time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)}
		db.Now = clk.now
		first := clk.t
		if _, err := db.Save(ctx, result("stcn", "", item("x", "no date", time.Time{}))); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			clk.t = clk.t.Add(24 * time.Hour)
			if _, err := db.Save(ctx, result("stcn", "", item("x", "no date", time.Time{}))); err != nil {
				t.Fatal(err)
			}
		}
		es := entries(t, db, "stcn")
		if len(es) != 1 || !es[0].Published.Equal(first) || !es[0].Updated.Equal(first) {
			t.Fatalf("undated item: %+v, want published = updated = first seen %v", es, first)
		}
	})
}

func TestSave_FailureKeepsItemsAndValidators(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		pub := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
		if _, err := db.Save(ctx, result("stcn", `"good"`, item("a", "kept", pub))); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 2; i++ {
			r := &feeds.Result{Source: "stcn", Attempted: time.Now(), StatusCode: 500,
				Err: errors.New("fetch: HTTP 500 Internal Server Error")}
			saved, err := db.Save(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if saved.Failures != i {
				t.Errorf("failure %d: Save says %d failures in a row", i, saved.Failures)
			}
			if r.Failures != 0 {
				t.Errorf("failure %d: Save wrote Failures = %d into its input", i, r.Failures)
			}
		}
		states, err := db.Sources(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var st SourceState
		for _, s := range states {
			if s.Slug == "stcn" {
				st = s
			}
		}
		if st.Failures != 2 || st.LastStatus != 500 || !strings.Contains(st.LastError, "HTTP 500") || st.Items != 1 {
			t.Errorf("after two failures: %+v", st)
		}
		if etag, _, _ := db.Validators(ctx, "stcn"); etag != `"good"` {
			t.Errorf("validators after failure: %q, want the last good ones", etag)
		}
		// A 304 afterwards clears the error.
		if _, err := db.Save(ctx, &feeds.Result{Source: "stcn", Attempted: time.Now(), StatusCode: 304,
			NotModified: true, ETag: `"good"`}); err != nil {
			t.Fatal(err)
		}
		states, _ = db.Sources(ctx)
		for _, s := range states {
			if s.Slug == "stcn" && (s.Failures != 0 || s.LastError != "") {
				t.Errorf("after 304: failures %d, error %q; want cleared", s.Failures, s.LastError)
			}
		}
	})
}

// A poll whose transaction fails must leave neither its items nor its
// validators behind, so that the next poll fetches the feed in full.
func TestSave_ValidatorsOnlyWithItems(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		pub := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
		if _, err := db.Save(ctx, result("stcn", `"v1"`, item("a", "first", pub))); err != nil {
			t.Fatal(err)
		}
		// The second item of the next poll fails to insert, after the first
		// one was written inside the same transaction.
		trigger := `CREATE TRIGGER boom BEFORE INSERT ON items
		WHEN NEW.title = 'boom' BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`
		if db.pg {
			trigger = `CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'disk on fire'; END $$;
			CREATE TRIGGER boom BEFORE INSERT ON items FOR EACH ROW WHEN (NEW.title = 'boom') EXECUTE FUNCTION boom()`
		}
		if _, err := db.w.ExecContext(ctx, trigger); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Save(ctx, result("stcn", `"v2"`, item("b", "second", pub), item("c", "boom", pub))); err == nil {
			t.Fatal("save with a failing insert succeeded")
		}
		if etag, _, _ := db.Validators(ctx, "stcn"); etag != `"v1"` {
			t.Errorf("etag %q after a failed save, want the previous one", etag)
		}
		if n := len(entries(t, db, "stcn")); n != 1 {
			t.Errorf("%d entries after a failed save, want 1", n)
		}
	})
}

func TestEntries_OnlyRequestedSourcesNewestFirst(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		t0 := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
		if _, err := db.Save(ctx, result("stcn", "", item("s1", "s1", t0), item("s2", "s2", t0.Add(2*time.Hour)))); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Save(ctx, result("other", "", item("o1", "o1", t0.Add(time.Hour)))); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries(t, db, "stcn", "other") {
			got = append(got, e.Title+"@"+e.Source.Slug)
		}
		if strings.Join(got, " ") != "s2@stcn o1@other s1@stcn" {
			t.Errorf("entries = %v", got)
		}
		if es := entries(t, db, "other"); len(es) != 1 || es[0].Source.Title != "other feed" || es[0].Source.FeedID != "urn:feed:other" {
			t.Errorf("other's entries = %+v", es)
		}
	})
}

func TestOpen_PageSizeAndWAL(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	var pageSize int
	var mode string
	if err := db.r.QueryRow("PRAGMA page_size").Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	if err := db.r.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if pageSize != 8192 || mode != "wal" {
		t.Errorf("page_size %d, journal_mode %s; want 8192, wal", pageSize, mode)
	}
}

// column is what query (in db's dialect) returns, one column, in its
// order; any error fails the test.
func column[T any](tb testing.TB, db *sql.DB, query string, args ...any) []T {
	tb.Helper()
	rows, err := db.QueryContext(context.Background(), query, args...)
	if err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			tb.Fatalf("%s: %v", query, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return out
}

// A database that cannot be opened says why in words an operator acts on:
// SQLite's own "unable to open database file" names no folder.
func TestOpen_SaysWhyTheFileCannotBeWritten(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-folder", "feedrelay.db")
	_, err := Open(context.Background(), missing)
	if err == nil || !strings.Contains(err.Error(), "the folder "+filepath.Dir(missing)+" does not exist") {
		t.Errorf("Open(%s): %v; want it to say the folder does not exist", missing, err)
	}
	// A path that names a folder (a slip in database:), which even root
	// cannot open as a file.
	dir := t.TempDir()
	_, err = Open(context.Background(), dir)
	if err == nil || !strings.Contains(err.Error(), "cannot write the file") || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("Open(%s), a folder: %v; want it to say the file cannot be written", dir, err)
	}
}
