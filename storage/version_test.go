package storage

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// The feeds' render caches follow Version: a poll that changes no published
// byte (an unchanged feed, a failure: each writes its history row) must not
// move it, or every poll would re-render every feed. The pages that show
// polls follow DataVersion, which moves at every commit. Another process's
// changes (a cron poll beside serve) are seen within a second.
func TestVersion_OnlyPublishedChanges(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "feedrelay.db")
	db := mustOpen(t, path)
	other := mustOpen(t, path) // another process: its writes are seen through data_version

	if _, err := db.Save(ctx, result("stcn", `"a"`, item("g1", "一", time.Now()))); err != nil {
		t.Fatal(err)
	}
	wait := func() { time.Sleep(versionCheckEvery + 100*time.Millisecond) }
	wait()
	v, d := db.Version(ctx), db.DataVersion(ctx)

	// Another process polls: the feed is unchanged, then the source fails.
	if _, err := other.Save(ctx, result("stcn", `"b"`, item("g1", "一", time.Now()))); err != nil {
		t.Fatal(err)
	}
	failed := &feeds.Result{Source: "stcn", URL: "https://example.org/stcn.xml", Attempted: time.Now(), Err: errors.New("HTTP 503")}
	if _, err := other.Save(ctx, failed); err != nil {
		t.Fatal(err)
	}
	wait()
	if got := db.Version(ctx); got != v {
		t.Errorf("Version moved from %d to %d for polls that changed nothing published", v, got)
	}
	if got := db.DataVersion(ctx); got == d {
		t.Errorf("DataVersion stayed %d after two polls wrote their history", d)
	}

	// Another process stores a new item: seen within a second.
	if _, err := other.Save(ctx, result("stcn", `"c"`, item("g2", "二", time.Now()))); err != nil {
		t.Fatal(err)
	}
	wait()
	if got := db.Version(ctx); got == v {
		t.Errorf("Version stayed %d after another process stored a new item", v)
	}

	// This process's own change is seen at once, and counted once.
	v = db.Version(ctx)
	if _, err := db.Save(ctx, result("stcn", `"d"`, item("g3", "三", time.Now()))); err != nil {
		t.Fatal(err)
	}
	if got := db.Version(ctx); got != v+1 {
		t.Errorf("Version %d right after this process stored an item, want %d", got, v+1)
	}
	wait()
	if got := db.Version(ctx); got != v+1 {
		t.Errorf("Version %d a second after this process stored one item, want %d (counted once)", got, v+1)
	}
}
