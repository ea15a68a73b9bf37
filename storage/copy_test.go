package storage

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/internal/pgtest"
)

// TestCopyTo moves a SQLite database that has lived (items edited, one
// pruned, a failing source, validators) to PostgreSQL: every entry is the
// same, ids and entry ids included, the validators and health too, search
// finds the items, a pruned item stays pruned, and copying again changes
// nothing.
func TestCopyTo(t *testing.T) {
	ctx := context.Background()
	lite := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	lite.Now = func() time.Time { return t0 }
	var items []feeds.Item
	for i, title := range []string{"沪深两市成交额突破万亿", "科技ETF净流入创新高", "央行逆回购", "旧闻"} {
		it := item("g"+string(rune('a'+i)), title, t0.Add(time.Duration(i)*time.Hour))
		if i == 0 {
			it.GUID, it.Identity = "", "" // minted tag: id
			it.Identity = it.Link
		}
		if i == 1 {
			it.Enclosures = []feeds.Enclosure{episode, episodeOgg} // a podcast still plays after the move
		}
		items = append(items, it)
	}
	src := &feeds.Source{Slug: "stcn", TagAuthority: "relay.example.org"}
	for i := range items {
		items[i].EntryID = src.EntryID(&items[i], t0)
	}
	if _, err := lite.Save(ctx, result("stcn", `"v7"`, items...)); err != nil {
		t.Fatal(err)
	}
	// The old one goes to retention; then the source fails twice.
	lite.Now = func() time.Time { return t0.Add(90 * 24 * time.Hour) }
	if _, err := lite.Save(ctx, result("other", "", item("o1", "Fed holds rates", t0))); err != nil {
		t.Fatal(err)
	}
	if n, err := lite.Prune(ctx, "stcn", t0.Add(time.Hour), 3); err != nil || n != 1 {
		t.Fatalf("pruned %d (%v), want 1", n, err)
	}
	for range 2 {
		if _, err := lite.Save(ctx, &feeds.Result{Source: "other", Attempted: t0, StatusCode: 503,
			Err: errors.New("fetch: HTTP 503 Service Unavailable")}); err != nil {
			t.Fatal(err)
		}
	}

	// stcn was once called stcn-old (a rename): its old address redirects.
	if _, err := lite.w.ExecContext(ctx, `INSERT INTO former_slugs (slug, source_id, renamed_at)
		SELECT 'stcn-old', id, 1 FROM sources WHERE slug = 'stcn'`); err != nil {
		t.Fatal(err)
	}

	pg := mustOpen(t, pgtest.Database(t, "storage", migratedTemplate))
	for run := range 2 {
		copied, err := lite.CopyTo(ctx, pg)
		if err != nil {
			t.Fatal(err)
		}
		// Polls: stcn's one, other's three; none made since on the second run.
		if want := (Copied{Sources: 2, Items: 4, Pruned: 1, Polls: 4 * (1 - run)}); copied != want {
			t.Errorf("run %d copied %+v, want %+v", run, copied, want)
		}
		for _, slugs := range [][]string{{"stcn"}, {"other"}, {"stcn", "other"}} {
			want, got := entries(t, lite, slugs...), entries(t, pg, slugs...)
			if len(want) == 0 || !reflect.DeepEqual(got, want) {
				t.Errorf("run %d: entries of %v on PostgreSQL\n%+v\nwant as on SQLite\n%+v", run, slugs, got, want)
			}
		}
		ls, _ := lite.Sources(ctx)
		ps, err := pg.Sources(ctx)
		if err != nil || !reflect.DeepEqual(ps, ls) {
			t.Errorf("run %d: sources on PostgreSQL %+v (%v), want %+v", run, ps, err, ls)
		}
		for _, slug := range []string{"stcn", "other"} {
			le, llm, _ := lite.Validators(ctx, slug)
			pe, plm, _ := pg.Validators(ctx, slug)
			if pe != le || plm != llm {
				t.Errorf("validators of %s: %q %q, want %q %q", slug, pe, plm, le, llm)
			}
		}
	}
	if cur, ok, err := pg.FormerSlug(ctx, "stcn-old"); err != nil || !ok || cur != "stcn" {
		t.Errorf("former slug stcn-old after the copy: %q %v %v, want stcn", cur, ok, err)
	}
	indexed(t, pg)
	if got := search(t, pg, "逆回购"); !slices.Equal(got, []string{"gc"}) {
		t.Errorf("search after the copy: %v, want [gc]", got)
	}
	// The source still lists the pruned item: it does not come back; a new
	// item takes an id past the copied ones.
	pg.Now = lite.Now
	saved, err := pg.Save(ctx, result("stcn", `"v8"`, append(items, item("new", "新消息", t0.Add(5*time.Hour)))...))
	if err != nil {
		t.Fatal(err)
	}
	if saved.Counts != (feeds.Counts{New: 1, Unchanged: 4}) || len(entries(t, pg, "stcn")) != 4 {
		t.Errorf("poll after the copy: %+v, want the new item alone new (the pruned one stays pruned)", saved.Counts)
	}
	if es := entries(t, pg, "stcn"); es[0].Title != "新消息" || es[0].ID <= es[1].ID {
		t.Errorf("newest entry %q id %d, after ids up to %d", es[0].Title, es[0].ID, es[1].ID)
	}
	if _, err := pg.CopyTo(ctx, lite); err == nil {
		t.Error("a copy from PostgreSQL to SQLite was accepted")
	}
}

// A copied database folds copies across sources as the SQLite one did, by
// link and by title, and an item SQLite had keyed but not hashed yet
// (stored before migration 0011, its back-fill not run) is found as a copy
// on PostgreSQL at once.
func TestCopyTo_FoldsCopies(t *testing.T) {
	ctx := context.Background()
	lite := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	seen := t0
	save := func(src, guid, urlKey, titleKey string) {
		t.Helper()
		seen = seen.Add(time.Minute) // first seen in the order saved
		lite.Now = func() time.Time { return seen }
		it := item(guid, guid, t0)
		it.URLKey, it.TitleKey = urlKey, titleKey
		if _, err := lite.Save(ctx, result(src, "", it)); err != nil {
			t.Fatal(err)
		}
	}
	save("stcn", "a", "//stcn.com/1", "沪深两市成交额突破万亿")
	save("other", "b", "//stcn.com/1", "")
	save("other", "c", "//other.com/3", "沪深两市成交额突破万亿")
	save("other", "d", "//other.com/4", "央行开展逆回购操作")
	save("stcn", "e", "//stcn.com/5", "")
	save("other", "f", "//stcn.com/5", "")
	if _, err := lite.w.ExecContext(ctx, `UPDATE items SET url_hash = 0, title_hash = 0 WHERE identity = 'f'`); err != nil {
		t.Fatal(err)
	}
	if _, err := lite.w.ExecContext(ctx, `INSERT INTO story_key_queue (id) SELECT id FROM items WHERE identity = 'f'`); err != nil {
		t.Fatal(err)
	}

	pg := mustOpen(t, pgtest.Database(t, "storage", migratedTemplate))
	if _, err := lite.CopyTo(ctx, pg); err != nil {
		t.Fatal(err)
	}
	copiesOf := func(db *DB) map[string][]string {
		t.Helper()
		es := entries(t, db, "stcn", "other")
		titles := map[int64]string{}
		for _, e := range es {
			titles[e.ID] = e.Title
		}
		got, err := db.CopiesOf(ctx, []string{"stcn", "other"}, es, 48*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, e := range es {
			for _, c := range got[e.ID] {
				out[e.Title] = append(out[e.Title], titles[c.ID])
			}
		}
		return out
	}
	want := map[string][]string{"a": {"b", "c"}, "b": {"a"}, "c": {"a"}, "e": {"f"}, "f": {"e"}}
	if got := copiesOf(pg); !reflect.DeepEqual(got, want) {
		t.Errorf("copies on PostgreSQL after the copy: %v, want %v", got, want)
	}
	// SQLite folds the same once its back-fill has hashed f.
	if _, err := lite.BackfillStoryKeys(ctx, feeds.StoryKeys(nil)); err != nil {
		t.Fatal(err)
	}
	if got := copiesOf(lite); !reflect.DeepEqual(got, want) {
		t.Errorf("copies on SQLite: %v, want %v", got, want)
	}
}

// A copy carries what the index page shows of each source's life (its
// polls, its new items per hour, its full-text warning) and the full-text
// retries still due, which PostgreSQL then retries; copying again adds the
// polls made since, once.
func TestCopyTo_History(t *testing.T) {
	ctx := context.Background()
	lite := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	t0 := time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC)
	lite.Now = func() time.Time { return t0 }
	poll := func(at time.Time, r *feeds.Result) {
		t.Helper()
		r.Attempted = at
		if _, err := lite.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	pending := item("g1", "沪深两市", t0)
	pending.Summary, pending.ArticleURL = "<p>摘要</p>", "https://example.org/a/g1"
	pending.Article = &feeds.Article{State: feeds.ArticlePending, Attempts: 1, Attempted: t0,
		NextAttempt: t0.Add(5 * time.Minute), Err: "HTTP 500"}
	fetched := item("g2", "央行逆回购", t0)
	fetched.ArticleURL = "https://example.org/a/g2"
	fetched.Article = &feeds.Article{State: feeds.ArticleOK, Attempts: 1, Attempted: t0}
	poll(t0, result("stcn", `"a"`, pending, fetched))
	lite.Now = func() time.Time { return t0.Add(3 * time.Hour) }
	poll(t0.Add(3*time.Hour), result("stcn", `"b"`, pending, fetched, item("g3", "科技ETF", t0)))
	poll(t0.Add(4*time.Hour), &feeds.Result{Source: "stcn", StatusCode: 503,
		Err: errors.New("fetch: HTTP 503 Service Unavailable")})
	poll(t0.Add(4*time.Hour), result("other", "", item("o1", "Fed holds rates", t0)))

	since := t0.Add(-24 * time.Hour)
	same := func(run int, pg *DB) {
		t.Helper()
		for _, slug := range []string{"stcn", "other"} {
			lp, err := lite.Polls(ctx, slug, 10)
			if err != nil {
				t.Fatal(err)
			}
			pp, err := pg.Polls(ctx, slug, 10)
			if err != nil || len(lp) == 0 || !reflect.DeepEqual(pp, lp) {
				t.Errorf("run %d: polls of %s on PostgreSQL %+v (%v), want as on SQLite %+v", run, slug, pp, err, lp)
			}
		}
		ln, _ := lite.NewItems(ctx, since)
		pn, err := pg.NewItems(ctx, since)
		if err != nil || len(ln["stcn"]) < 2 || !reflect.DeepEqual(pn, ln) {
			t.Errorf("run %d: new items per hour on PostgreSQL %+v (%v), want as on SQLite %+v", run, pn, err, ln)
		}
		ls, _ := lite.Sources(ctx)
		ps, err := pg.Sources(ctx)
		if err != nil || !reflect.DeepEqual(ps, ls) {
			t.Errorf("run %d: sources on PostgreSQL %+v (%v), want %+v", run, ps, err, ls)
		}
		due := t0.Add(5 * time.Minute)
		ld, _ := lite.DueArticles(ctx, "stcn", due, 10)
		pd, err := pg.DueArticles(ctx, "stcn", due, 10)
		if err != nil || len(ld) != 1 || !reflect.DeepEqual(pd, ld) {
			t.Errorf("run %d: articles due on PostgreSQL %+v (%v), want as on SQLite %+v", run, pd, err, ld)
		}
		ls2, _ := lite.StoredArticles(ctx, "stcn", []feeds.Item{pending, fetched})
		ps2, err := pg.StoredArticles(ctx, "stcn", []feeds.Item{pending, fetched})
		if err != nil || !reflect.DeepEqual(ps2, ls2) {
			t.Errorf("run %d: stored articles on PostgreSQL %+v (%v), want %+v", run, ps2, err, ls2)
		}
	}

	pg := mustOpen(t, pgtest.Database(t, "storage", migratedTemplate))
	pg.Now = func() time.Time { return lite.Now() } // the full-text warning's window
	copied, err := lite.CopyTo(ctx, pg)
	if err != nil {
		t.Fatal(err)
	}
	if copied.Polls != 4 || copied.Articles != 2 {
		t.Errorf("copied %+v, want 4 polls and 2 full-text states", copied)
	}
	same(1, pg)

	// SQLite polls twice more, the first in the second of the newest poll
	// copied; the second copy adds those two alone.
	poll(t0.Add(4*time.Hour), &feeds.Result{Source: "stcn", StatusCode: 429,
		Err: errors.New("fetch: HTTP 429 Too Many Requests")})
	lite.Now = func() time.Time { return t0.Add(6 * time.Hour) }
	poll(t0.Add(6*time.Hour), result("stcn", `"c"`, pending, fetched, item("g3", "科技ETF", t0), item("g4", "新消息", t0)))
	if copied, err = lite.CopyTo(ctx, pg); err != nil {
		t.Fatal(err)
	}
	if copied.Polls != 2 {
		t.Errorf("second copy added %d polls, want the 2 made since", copied.Polls)
	}
	same(2, pg)
}
