package storage

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Polls saved at the same moment share a transaction on SQLite (group
// commit): each must still be all or nothing, and one poll's failure must
// not take the others' items or validators with it.
func TestSave_ConcurrentPollsEachAllOrNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := mustOpen(t, dsn)
		const n = 24
		var infos []SourceInfo
		for i := range n {
			infos = append(infos, SourceInfo{Slug: fmt.Sprintf("s%d", i), Name: "S", URL: fmt.Sprintf("https://example.org/s%d.xml", i)})
		}
		if err := db.SyncSources(ctx, infos); err != nil {
			t.Fatal(err)
		}
		pub := time.Date(2026, 11, 26, 1, 30, 0, 0, time.UTC)
		for round := range 3 {
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				src := fmt.Sprintf("s%d", i)
				r := result(src, fmt.Sprintf(`"r%d"`, round),
					item(fmt.Sprintf("%s-%d-a", src, round), "第一条", pub), item(fmt.Sprintf("%s-%d-b", src, round), "第二条", pub))
				if i%3 == 1 {
					// Fails after its first item was inserted.
					r.Feed.Items[1].EntryID = ""
				}
				wg.Go(func() { _, errs[i] = db.Save(ctx, r) })
			}
			wg.Wait()
			for i := range n {
				src := fmt.Sprintf("s%d", i)
				got := len(entries(t, db, src))
				etag, _, err := db.Validators(ctx, src)
				if err != nil {
					t.Fatal(err)
				}
				if i%3 == 1 {
					if errs[i] == nil || !strings.Contains(errs[i].Error(), "no entry id") {
						t.Errorf("round %d, %s: error %v, want the item without an entry id", round, src, errs[i])
					}
					if got != 0 || etag != "" {
						t.Errorf("round %d, %s failed but kept %d items and ETag %q", round, src, got, etag)
					}
					continue
				}
				if errs[i] != nil {
					t.Errorf("round %d, %s: %v", round, src, errs[i])
				}
				if want := 2 * (round + 1); got != want || etag != fmt.Sprintf(`"r%d"`, round) {
					t.Errorf("round %d, %s: %d items, ETag %q; want %d and \"r%d\"", round, src, got, etag, want, round)
				}
			}
		}
	})
}
