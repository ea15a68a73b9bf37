package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/storage/storagetest"
)

// filledDB writes a database of a few MiB at path and closes it (its
// write-ahead log checkpointed into the file).
func filledDB(t *testing.T, path string) {
	t.Helper()
	db := mustOpen(t, path)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for b := 0; b < 10; b++ {
		var items []feeds.Item
		for i := range 300 {
			it := item(fmt.Sprintf("g-%d-%d", b, i), fmt.Sprintf("第%d批第%d条 %s", b, i, strings.Repeat("行情", 40)), t0.Add(time.Duration(b*300+i)*time.Minute))
			it.Content = "<p>" + strings.Repeat("沪深两市成交额突破万亿元。", 30) + "</p>"
			items = append(items, it)
		}
		if _, err := db.Save(context.Background(), result("stcn", "", items...)); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

func wantCorruptError(t *testing.T, what string, err error, path string) {
	t.Helper()
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("%s: err = %v, want a CorruptError", what, err)
	}
	for _, want := range []string{path + " is corrupt", "feedrelay backup", path + "-wal"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error does not say %q:\n%v", what, want, err)
		}
	}
}

// 256 KiB of random bytes in the middle of the file: Open refuses it, by
// quick_check on a small database and by the page probe on a large one.
func TestOpen_RefusesCorruptFile(t *testing.T) {
	for _, method := range []string{"quick_check", "page probe"} {
		t.Run(method, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "feedrelay.db")
			filledDB(t, path)
			if method == "page probe" {
				old := quickCheckMaxBytes
				quickCheckMaxBytes = 0
				t.Cleanup(func() { quickCheckMaxBytes = old })
			}
			db, err := Open(context.Background(), path)
			if err != nil {
				t.Fatalf("the intact file: %v", err)
			}
			if db.Checked.Method != method || !db.Checked.Complete {
				t.Errorf("checked by %+v, want a complete %s", db.Checked, method)
			}
			db.Close()

			storagetest.Middle(t, path)
			db, err = Open(context.Background(), path)
			if err == nil {
				db.Close()
			}
			wantCorruptError(t, "Open", err, path)
		})
	}
}

// Damage that appears while the database is open is noticed by the first
// query that reaches it, reading or writing, and from then on Ping fails.
func TestCorruptionAtRunTime(t *testing.T) {
	for _, op := range []string{"read", "write"} {
		t.Run(op, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "feedrelay.db")
			filledDB(t, path)
			db := mustOpen(t, path)
			// A fresh connection for each query: the damaged pages are not
			// in any connection's cache.
			db.r.SetMaxIdleConns(0)
			if err := db.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			storagetest.Corrupt(t, path, 64<<10, 0)

			var err error
			if op == "read" {
				_, err = db.Search(context.Background(), SearchQuery{Text: "成交额", Limit: 10})
				if err == nil {
					_, err = db.Entries(context.Background(), EntryQuery{Sources: []string{"stcn"}, Limit: 100})
				}
			} else {
				_, err = db.Save(context.Background(), result("stcn", "", item("new", "新条目", time.Now())))
			}
			wantCorruptError(t, op, err, path)
			wantCorruptError(t, "Ping after the "+op, db.Ping(context.Background()), path)
		})
	}
}

// BenchmarkCheckIntegrity times the check Open makes, on a database of
// FEEDRELAY_BENCH_DB_MIB MiB (default 64) of corpus items with their search
// index: quick_check, and the page probe used above quickCheckMaxBytes.
func BenchmarkCheckIntegrity(b *testing.B) {
	mib := 64
	if v := os.Getenv("FEEDRELAY_BENCH_DB_MIB"); v != "" {
		var err error
		if mib, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	db := mustOpen(b, filepath.Join(b.TempDir(), "bench.db"))
	c := newCorpus()
	for {
		size, err := db.Size()
		if err != nil {
			b.Fatal(err)
		}
		if size >= int64(mib)<<20 {
			break
		}
		for range 20 {
			if _, err := db.Save(ctx, c.batch("stcn", 200)); err != nil {
				b.Fatal(err)
			}
		}
		indexed(b, db)
	}
	if _, err := db.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	size, _ := db.Size()
	for _, method := range []string{"quick_check", "page probe"} {
		b.Run(method, func(b *testing.B) {
			defer func(old int64) { quickCheckMaxBytes = old }(quickCheckMaxBytes)
			if method == "page probe" {
				quickCheckMaxBytes = 0
			} else {
				quickCheckMaxBytes = size
			}
			for b.Loop() {
				got, err := db.CheckIntegrity(ctx)
				if err != nil || got.Method != method || !got.Complete {
					b.Fatalf("%+v, %v", got, err)
				}
			}
			b.ReportMetric(float64(size)/(1<<20)/(b.Elapsed().Seconds()/float64(b.N)), "MiB/s")
		})
	}
}
