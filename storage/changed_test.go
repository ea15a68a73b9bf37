package storage

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// Entry.Changed and SourceFeed.Changed are when we stored or changed what
// an entry shows, by the store's clock, whatever dates the source gives:
// the feeds' Last-Modified. An item new to us dated before everything
// stored, an edit the source dated in the past, a new title of the source
// feed, a new name in the config and retention all move them; an
// unchanged poll moves nothing.
func TestChanged_WhenWeStoredNotWhenDated(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		clk := &clock{t: time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)}
		db.Now = clk.now
		dated := time.Date(2026, 12, 1, 19, 0, 0, 0, time.UTC)
		byGUID := func() map[string]Entry {
			m := map[string]Entry{}
			for _, e := range entries(t, db, "stcn") {
				m[e.Link[len("https://example.org/"):]] = e
			}
			return m
		}
		save := func(r *feeds.Result) {
			t.Helper()
			// A feed that dates itself: its <updated> (in every entry's
			// <source>) stays while it does.
			r.Feed.Updated = dated
			if _, err := db.Save(ctx, r); err != nil {
				t.Fatal(err)
			}
		}

		t0 := clk.t
		save(result("stcn", `"v1"`, item("a", "A", dated)))
		if e := byGUID()["a"]; !e.Changed.Equal(t0) || !e.Source.Changed.Equal(t0) {
			t.Fatalf("first poll: changed %v, source changed %v; want both %v", e.Changed, e.Source.Changed, t0)
		}

		// Later, b arrives dated long before a; a is unchanged.
		clk.t = clk.t.Add(10 * time.Minute)
		save(result("stcn", `"v2"`, item("a", "A", dated), item("b", "B", dated.Add(-36*time.Hour))))
		got := byGUID()
		if !got["b"].Changed.Equal(clk.t) || !got["a"].Changed.Equal(t0) || !got["a"].Source.Changed.Equal(t0) {
			t.Errorf("late item b: changed %v (want %v); a %v, source %v (want %v)",
				got["b"].Changed, clk.t, got["a"].Changed, got["a"].Source.Changed, t0)
		}

		// a edited, the source dating the edit before b's store.
		clk.t = clk.t.Add(10 * time.Minute)
		edited := item("a", "A edited", dated)
		edited.Updated = dated.Add(30 * time.Minute)
		save(result("stcn", `"v3"`, edited, item("b", "B", dated.Add(-36*time.Hour))))
		if e := byGUID()["a"]; !e.Changed.Equal(clk.t) || !e.Updated.Equal(dated.Add(30*time.Minute)) {
			t.Errorf("edited a: changed %v updated %v; want changed %v, updated the source's %v", e.Changed, e.Updated, clk.t, dated.Add(30*time.Minute))
		}
		tEdit := clk.t

		// The same again: nothing moves.
		clk.t = clk.t.Add(10 * time.Minute)
		save(result("stcn", `"v4"`, edited, item("b", "B", dated.Add(-36*time.Hour))))
		if e := byGUID()["a"]; !e.Changed.Equal(tEdit) || !e.Source.Changed.Equal(t0) {
			t.Errorf("unchanged poll: a changed %v, source changed %v; want %v and %v", e.Changed, e.Source.Changed, tEdit, t0)
		}

		// The source feed renamed itself: in every entry's <source>.
		clk.t = clk.t.Add(10 * time.Minute)
		r := result("stcn", `"v5"`, edited, item("b", "B", dated.Add(-36*time.Hour)))
		r.Feed.Title = "stcn feed, renamed"
		save(r)
		if e := byGUID()["b"]; !e.Source.Changed.Equal(clk.t) {
			t.Errorf("feed title changed: source changed %v, want %v", e.Source.Changed, clk.t)
		}

		// Its name in the config changed: in every entry's author line.
		clk.t = clk.t.Add(10 * time.Minute)
		if err := db.SyncSources(ctx, []SourceInfo{{Slug: "stcn", Name: "证券时报", URL: "https://example.org/stcn.xml"}}); err != nil {
			t.Fatal(err)
		}
		if e := byGUID()["b"]; !e.Source.Changed.Equal(clk.t) {
			t.Errorf("source renamed: source changed %v, want %v", e.Source.Changed, clk.t)
		}

		// Retention takes b: the feeds of the source lost an entry.
		clk.t = clk.t.Add(10 * time.Minute)
		if n, err := db.Prune(ctx, "stcn", clk.t.Add(-15*time.Minute), 1); err != nil || n != 1 {
			t.Fatalf("prune: %d, %v; want 1 pruned", n, err)
		}
		if e := byGUID()["a"]; !e.Source.Changed.Equal(clk.t) {
			t.Errorf("after pruning b: source changed %v, want %v", e.Source.Changed, clk.t)
		}
	})
}

// A database of earlier feedrelay, with an item the source dated 2099
// (stored as dated, it held the top of every feed): migrated, the item is
// dated when first seen, and every item has the change time known of it
// (first seen, or a later updated), never in the future.
func TestOldDatabase_FutureDatesAndChanged(t *testing.T) {
	ctx := context.Background()
	body, err := os.ReadFile(filepath.Join("testdata", "olddb", "159862b.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "feedrelay.db")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	far := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	var id, seen int64
	if err := raw.QueryRowContext(ctx, `SELECT id, first_seen FROM items ORDER BY id LIMIT 1`).Scan(&id, &seen); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `UPDATE items SET published = ?, updated = ? WHERE id = ?`, far, far, id); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	var sources []string
	for _, s := range column[string](t, db.r, `SELECT slug FROM sources`) {
		sources = append(sources, s)
	}
	all, err := db.Entries(ctx, EntryQuery{Sources: sources, Limit: 1000})
	if err != nil || len(all) < 2 {
		t.Fatalf("%d entries, %v", len(all), err)
	}
	for _, e := range all {
		if e.ID == id && (e.Published.Unix() != seen || e.Updated.Unix() != seen) {
			t.Errorf("the 2099 item: published %v updated %v, want both when first seen, %v", e.Published, e.Updated, time.Unix(seen, 0).UTC())
		}
		if e.Changed.Before(e.FirstSeen) || e.Changed.After(now) {
			t.Errorf("item %d: changed %v, want from its first seen %v to now", e.ID, e.Changed, e.FirstSeen)
		}
	}
	if all[0].Updated.After(now) {
		t.Errorf("the newest entry is dated %v, in the future", all[0].Updated)
	}
}
