package storage

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// openBare opens the database dsn names with no source recorded.
func openBare(tb testing.TB, dsn string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func syncReport(t *testing.T, db *DB, sources ...SourceInfo) []SourceChange {
	t.Helper()
	changes, err := db.SyncSourcesReport(context.Background(), sources)
	if err != nil {
		t.Fatal(err)
	}
	return changes
}

// entryIDs are the stored entry ids of source's entries, by guid.
func entryIDs(t *testing.T, db *DB, source string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range entries(t, db, source) {
		out[strings.TrimPrefix(e.Link, "https://example.org/")] = e.EntryID
	}
	return out
}

// polled is r, a poll of url: Save files a result under the source of
// the URL polled.
func polled(r *feeds.Result, url string) *feeds.Result {
	r.URL = url
	return r
}

func sourcesWithURL(t *testing.T, db *DB, url string) int {
	t.Helper()
	var n int
	if err := db.r.QueryRow(db.q(`SELECT COUNT(*) FROM sources WHERE url = ?`), url).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A source whose slug changes — its name renamed with no slug: set (the
// slug is the name's pinyin), or its slug: edited — is the same source
// under the new slug: its items, entry ids, search hits and pruned
// identities stay its own, the next poll stores nothing again, and the
// old slug redirects to the new one.
func TestSyncSources_RenameKeepsTheSource(t *testing.T) {
	const url = "https://example.org/stcn/rss.xml"
	for _, tc := range []struct {
		name     string
		from, to SourceInfo
	}{
		{"by name", SourceInfo{"zhengquanshibaowang", "证券时报网", url}, SourceInfo{"zhengquanshibao", "证券时报", url}},
		{"by slug", SourceInfo{"srcb", "Source B", url}, SourceInfo{"srcb2", "Source B", url}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, dsn string) {
				ctx := context.Background()
				db := openBare(t, dsn)
				clk := &clock{t: time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)}
				db.Now = clk.now
				if got := syncReport(t, db, tc.from); len(got) != 0 {
					t.Fatalf("first sync reported %+v", got)
				}
				pub := clk.t.Add(-time.Hour)
				old := item("old", "沪深两市成交额突破万亿", pub.Add(-72*time.Hour))
				a, b := item("a", "A股高开", pub), item("b", "逆回购操作", pub)
				clk.t = clk.t.Add(-72 * time.Hour)
				if _, err := db.Save(ctx, polled(result(tc.from.Slug, `"v1"`, old), url)); err != nil {
					t.Fatal(err)
				}
				clk.t = clk.t.Add(72 * time.Hour)
				if _, err := db.Save(ctx, polled(result(tc.from.Slug, `"v2"`, a, b), url)); err != nil {
					t.Fatal(err)
				}
				// Retention prunes the oldest; the source still lists it.
				if n, err := db.Prune(ctx, tc.from.Slug, clk.t.Add(-48*time.Hour), 0); err != nil || n != 1 {
					t.Fatalf("prune: %d, %v; want 1 pruned", n, err)
				}
				before := entryIDs(t, db, tc.from.Slug)
				if len(before) != 2 || !strings.Contains(before["a"], tc.from.Slug+"/") {
					t.Fatalf("before the rename: %v", before)
				}

				got := syncReport(t, db, tc.to)
				want := []SourceChange{{Kind: SourceRenamed, From: tc.from.Slug, To: tc.to.Slug, Name: tc.to.Name, URL: url}}
				if !slices.Equal(got, want) {
					t.Fatalf("rename reported %+v, want %+v", got, want)
				}
				if again := syncReport(t, db, tc.to); len(again) != 0 {
					t.Errorf("the same config again reported %+v", again)
				}
				if n := sourcesWithURL(t, db, url); n != 1 {
					t.Errorf("%d sources with the url %s, want 1", n, url)
				}
				if after := entryIDs(t, db, tc.to.Slug); !maps(after, before) {
					t.Errorf("entries under %s: %v, want %v", tc.to.Slug, after, before)
				}
				if es := entries(t, db, tc.from.Slug); len(es) != 0 {
					t.Errorf("%d entries still under %s", len(es), tc.from.Slug)
				}
				if etag, _, _ := db.Validators(ctx, tc.to.Slug); etag != `"v2"` {
					t.Errorf("validators after the rename: %q, want the source's own", etag)
				}
				if cur, ok, err := db.FormerSlug(ctx, tc.from.Slug); err != nil || !ok || cur != tc.to.Slug {
					t.Errorf("FormerSlug(%s) = %q, %v, %v; want %s", tc.from.Slug, cur, ok, err, tc.to.Slug)
				}

				// The next poll mints ids with the new slug: known items keep
				// their stored ones, the pruned one stays gone.
				clk.t = clk.t.Add(time.Hour)
				saved, err := db.Save(ctx, polled(result(tc.to.Slug, `"v3"`, item("old", "沪深两市成交额突破万亿", pub.Add(-72*time.Hour)),
					item("a", "A股高开", pub), item("b", "逆回购操作", pub)), url))
				if err != nil {
					t.Fatal(err)
				}
				if saved.Counts != (feeds.Counts{Unchanged: 3}) {
					t.Errorf("the poll after the rename: %+v, want 3 unchanged", saved.Counts)
				}
				if after := entryIDs(t, db, tc.to.Slug); !maps(after, before) {
					t.Errorf("entries after the next poll: %v, want %v", after, before)
				}
				indexed(t, db)
				es, err := db.Search(ctx, SearchQuery{Text: "逆回购", Sources: []string{tc.to.Slug}, Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				if g := guids(es); !slices.Equal(g, []string{"b"}) {
					t.Errorf("search under the new slug found %v, want [b]", g)
				}
			})
		})
	}
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A former slug that the config gives to another source is that
// source's: it no longer redirects, and nothing is archived (the renamed
// source left it).
func TestSyncSources_FormerSlugTakenAgain(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := openBare(t, dsn)
		syncReport(t, db, SourceInfo{"a", "A", "https://example.org/a.xml"})
		syncReport(t, db, SourceInfo{"b", "A", "https://example.org/a.xml"})
		if _, ok, _ := db.FormerSlug(ctx, "a"); !ok {
			t.Fatal("a does not redirect after its rename")
		}
		got := syncReport(t, db, SourceInfo{"b", "A", "https://example.org/a.xml"}, SourceInfo{"a", "New", "https://example.org/new.xml"})
		if len(got) != 0 {
			t.Errorf("reported %+v, want nothing", got)
		}
		if cur, ok, err := db.FormerSlug(ctx, "a"); ok || err != nil {
			t.Errorf("a still redirects to %q (%v) once configured again", cur, err)
		}
	})
}

// Swapping the slugs of two sources is two renames: each slug's entries
// are those of the feed now under it, never the other's.
func TestSyncSources_SwapIsTwoRenames(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := openBare(t, dsn)
		ua, ub := "https://example.org/a.xml", "https://example.org/b.xml"
		syncReport(t, db, SourceInfo{"a", "Alpha", ua}, SourceInfo{"b", "Beta", ub})
		pub := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
		if _, err := db.Save(ctx, result("a", "", item("a1", "Alpha one", pub))); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Save(ctx, result("b", "", item("b1", "Beta one", pub))); err != nil {
			t.Fatal(err)
		}
		wantA, wantB := entryIDs(t, db, "a"), entryIDs(t, db, "b")

		got := syncReport(t, db, SourceInfo{"a", "Beta", ub}, SourceInfo{"b", "Alpha", ua})
		want := []SourceChange{
			{Kind: SourceRenamed, From: "b", To: "a", Name: "Beta", URL: ub},
			{Kind: SourceRenamed, From: "a", To: "b", Name: "Alpha", URL: ua},
		}
		if !slices.Equal(got, want) {
			t.Fatalf("swap reported %+v, want %+v", got, want)
		}
		if g := entryIDs(t, db, "a"); !maps(g, wantB) {
			t.Errorf("a shows %v, want Beta's %v", g, wantB)
		}
		if g := entryIDs(t, db, "b"); !maps(g, wantA) {
			t.Errorf("b shows %v, want Alpha's %v", g, wantA)
		}
		for _, slug := range []string{"a", "b"} {
			if cur, ok, _ := db.FormerSlug(ctx, slug); ok {
				t.Errorf("%s redirects to %s, but it is configured", slug, cur)
			}
		}
	})
}

// A slug reused for a different feed (another URL and name) does not credit
// the new feed with the old one's items: the old source is archived with
// them, and comes back with them when its URL is configured again.
func TestSyncSources_ReusedSlugArchivesTheOldFeed(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := openBare(t, dsn)
		old := SourceInfo{"news", "Old News", "https://old.example/feed.xml"}
		syncReport(t, db, old)
		pub := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
		if _, err := db.Save(ctx, result("news", "", item("o1", "Old story", pub))); err != nil {
			t.Fatal(err)
		}
		oldIDs := entryIDs(t, db, "news")
		syncReport(t, db) // removed from the config
		fresh := SourceInfo{"news", "Fresh News", "https://fresh.example/feed.xml"}
		got := syncReport(t, db, fresh)
		if len(got) != 1 || got[0].Kind != SourceArchived || got[0].From != "news" || got[0].URL != old.URL ||
			got[0].Name != old.Name || got[0].By != fresh || !strings.HasPrefix(got[0].To, "news~") {
			t.Fatalf("reuse reported %+v, want news archived", got)
		}
		if es := entries(t, db, "news"); len(es) != 0 {
			t.Errorf("the new feed is credited with %d of the old feed's entries", len(es))
		}
		if _, ok, _ := db.FormerSlug(ctx, "news"); ok {
			t.Error("news redirects, but it is configured")
		}
		if again := syncReport(t, db, fresh); len(again) != 0 {
			t.Errorf("the same config again reported %+v", again)
		}

		// The old feed back, under another slug: its items with it.
		back := SourceInfo{"oldnews", old.Name, old.URL}
		got = syncReport(t, db, fresh, back)
		if len(got) != 1 || got[0].Kind != SourceRenamed || got[0].To != "oldnews" {
			t.Fatalf("the old feed's return reported %+v, want a rename to oldnews", got)
		}
		if g := entryIDs(t, db, "oldnews"); !maps(g, oldIDs) {
			t.Errorf("oldnews shows %v, want %v", g, oldIDs)
		}
	})
}

// A feed that moved (same slug and name, another URL) keeps its items.
func TestSyncSources_MovedFeedKeepsItsItems(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := openBare(t, dsn)
		syncReport(t, db, SourceInfo{"stcn", "证券时报网", "http://old.example/rss"})
		pub := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
		if _, err := db.Save(ctx, polled(result("stcn", `"v1"`, item("a", "A股高开", pub)), "http://old.example/rss")); err != nil {
			t.Fatal(err)
		}
		if got := syncReport(t, db, SourceInfo{"stcn", "证券时报网", "https://new.example/rss"}); len(got) != 0 {
			t.Errorf("a moved feed reported %+v", got)
		}
		if es := entries(t, db, "stcn"); len(es) != 1 {
			t.Errorf("%d entries after the move, want 1", len(es))
		}
		if etag, _, _ := db.Validators(ctx, "stcn"); etag != "" {
			t.Errorf("validators %q kept across a URL change", etag)
		}
	})
}

// Instances that reload the same rename at once rename once, and every
// one of them succeeds.
func TestSyncSources_ConcurrentRenamesOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		first := openBare(t, dsn)
		syncReport(t, first, SourceInfo{"zhengquanshibaowang", "证券时报网", "https://example.org/stcn.xml"})
		const n = 4
		dbs := []*DB{first}
		for range n - 1 {
			dbs = append(dbs, openBare(t, dsn))
		}
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			renames int
		)
		for _, db := range dbs {
			wg.Go(func() {
				changes, err := db.SyncSourcesReport(ctx, []SourceInfo{{"zhengquanshibao", "证券时报", "https://example.org/stcn.xml"}})
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				renames += len(changes)
				mu.Unlock()
			})
		}
		wg.Wait()
		if renames != 1 {
			t.Errorf("%d renames reported by %d instances, want 1", renames, n)
		}
		if c := sourcesWithURL(t, first, "https://example.org/stcn.xml"); c != 1 {
			t.Errorf("%d sources with the url, want 1", c)
		}
	})
}

// A poll that began before a reload renamed its source is saved to it.
func TestSave_PollThatOutlivedARename(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := openBare(t, dsn)
		syncReport(t, db, SourceInfo{"a", "A", "https://example.org/a.xml"})
		syncReport(t, db, SourceInfo{"b", "A", "https://example.org/a.xml"})
		pub := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
		if _, err := db.Save(ctx, result("a", "", item("x", "X", pub))); err != nil {
			t.Fatal(err)
		}
		if es := entries(t, db, "b"); len(es) != 1 {
			t.Errorf("%d entries under b, want the late poll's 1", len(es))
		}
	})
}

// A configured source that takes a stored source by its URL, under a slug
// a stored source no one configures still holds, archives the holder: the
// sync succeeds (serve starts, a reload is taken) and each slug shows its
// own feed's entries. Both the slug of a source dropped from the config
// and that of one removed long ago and renamed to.
func TestSyncSources_RenameOntoAStoredSlug(t *testing.T) {
	u1, u2 := "https://example.org/one.xml", "https://example.org/two.xml"
	for _, tc := range []struct {
		name           string
		before, config []SourceInfo
		removed        bool // the slug's holder was dropped from the config a sync before
	}{
		{"holder dropped now", []SourceInfo{{"a", "Old A", u1}, {"z", "Zed", u2}}, []SourceInfo{{"a", "New A", u2}}, false},
		{"holder removed long ago", []SourceInfo{{"news", "News", u1}, {"b", "Bee", u2}}, []SourceInfo{{"news", "Bee", u2}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, dsn string) {
				ctx := context.Background()
				db := openBare(t, dsn)
				syncReport(t, db, tc.before...)
				pub := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
				for _, s := range tc.before {
					if _, err := db.Save(ctx, polled(result(s.Slug, "", item(s.Slug+"1", s.Name+" story", pub)), s.URL)); err != nil {
						t.Fatal(err)
					}
				}
				held, taker := tc.before[0], tc.before[1]
				heldIDs, takerIDs := entryIDs(t, db, held.Slug), entryIDs(t, db, taker.Slug)
				if tc.removed {
					syncReport(t, db, taker)
				}
				to := tc.config[0]
				got, err := db.SyncSourcesReport(ctx, tc.config)
				if err != nil {
					t.Fatalf("sync %+v: %v", tc.config, err)
				}
				var renamed, archived bool
				for _, c := range got {
					switch {
					case c.Kind == SourceRenamed && c.From == taker.Slug && c.To == to.Slug:
						renamed = true
					case c.Kind == SourceArchived && c.From == held.Slug && c.URL == held.URL && c.By == to &&
						strings.HasPrefix(c.To, held.Slug+"~"):
						archived = true
					}
				}
				if !renamed || !archived || len(got) != 2 {
					t.Errorf("sync reported %+v, want %s renamed to %s and %s's old feed archived", got, taker.Slug, to.Slug, held.Slug)
				}
				if g := entryIDs(t, db, to.Slug); !maps(g, takerIDs) {
					t.Errorf("%s shows %v, want %s's %v (not %v)", to.Slug, g, taker.Name, takerIDs, heldIDs)
				}
				if again := syncReport(t, db, tc.config...); len(again) != 0 {
					t.Errorf("the same config again reported %+v", again)
				}
				// The archived feed comes back with its items.
				back := SourceInfo{"back", held.Name, held.URL}
				syncReport(t, db, append(slices.Clone(tc.config), back)...)
				if g := entryIDs(t, db, "back"); !maps(g, heldIDs) {
					t.Errorf("the archived feed back shows %v, want %v", g, heldIDs)
				}
			})
		})
	}
}

// lateResult is a poll of url begun under slug before a reload, with its
// validators and one item.
func lateResult(slug, url, etag, guid string) *feeds.Result {
	return polled(result(slug, etag, item(guid, guid+" story", time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC))), url)
}

// A poll in flight when a reload gives its slug to another row is saved to
// the row of the URL it polled (its source renamed, or archived), never to
// the slug's new feed: its items are not published under the other
// source's name, nor its validators sent to the other source's URL. A
// poll of a URL no source has any more (the feed moved) stores nothing.
func TestSave_PollThatOutlivedASlugChange(t *testing.T) {
	ua, ub := "https://example.org/a.xml", "https://example.org/b.xml"
	guids := func(t *testing.T, db *DB, slug string) []string {
		t.Helper()
		var out []string
		for g := range entryIDs(t, db, slug) {
			out = append(out, g)
		}
		slices.Sort(out)
		return out
	}
	etagOf := func(t *testing.T, db *DB, slug string) string {
		t.Helper()
		etag, _, err := db.Validators(context.Background(), slug)
		if err != nil {
			t.Fatal(err)
		}
		return etag
	}
	ctx := context.Background()
	// Each case on a new database of each backend.
	each := func(name string, test func(t *testing.T, dsn string)) {
		t.Run(name, func(t *testing.T) { eachBackend(t, test) })
	}
	{
		each("swap", func(t *testing.T, dsn string) {
			db := openBare(t, dsn)
			syncReport(t, db, SourceInfo{"a", "Alpha", ua}, SourceInfo{"b", "Beta", ub})
			if _, err := db.Save(ctx, lateResult("b", ub, `"beta"`, "b1")); err != nil {
				t.Fatal(err)
			}
			syncReport(t, db, SourceInfo{"a", "Beta", ub}, SourceInfo{"b", "Alpha", ua})
			// Alpha's poll, begun as a.
			if _, err := db.Save(ctx, lateResult("a", ua, `"alpha"`, "a1")); err != nil {
				t.Fatal(err)
			}
			if g := guids(t, db, "a"); !slices.Equal(g, []string{"b1"}) {
				t.Errorf("a (Beta now) shows %v, want only Beta's b1", g)
			}
			if g := guids(t, db, "b"); !slices.Equal(g, []string{"a1"}) {
				t.Errorf("b (Alpha now) shows %v, want Alpha's a1", g)
			}
			if e := etagOf(t, db, "a"); e != `"beta"` {
				t.Errorf("a (%s) would be asked with ETag %s, want Beta's own", ub, e)
			}
			if e := etagOf(t, db, "b"); e != `"alpha"` {
				t.Errorf("b (%s) would be asked with ETag %s, want the late poll's", ua, e)
			}
		})
		each("archive", func(t *testing.T, dsn string) {
			db := openBare(t, dsn)
			syncReport(t, db, SourceInfo{"news", "Old News", ua})
			syncReport(t, db, SourceInfo{"news", "Fresh News", ub}) // the old feed archived
			if _, err := db.Save(ctx, lateResult("news", ua, `"old"`, "o1")); err != nil {
				t.Fatal(err)
			}
			if g := guids(t, db, "news"); len(g) != 0 {
				t.Errorf("the fresh feed news is credited with the old feed's %v", g)
			}
			if e := etagOf(t, db, "news"); e != "" {
				t.Errorf("news (%s) would be asked with the old feed's ETag %s", ub, e)
			}
			syncReport(t, db, SourceInfo{"news", "Fresh News", ub}, SourceInfo{"old", "Old News", ua})
			if g := guids(t, db, "old"); !slices.Equal(g, []string{"o1"}) {
				t.Errorf("the old feed back shows %v, want its late poll's o1", g)
			}
		})
		each("moved", func(t *testing.T, dsn string) {
			db := openBare(t, dsn)
			syncReport(t, db, SourceInfo{"stcn", "证券时报网", ua})
			syncReport(t, db, SourceInfo{"stcn", "证券时报网", ub})
			if _, err := db.Save(ctx, lateResult("stcn", ua, `"old"`, "x1")); err != nil {
				t.Fatalf("a poll of the url stcn had: %v, want it dropped quietly", err)
			}
			if e := etagOf(t, db, "stcn"); e != "" {
				t.Errorf("stcn (%s) would be asked with ETag %s, got from %s", ub, e, ua)
			}
			if g := guids(t, db, "stcn"); len(g) != 0 {
				t.Errorf("stcn shows %v from a poll of the url it left", g)
			}
		})
		// The 304s of healthy sources are written in batches (writePolls).
		each("queued 304s", func(t *testing.T, dsn string) {
			db := openBare(t, dsn)
			syncReport(t, db, SourceInfo{"a", "Alpha", ua}, SourceInfo{"b", "Beta", ub},
				SourceInfo{"c", "Gamma", "https://example.org/c.xml"})
			syncReport(t, db, SourceInfo{"a", "Beta", ub}, SourceInfo{"b2", "Alpha", ua},
				SourceInfo{"c", "Gamma", "https://example.org/c2.xml"})
			notModified := func(slug, url string) feeds.Result {
				return feeds.Result{Source: slug, URL: url, Attempted: time.Now(), StatusCode: 304, NotModified: true}
			}
			batch := []feeds.Result{
				notModified("a", ua),                          // Alpha's, now b2 (a is Beta's)
				notModified("b", ub),                          // Beta's, now a (b is nobody's)
				notModified("c", "https://example.org/c.xml"), // a url no source has
			}
			if err := db.writePolls(ctx, batch); err != nil {
				t.Fatalf("record the queued 304s: %v", err)
			}
			for _, slug := range []string{"a", "b2"} {
				if ps, err := db.Polls(ctx, slug, 10); err != nil || len(ps) != 1 {
					t.Errorf("%s has %d polls (%v), want its own 304", slug, len(ps), err)
				}
			}
			if ps, err := db.Polls(ctx, "c", 10); err != nil || len(ps) != 0 {
				t.Errorf("c has %d polls (%v), want none from the url it left", len(ps), err)
			}
		})
	}
}
