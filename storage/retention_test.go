package storage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// Retention prunes old items in batches but keeps each source's newest
// min_items, and a pruned item the source still lists does not come back.
func TestPrune(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var all []feeds.Item
		// 1,200 items, in 12 polls of 100 ten days apart.
		for poll := 0; poll < 12; poll++ {
			clock := start.Add(time.Duration(poll) * 10 * 24 * time.Hour)
			db.Now = func() time.Time { return clock }
			var items []feeds.Item
			for i := poll * 100; i < poll*100+100; i++ {
				id := fmt.Sprintf("item-%04d", i)
				items = append(items, feeds.Item{Identity: id, GUID: id, Title: id, Hash: id, Published: clock.Add(time.Duration(i) * time.Second)})
			}
			all = append(items, all...)
			if _, err := db.Save(ctx, &feeds.Result{Source: "stcn", Attempted: clock, StatusCode: 200, Feed: &feeds.Feed{Items: withEntryIDs("stcn", clock, items)}}); err != nil {
				t.Fatal(err)
			}
		}
		now := start.Add(120 * 24 * time.Hour)
		db.Now = func() time.Time { return now }
		v := db.Version(ctx)
		// On day 120, 90 days' retention prunes the polls of days 0, 10 and 20.
		n, err := db.Prune(ctx, "stcn", now.Add(-90*24*time.Hour), 50)
		if err != nil {
			t.Fatal(err)
		}
		if n != 300 {
			t.Errorf("pruned %d items, want 300 (first seen more than 90 days ago)", n)
		}
		if db.Version(ctx) == v {
			t.Error("pruning did not change the store version: feeds would serve pruned items")
		}
		es, _ := db.Entries(ctx, EntryQuery{Sources: []string{"stcn"}, Limit: 5000})
		if len(es) != 900 {
			t.Errorf("%d items left, want 900", len(es))
		}

		// The source still lists everything: nothing pruned comes back.
		counts, err := db.Save(ctx, &feeds.Result{Source: "stcn", Attempted: now, StatusCode: 200, Feed: &feeds.Feed{Items: all}})
		if err != nil {
			t.Fatal(err)
		}
		if counts.New != 0 {
			t.Errorf("a source listing pruned items brought back %d of them", counts.New)
		}

		// min_items wins over age.
		n, _ = db.Prune(ctx, "stcn", now, 50)
		es, _ = db.Entries(ctx, EntryQuery{Sources: []string{"stcn"}, Limit: 5000})
		if n != 850 || len(es) != 50 || es[0].Title != "item-1199" {
			t.Errorf("pruning everything old: pruned %d, %d left (newest %q); want 850 and the newest 50", n, len(es), es[0].Title)
		}
	})
}
