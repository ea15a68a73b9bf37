package storage

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// CopiesOf looks a batch's items up by their keys' indexes, not by reading
// every item of the feed's sources (which made cold renders of big archives
// slow).
func TestCopiesOf_UsesKeyIndexes(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	query, args := copiesQuery([]string{"a", "b"}, []Entry{{ID: 1, URLKey: "k", TitleKey: "t"}, {ID: 2, URLKey: "k2", TitleKey: "t2"}}, time.Hour)
	rows, err := db.r.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var a, b, c int
		var d string
		rows.Scan(&a, &b, &c, &d)
		plan = append(plan, d)
	}
	all := strings.Join(plan, "\n")
	if !strings.Contains(all, "items_url_key") || !strings.Contains(all, "items_title_key") || strings.Contains(all, "SCAN i") {
		t.Errorf("plan:\n%s", all)
	}
}

// A feed that starts reusing a post's guid for another post, then lists the
// new one alone: neither post is overwritten or stored twice.
func TestSave_ReusedGUID(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	a := feeds.Item{GUID: "g", Title: "旧文章", Link: "https://example.org/a", Published: t0}
	b := feeds.Item{GUID: "g", Title: "新文章", Link: "https://example.org/b", Published: t0.Add(time.Hour)}
	poll := func(items ...feeds.Item) feeds.Counts {
		t.Helper()
		for i := range items {
			items[i].Identity, items[i].Hash = items[i].GUID, items[i].Title
		}
		if len(items) > 1 { // as feeds.Parse does when a guid is reused
			for i := range items {
				items[i].Identity = feeds.ReusedGUIDIdentity(items[i].GUID, items[i].Title, items[i].Link)
			}
		}
		c, err := db.Save(ctx, &feeds.Result{Source: "stcn", Attempted: t0, StatusCode: 200, Feed: &feeds.Feed{Items: items}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := poll(a); c.New != 1 {
		t.Fatalf("first poll: %+v", c)
	}
	es, _ := db.Entries(ctx, EntryQuery{Sources: []string{"stcn"}, Limit: 10})
	idA := es[0].EntryID
	if c := poll(b, a); c.New != 1 || c.Unchanged != 1 || c.Updated != 0 {
		t.Errorf("the guid reused: %+v, want b new and a unchanged", c)
	}
	if c := poll(b); c.New != 0 || c.Updated != 0 || c.Unchanged != 1 {
		t.Errorf("the new post alone again: %+v, want it unchanged", c)
	}
	es, _ = db.Entries(ctx, EntryQuery{Sources: []string{"stcn"}, Limit: 10})
	titles := map[string]string{}
	for _, e := range es {
		titles[e.Title] = e.EntryID
	}
	if len(es) != 2 || titles["旧文章"] != idA || titles["新文章"] == "" {
		t.Errorf("stored %d items %v; want both posts, the old one under its first id %s", len(es), titles, idA)
	}
}

// Items stored before story keys existed get them on their next poll.
func TestSave_BackfillsStoryKeys(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	it := item("g1", "A股三大指数集体高开", time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC))
	if _, err := db.Save(ctx, result("stcn", "", it)); err != nil {
		t.Fatal(err)
	}
	it.URLKey, it.TitleKey = "//example.org/g1", "a股三大指数集体高开"
	if _, err := db.Save(ctx, result("stcn", "", it)); err != nil {
		t.Fatal(err)
	}
	es, _ := db.Entries(ctx, EntryQuery{Sources: []string{"stcn"}, Limit: 1})
	if len(es) != 1 || es[0].URLKey != it.URLKey || es[0].TitleKey != it.TitleKey {
		t.Errorf("keys after the second poll: %+v", es)
	}
}

// CopiesOf answers for a whole batch what one query per entry would: for
// each entry, the other items of the given sources with its link key, or
// its title key published within the window, first seen first.
func TestCopiesOf(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	if err := db.SyncSources(ctx, []SourceInfo{{Slug: "elsewhere"}}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	keyed := func(guid, urlKey, titleKey string, pub time.Time) feeds.Item {
		it := item(guid, guid, pub)
		it.URLKey, it.TitleKey = urlKey, titleKey
		return it
	}
	seen := t0
	save := func(src string, it feeds.Item) {
		t.Helper()
		seen = seen.Add(time.Minute) // first seen in the order saved
		db.Now = func() time.Time { return seen }
		if _, err := db.Save(ctx, result(src, "", it)); err != nil {
			t.Fatal(err)
		}
	}
	save("stcn", keyed("a", "//stcn.com/1", "沪深两市成交额突破万亿", t0))
	save("other", keyed("b", "//stcn.com/1", "", t0.Add(time.Hour)))
	save("stcn", keyed("c", "//stcn.com/3", "沪深两市成交额突破万亿", t0.Add(47*time.Hour)))
	save("other", keyed("d", "", "沪深两市成交额突破万亿", t0.Add(49*time.Hour)))
	save("elsewhere", keyed("e", "//stcn.com/1", "沪深两市成交额突破万亿", t0))
	save("other", keyed("f", "", "", t0))
	ids := map[int64]string{}
	byGUID := map[string]Entry{}
	for _, e := range entries(t, db, "stcn", "other", "elsewhere") {
		ids[e.ID] = e.Title
		byGUID[e.Title] = e
	}
	batch := []Entry{byGUID["a"], byGUID["c"], byGUID["f"]}
	for _, tc := range []struct {
		window time.Duration
		want   map[string][]string
	}{
		{48 * time.Hour, map[string][]string{"a": {"b", "c"}, "c": {"a", "d"}, "f": nil}},
		{0, map[string][]string{"a": {"b"}, "c": nil, "f": nil}},
	} {
		got, err := db.CopiesOf(ctx, []string{"stcn", "other"}, batch, tc.window)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range batch {
			var titles []string
			for _, c := range got[e.ID] {
				titles = append(titles, ids[c.ID])
			}
			if !slices.Equal(titles, tc.want[e.Title]) {
				t.Errorf("window %v: copies of %s = %v, want %v", tc.window, e.Title, titles, tc.want[e.Title])
			}
		}
	}
}
