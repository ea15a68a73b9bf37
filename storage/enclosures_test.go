package storage

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

var (
	episode = feeds.Enclosure{URL: "https://cdn.example.org/ep1.mp3", Length: 12345678, Type: "audio/mpeg"}
	// What a feed says of a second format: no length, no type.
	episodeOgg = feeds.Enclosure{URL: "https://cdn.example.org/ep1.ogg"}
)

// An item's enclosures are stored with it and read back in its source's
// order, kept after a restart, and replaced when the item changes: a new
// length, or none any more. An item without any reads back none.
func TestSave_Enclosures(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		pub := time.Date(2026, 11, 26, 1, 30, 0, 0, time.UTC)
		ep1 := item("ep1", "第一集", pub)
		ep1.Enclosures = []feeds.Enclosure{episode, episodeOgg}
		plain := item("note", "节目说明", pub)
		if _, err := db.Save(ctx, result("stcn", "", ep1, plain)); err != nil {
			t.Fatal(err)
		}
		want := map[string][]feeds.Enclosure{"第一集": {episode, episodeOgg}, "节目说明": nil}
		check := func(when string, db *DB) {
			t.Helper()
			es := entries(t, db, "stcn")
			if len(es) != len(want) {
				t.Fatalf("%s: %d entries, want %d", when, len(es), len(want))
			}
			for _, e := range es {
				if !reflect.DeepEqual(e.Enclosures, want[e.Title]) {
					t.Errorf("%s: %q has enclosures %+v, want %+v", when, e.Title, e.Enclosures, want[e.Title])
				}
			}
		}
		check("saved", db)
		db.Close()
		db = mustOpen(t, dsn)
		check("after a restart", db)

		// The source corrects the length (feeds hashes enclosures: the
		// item is changed), then drops the second format.
		fixed := item("ep1", "第一集", pub)
		fixed.Enclosures = []feeds.Enclosure{{URL: episode.URL, Length: 12345679, Type: episode.Type}, episodeOgg}
		fixed.Hash += " length fixed"
		saved, err := db.Save(ctx, result("stcn", "", fixed, plain))
		if err != nil {
			t.Fatal(err)
		}
		if saved.Counts != (feeds.Counts{Updated: 1, Unchanged: 1}) {
			t.Fatalf("changed enclosure: %+v, want 1 updated, 1 unchanged", saved.Counts)
		}
		want["第一集"] = fixed.Enclosures
		check("updated", db)
		fixed.Enclosures = fixed.Enclosures[:1]
		fixed.Hash += " one format"
		if _, err := db.Save(ctx, result("stcn", "", fixed, plain)); err != nil {
			t.Fatal(err)
		}
		want["第一集"] = fixed.Enclosures
		check("one dropped", db)
		fixed.Enclosures = nil
		fixed.Hash += " none"
		if _, err := db.Save(ctx, result("stcn", "", fixed, plain)); err != nil {
			t.Fatal(err)
		}
		want["第一集"] = nil
		check("all dropped", db)
	})
}

// A backup holds the enclosures: restored, the podcast still plays.
func TestBackup_KeepsEnclosures(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "feedrelay.db")
	db := mustOpen(t, path)
	ep1 := item("ep1", "第一集", time.Date(2026, 11, 26, 1, 30, 0, 0, time.UTC))
	ep1.Enclosures = []feeds.Enclosure{episode}
	if _, err := db.Save(ctx, result("stcn", "", ep1)); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := BackupFile(ctx, path, backup); err != nil {
		t.Fatal(err)
	}
	es := entries(t, mustOpen(t, backup), "stcn")
	if len(es) != 1 || !reflect.DeepEqual(es[0].Enclosures, ep1.Enclosures) {
		t.Fatalf("backup's entries %+v, want one with %+v", es, ep1.Enclosures)
	}
}

// A database written before enclosures were kept, polled by today's code:
// the items of a feed without enclosures are all unchanged (no mass
// update at the upgrade); an item whose source lists an enclosure is
// updated once, and gains it, under the same entry id; the next poll finds
// everything unchanged.
func TestOldDatabase_GainsEnclosures(t *testing.T) {
	ctx := context.Background()
	db := openOld(t, "dc89dda.db")
	old := byID(t, db, "stcn")
	body, err := os.ReadFile(filepath.Join("testdata", "olddb", "news.rss"))
	if err != nil {
		t.Fatal(err)
	}
	podcast := strings.Replace(string(body), `<title>A股三大指数集体高开</title>`,
		`<title>A股三大指数集体高开</title><enclosure url="https://cdn.example.org/ep1.mp3" length="12345678" type="audio/mpeg"/>`, 1)
	feed := string(body)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(feed)) }))
	defer ts.Close()
	if err := db.SyncSources(ctx, []SourceInfo{{Slug: "stcn", Name: "证券时报网", URL: ts.URL}}); err != nil {
		t.Fatal(err)
	}
	p := &feeds.Poller{Fetcher: feeds.NewFetcher(""), Store: db}
	poll := func() feeds.Counts {
		t.Helper()
		r := p.Poll(ctx, feeds.Source{Slug: "stcn", URL: ts.URL, Timeout: 5 * time.Second, TagAuthority: "elsewhere.example"})
		if r.Err != nil {
			t.Fatalf("poll: %v", r.Err)
		}
		return r.Counts
	}
	if c := poll(); c != (feeds.Counts{Unchanged: 4}) {
		t.Errorf("the feed without enclosures, first poll after the upgrade: %+v, want 4 unchanged", c)
	}
	feed = podcast
	if c := poll(); c != (feeds.Counts{Updated: 1, Unchanged: 3}) {
		t.Errorf("one item with an enclosure: %+v, want it updated and 3 unchanged", c)
	}
	if c := poll(); c != (feeds.Counts{Unchanged: 4}) {
		t.Errorf("again: %+v, want 4 unchanged", c)
	}
	for id, e := range byID(t, db, "stcn") {
		var want []feeds.Enclosure
		if e.Title == "A股三大指数集体高开" {
			want = []feeds.Enclosure{episode}
		}
		if !reflect.DeepEqual(e.Enclosures, want) || e.EntryID != old[id].EntryID {
			t.Errorf("%q: enclosures %+v, entry id %s; want %+v under %s", e.Title, e.Enclosures, e.EntryID, want, old[id].EntryID)
		}
	}
}
