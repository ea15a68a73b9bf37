package storage

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// openOld opens a copy of a database written by earlier feedrelay (see
// testdata/olddb/README.md) with today's code, migrations and all.
func openOld(t *testing.T, name string) *DB {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", "olddb", name))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "feedrelay.db")
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open a database of %s: %v", name, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// byID is a source's entries by row id.
func byID(t *testing.T, db *DB, source string) map[int64]Entry {
	t.Helper()
	m := map[int64]Entry{}
	for _, e := range entries(t, db, source) {
		m[e.ID] = e
	}
	return m
}

// A database written when identities dropped link fragments (dc89dda): its
// GB2312 blog of 16 guid-less posts, one #anchor each on 3 archive pages,
// had 3 rows. Polled by today's code after one more post appeared, every
// post is stored once: each old
// row stays one of its posts (the one whose link it holds), with its id and
// published <id>; the other posts are added; nothing is duplicated, then or
// on later polls; the other source's items keep their ids.
func TestOldDatabase_FragmentsAreItems(t *testing.T) {
	ctx := context.Background()
	db := openOld(t, "dc89dda.db")
	oldBlog, oldNews := byID(t, db, "blog"), byID(t, db, "stcn")
	if len(oldBlog) != 3 || len(oldNews) != 4 {
		t.Fatalf("fixture: %d blog rows, %d stcn rows; want 3 and 4", len(oldBlog), len(oldNews))
	}

	// The blog has moved on since the old code polled it: one more post on
	// the first page, listed first.
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		file := map[string]string{"/blog": "blog-new.rss", "/stcn": "news.rss"}[r.URL.Path]
		body, err := os.ReadFile(filepath.Join("testdata", "olddb", file))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Write(body) // no validators: every poll reads the feed

	}))
	defer ts.Close()
	if err := db.SyncSources(ctx, []SourceInfo{
		// The fixture's names: the same sources, moved to this test's server.
		{Slug: "blog", Name: "老股民的博客", URL: ts.URL + "/blog"}, {Slug: "stcn", Name: "证券时报网", URL: ts.URL + "/stcn"}}); err != nil {
		t.Fatal(err)
	}
	p := &feeds.Poller{Fetcher: feeds.NewFetcher(""), Store: db}
	poll := func(slug string) feeds.Counts {
		t.Helper()
		r := p.Poll(ctx, feeds.Source{Slug: slug, URL: ts.URL + "/" + slug, Timeout: 5 * time.Second,
			TagAuthority: "elsewhere.example"})
		if r.Err != nil {
			t.Fatalf("poll %s: %v", slug, r.Err)
		}
		return r.Counts
	}

	if c := poll("blog"); c != (feeds.Counts{New: 14, Unchanged: 3}) {
		t.Errorf("first poll of the blog by today's code: %+v, want its 14 other posts new and the 3 stored unchanged", c)
	}
	if c := poll("stcn"); c != (feeds.Counts{Unchanged: 4}) {
		t.Errorf("first poll of stcn by today's code: %+v, want 4 unchanged", c)
	}
	if c := poll("blog"); c != (feeds.Counts{Unchanged: 17}) {
		t.Errorf("the blog again: %+v, want 17 unchanged", c)
	}

	now := byID(t, db, "blog")
	titles := map[string]bool{}
	for _, e := range now {
		if titles[e.Title] {
			t.Errorf("post %q stored twice", e.Title)
		}
		titles[e.Title] = true
	}
	if len(now) != 17 {
		t.Errorf("blog: %d entries, want its 17 posts", len(now))
	}
	for id, old := range oldBlog {
		e, ok := now[id]
		if !ok || e.EntryID != old.EntryID || e.Title != old.Title || e.Link != old.Link {
			t.Errorf("old row %d (%q, %s, id %s) became %+v; want the same post under the same ids", id, old.Title, old.Link, old.EntryID, e)
		}
	}
	for id, old := range oldNews {
		if e := byID(t, db, "stcn")[id]; e.EntryID != old.EntryID || e.Title != old.Title {
			t.Errorf("stcn row %d: entry id %q, want %q as published before", id, e.EntryID, old.EntryID)
		}
	}
	// The old rows now have the identity today's code gives them, so the
	// next poll finds them at once.
	var stale int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM items i JOIN sources s ON s.id = i.source_id
		WHERE s.slug = 'blog' AND i.identity != i.link`).Scan(&stale); err != nil {
		t.Fatal(err)
	}
	if stale != 0 {
		t.Errorf("%d blog rows still under an identity without the link's fragment", stale)
	}
}

// A database written before story keys existed (6836e33): migration 0004
// queues its items and BackfillStoryKeys keys every one of them once, those
// no feed lists any more included, with the keys the poller gives new items.
func TestOldDatabase_StoryKeysBackfilled(t *testing.T) {
	ctx := context.Background()
	db := openOld(t, "6836e33.db")
	for _, e := range entries(t, db, "stcn", "blog") {
		if e.URLKey != "" || e.TitleKey != "" {
			t.Fatalf("fixture: %q already has story keys", e.Title)
		}
	}
	v := db.Version(ctx)
	keys := feeds.StoryKeys(nil)
	n, err := db.BackfillStoryKeys(ctx, keys)
	if err != nil {
		t.Fatal(err)
	}
	if n != 7 {
		t.Errorf("keyed %d items, want the 7 stored", n)
	}
	if db.Version(ctx) == v {
		t.Error("the back-fill left the store version: feeds would not fold the copies it keyed")
	}
	for _, e := range entries(t, db, "stcn", "blog") {
		urlKey, titleKey, origin := keys(e.Link, e.Title, e.Content)
		if e.URLKey != urlKey || e.TitleKey != titleKey || e.Origin != origin {
			t.Errorf("%q: keys %q %q %q, want %q %q %q", e.Title, e.URLKey, e.TitleKey, e.Origin, urlKey, titleKey, origin)
		}
		if e.Title == "A股三大指数集体高开" && (e.URLKey != "//stcn.example/article/1000001.html" || e.Origin != "上海证券报") {
			t.Errorf("%q: url key %q, origin %q", e.Title, e.URLKey, e.Origin)
		}
	}
	if n, err := db.BackfillStoryKeys(ctx, keys); err != nil || n != 0 {
		t.Errorf("second back-fill: %d items, %v; want nothing left to do", n, err)
	}
}
