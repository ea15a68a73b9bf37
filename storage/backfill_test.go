package storage

import (
	"context"
	"database/sql"
	"embed"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/internal/pgtest"
)

// beforeHashes makes the empty database dsn names what the release before
// story key hashes left (migration 0011 on SQLite, postgres/0008): every
// embedded migration of its backend that sorts before that one applied and
// recorded as Open does. It returns a plain connection to it, for the test
// to write rows as that release did.
func beforeHashes(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	ctx := context.Background()
	var (
		c            *sql.DB
		err          error
		migrations   embed.FS
		glob, first  string
		record       = "INSERT INTO migrations (name, applied_at) VALUES (?, ?)"
		createRecord = `CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`
	)
	if isPostgres(dsn) {
		c, err = sql.Open("pgx", dsn)
		migrations, glob, first = pgMigrationFS, "migrations/postgres/*.sql", "migrations/postgres/0008_story_hashes.sql"
		record = "INSERT INTO migrations (name, applied_at) VALUES ($1, $2)"
	} else {
		c, err = sql.Open("sqlite", "file:"+dsn+"?_foreign_keys=on")
		migrations, glob, first = migrationFS, "migrations/*.sql", "migrations/0011_story_hashes.sql"
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	names, err := fs.Glob(migrations, glob)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	if !slices.Contains(names, first) {
		t.Fatalf("no migration %s among %v", first, names)
	}
	if _, err := c.ExecContext(ctx, createRecord); err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if name >= first {
			break
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ExecContext(ctx, string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := c.ExecContext(ctx, record, name, time.Now().Unix()); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// A database of the release before story key hashes, whose items were
// keyed (two by the poller, one still waiting for the back-fill of
// migration 0004), opened by today's code: the back-fill hashes the keys
// the items have without deriving them again (the tracking parameters may
// have changed since), keys the one that had none, and from then on new
// items of another source fold with the old ones, by link and by title, as
// they would with items stored today.
func TestBackfill_OldKeyedItemsFoldWithNewOnes(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			dsn := filepath.Join(t.TempDir(), "feedrelay.db")
			if backend == "postgres" {
				dsn = pgtest.Database(t, "empty", nil)
			}
			old := beforeHashes(t, dsn)
			ph := "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?"
			if backend == "postgres" {
				ph = placeholders(1, 11)
			}
			if _, err := old.ExecContext(ctx, `INSERT INTO sources (slug, name) VALUES ('stcn', '证券时报网'), ('other', 'Other')`); err != nil {
				t.Fatal(err)
			}
			var stcn int64
			if err := old.QueryRowContext(ctx, `SELECT id FROM sources WHERE slug = 'stcn'`).Scan(&stcn); err != nil {
				t.Fatal(err)
			}
			keys := feeds.StoryKeys(nil)
			t0 := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
			for _, it := range []struct {
				link, title string
				keyed       bool
			}{
				{"https://stcn.example/article/1.html", "沪深两市成交额突破万亿", true},
				{"https://stcn.example/article/2.html", "央行开展逆回购操作", true},
				{"https://stcn.example/article/3.html?utm_source=rss", "科技ETF净流入创新高", false},
			} {
				var urlKey, titleKey string
				if it.keyed { // as the poller of that release keyed it
					urlKey, titleKey, _ = keys(it.link, it.title, "")
				}
				if _, err := old.ExecContext(ctx, `INSERT INTO items (source_id, identity, entry_id, link, title,
					published, updated, first_seen, content_hash, url_key, title_key) VALUES (`+ph+`)`,
					stcn, it.link, "tag:relay.example.org,2026:stcn/"+it.link, it.link, it.title,
					t0.Unix(), t0.Unix(), t0.Unix(), it.title, urlKey, titleKey); err != nil {
					t.Fatal(err)
				}
				if !it.keyed { // stored before 0004, not back-filled yet
					if _, err := old.ExecContext(ctx, `INSERT INTO story_key_queue (id)
						SELECT id FROM items WHERE url_key = '' AND title_key = ''`); err != nil {
						t.Fatal(err)
					}
				}
			}
			old.Close()

			db := mustOpen(t, dsn)
			var derived []string
			n, err := db.BackfillStoryKeys(ctx, func(link, title, content string) (string, string, string) {
				derived = append(derived, link)
				return keys(link, title, content)
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != 3 || !slices.Equal(derived, []string{"https://stcn.example/article/3.html?utm_source=rss"}) {
				t.Errorf("back-fill did %d items and derived the keys of %v; want 3, the keys of the unkeyed one alone", n, derived)
			}

			// Another source's copies, polled today.
			db.Now = func() time.Time { return t0.Add(time.Hour) }
			var fresh []feeds.Item
			for _, it := range []struct{ guid, link, title string }{
				{"n1", "https://stcn.example/article/1.html?utm_medium=feed", "两市成交额破万亿"},
				{"n2", "https://other.example/2", "央行开展逆回购操作"},
				{"n3", "https://stcn.example/article/3.html", "科技ETF资金净流入"},
			} {
				f := item(it.guid, it.title, t0.Add(30*time.Minute))
				f.Link = it.link
				f.URLKey, f.TitleKey, f.Origin = keys(it.link, it.title, "")
				fresh = append(fresh, f)
			}
			if _, err := db.Save(ctx, result("other", "", fresh...)); err != nil {
				t.Fatal(err)
			}
			titles := map[int64]string{}
			bySlugTitle := map[string]Entry{}
			for _, e := range entries(t, db, "stcn", "other") {
				titles[e.ID] = e.Title
				bySlugTitle[e.Source.Slug+"/"+e.Title] = e
			}
			batch := []Entry{bySlugTitle["other/两市成交额破万亿"], bySlugTitle["other/央行开展逆回购操作"], bySlugTitle["other/科技ETF资金净流入"]}
			copies, err := db.CopiesOf(ctx, []string{"stcn", "other"}, batch, 48*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			for i, want := range []string{"沪深两市成交额突破万亿", "央行开展逆回购操作", "科技ETF净流入创新高"} {
				var got []string
				for _, c := range copies[batch[i].ID] {
					got = append(got, titles[c.ID]+"@"+c.Source.Slug)
				}
				if !slices.Equal(got, []string{want + "@stcn"}) {
					t.Errorf("copies of the new %q: %v, want the old item [%s@stcn]", batch[i].Title, got, want)
				}
			}
		})
	}
}

// BenchmarkBackfill_Hashes is the upgrade's back-fill of migration 0011 on
// 10,000 keyed items (200 synthetic feeds of 50): their hashes computed
// from the keys they have, before anything serves.
func BenchmarkBackfill_Hashes(b *testing.B) {
	ctx := context.Background()
	db := mustOpen(b, filepath.Join(b.TempDir(), "backfill.db"))
	saveSynthFeeds(b, db, 200, 50)
	for b.Loop() {
		b.StopTimer()
		if _, err := db.w.ExecContext(ctx, `UPDATE items SET url_hash = 0, title_hash = 0;
			INSERT OR IGNORE INTO story_key_queue (id) SELECT id FROM items`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if n, err := db.BackfillStoryKeys(ctx, feeds.StoryKeys(nil)); err != nil || n != 10000 {
			b.Fatalf("back-filled %d items, %v; want 10000", n, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(10000*b.N), "µs/item")
}
