package storage

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
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

// One group whose members fail at different points (after an item was
// inserted, at the start, last) or were given up by their poll: the
// transaction is written again without each, and every other poll is
// stored exactly once: its items, its one history row, its new-item count,
// and one published change for the group.
func TestWriteGroup_FailedMembersLeaveOthersStoredOnce(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
	const n = 7
	var infos []SourceInfo
	for i := range n {
		infos = append(infos, SourceInfo{Slug: fmt.Sprintf("s%d", i), Name: "S", URL: fmt.Sprintf("https://example.org/s%d.xml", i)})
	}
	if err := db.SyncSources(ctx, infos); err != nil {
		t.Fatal(err)
	}
	pub := time.Date(2026, 11, 26, 1, 30, 0, 0, time.UTC)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	// Why each fails, "" for those that succeed.
	want := []string{"", "no entry id", "", "unknown source", "", context.Canceled.Error(), "no entry id"}
	group := make([]*saveRequest, n)
	for i := range n {
		src := fmt.Sprintf("s%d", i)
		r := result(src, `"e"`, item(src+"-a", "第一条", pub), item(src+"-b", "第二条", pub), item(src+"-c", "第三条", pub))
		req := &saveRequest{ctx: ctx, r: r, done: make(chan struct{})}
		switch want[i] {
		case "no entry id": // after its first item was inserted
			r.Feed.Items[1].EntryID = ""
		case "unknown source":
			r.Source, r.URL = "gone", "https://example.org/gone.xml"
		case context.Canceled.Error():
			req.ctx = cancelled
		}
		group[i] = req
	}
	db.writeGroup(group)

	hours, err := db.NewItems(ctx, pub.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for i, req := range group {
		src := fmt.Sprintf("s%d", i)
		select {
		case <-req.done:
		default:
			t.Fatalf("%s: not told its outcome", src)
		}
		items := len(entries(t, db, src))
		polls, err := db.Polls(ctx, src, 10)
		if err != nil {
			t.Fatal(err)
		}
		etag, _, err := db.Validators(ctx, src)
		if err != nil {
			t.Fatal(err)
		}
		counted := 0
		for _, h := range hours[src] {
			counted += h.New
		}
		if want[i] != "" {
			if req.err == nil || !strings.Contains(req.err.Error(), want[i]) {
				t.Errorf("%s: error %v, want %q", src, req.err, want[i])
			}
			if items != 0 || len(polls) != 0 || etag != "" || counted != 0 || req.published {
				t.Errorf("%s failed but kept %d items, %d polls, ETag %q, %d counted new, published %v",
					src, items, len(polls), etag, counted, req.published)
			}
			continue
		}
		if req.err != nil {
			t.Errorf("%s: %v", src, req.err)
		}
		if items != 3 || len(polls) != 1 || polls[0].New != 3 || etag != `"e"` || counted != 3 || req.saved.New != 3 || !req.published {
			t.Errorf("%s: %d items, %d polls, ETag %q, %d counted new, saved %+v, published %v; want 3 items, 1 poll of 3 new, ETag \"e\", 3 counted, 3 saved new, published",
				src, items, len(polls), etag, counted, req.saved, req.published)
		}
	}
	var version int64
	if err := db.r.QueryRowContext(ctx, "SELECT n FROM published_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != 1 {
		t.Errorf("published_version %d after one group, want 1", version)
	}
	var queued int
	if err := db.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM search_queue").Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if queued != 3*3 {
		t.Errorf("%d items queued for search, want the 9 stored", queued)
	}
}

// BenchmarkSave_FirstPoll saves, one after the other, the first poll of
// 50 new items of each of b.N sources (a cold poll's writes, each its own
// transaction): the per-poll and per-item cost of the writer.
func BenchmarkSave_FirstPoll(b *testing.B) {
	ctx := context.Background()
	db := mustOpen(b, filepath.Join(b.TempDir(), "bench.db"))
	c := newCorpus()
	var infos []SourceInfo
	polls := make([]*feeds.Result, b.N)
	for i := range b.N {
		src := fmt.Sprintf("s%d", i)
		infos = append(infos, SourceInfo{Slug: src, Name: "S", URL: "https://example.org/" + src + ".xml"})
		polls[i] = c.batch(src, 50)
	}
	if err := db.SyncSources(ctx, infos); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for _, r := range polls {
		if _, err := db.Save(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(50*b.N)/b.Elapsed().Seconds(), "items/s")
}

// After a crowded commit the writer waits for company only for Saves sent
// with MoreSaves, and the last Save of a batch (sent without) ends that wait:
// a one-shot poll's last group waited groupDelay for Saves that never
// came, and serve's scheduler (whose Saves are unmarked: it sends no more
// while they wait) was held 50 ms a Save. Here the wait after the last
// commit is made an hour long.
func TestSave_GroupWaitsOnlyForSavesToCome(t *testing.T) {
	ctx := context.Background()
	pub := time.Date(2026, 11, 26, 1, 30, 0, 0, time.UTC)
	crowded := func(t *testing.T) *DB {
		db := mustOpen(t, filepath.Join(t.TempDir(), "feedrelay.db"))
		db.groups.mu.Lock()
		db.groups.crowded, db.groups.committed = true, time.Now().Add(time.Hour)
		db.groups.mu.Unlock()
		return db
	}
	save := func(db *DB, ctx context.Context, slug, guid string) chan error {
		errc := make(chan error, 1)
		go func() {
			_, err := db.Save(ctx, result(slug, `"e1"`, item(guid, "第一条 "+guid, pub)))
			errc <- err
		}()
		return errc
	}
	wait := func(t *testing.T, what string, errc chan error) {
		t.Helper()
		select {
		case err := <-errc:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s waited for others to join its group", what)
		}
	}
	t.Run("unmarked", func(t *testing.T) {
		db := crowded(t)
		wait(t, "a Save sent without MoreSaves", save(db, ctx, "stcn", "a"))
		if got := len(entries(t, db, "stcn")); got != 1 {
			t.Errorf("stored %d items, want 1", got)
		}
	})
	t.Run("more, then last", func(t *testing.T) {
		db := crowded(t)
		first := save(db, MoreSaves(ctx), "stcn", "a")
		select {
		case err := <-first:
			t.Fatalf("a Save sent with MoreSaves was committed alone after a crowded commit (err %v): no group", err)
		case <-time.After(200 * time.Millisecond):
		}
		wait(t, "the last Save", save(db, ctx, "other", "b"))
		wait(t, "the Save before the last", first)
		if got := len(entries(t, db, "stcn")) + len(entries(t, db, "other")); got != 2 {
			t.Errorf("stored %d items, want 2", got)
		}
	})
}
