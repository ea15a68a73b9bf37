package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// openBackupCopy opens a backup read-only and checks it with integrity_check.
func openBackupCopy(t testing.TB, path string) *sql.DB {
	t.Helper()
	c, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Opaque: path}).String()+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var res string
	if err := c.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil {
		t.Fatalf("integrity_check of %s: %v", path, err)
	}
	if res != "ok" {
		t.Fatalf("integrity_check of %s: %s", path, res)
	}
	return c
}

// backupBatch is poll number n of source stcn: size items and the validator
// "b{n}", saved in one transaction.
func backupBatch(n, size int, content string) *feeds.Result {
	pub := time.Date(2026, 11, 26, 1, 30, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute)
	items := make([]feeds.Item, size)
	for j := range items {
		items[j] = item(fmt.Sprintf("b%d-%d", n, j), fmt.Sprintf("第%d批第%d条", n, j), pub)
		items[j].Content += content
	}
	return result("stcn", fmt.Sprintf("b%d", n), items...)
}

// checkBackupBatches checks that every batch in the copy is whole, that they are
// batches 0..n-1 with none missing, and that the source's validator is the
// one saved with the last of them. It returns n.
func checkBackupBatches(t *testing.T, c *sql.DB, size int) int {
	t.Helper()
	rows, err := c.Query(`SELECT substr(identity, 1, instr(identity, '-') - 1), COUNT(*)
		FROM items GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]int{}
	for rows.Next() {
		var b string
		var n int
		if err := rows.Scan(&b, &n); err != nil {
			t.Fatal(err)
		}
		seen[b] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for b, n := range seen {
		if n != size {
			t.Errorf("batch %s has %d of its %d items in the backup", b, n, size)
		}
	}
	n := len(seen)
	for i := range n {
		if _, ok := seen[fmt.Sprintf("b%d", i)]; !ok {
			t.Errorf("backup holds %d batches but not b%d", n, i)
		}
	}
	var etag string
	if err := c.QueryRow("SELECT etag FROM sources WHERE slug = 'stcn'").Scan(&etag); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("b%d", n-1); etag != want {
		t.Errorf("backup holds %d batches and the validator %q, want %q", n, etag, want)
	}
	return n
}

func TestBackup_WhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpen(t, filepath.Join(dir, "feedrelay.db"))
	const size = 20
	filler := strings.Repeat("<p>两市成交额放量，北向资金净流入。</p>", 20) // ~1 KiB an item
	// Enough rows that a copy takes a while.
	const seeded = 100
	for n := range seeded {
		if _, err := db.Save(ctx, backupBatch(n, size, filler)); err != nil {
			t.Fatal(err)
		}
	}

	// A poller saving batch after batch through the real API.
	var (
		committed atomic.Int64 // batches saved so far
		maxSave   atomic.Int64 // slowest Save, ns
		stop      = make(chan struct{})
		wg        sync.WaitGroup
		saveErr   error
	)
	committed.Store(seeded)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := seeded; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			if _, err := db.Save(ctx, backupBatch(n, size, filler)); err != nil {
				saveErr = err
				return
			}
			if d := int64(time.Since(start)); d > maxSave.Load() {
				maxSave.Store(d)
			}
			committed.Add(1)
		}
	}()

	dst := filepath.Join(dir, "backup", "feedrelay-backup.db")
	if err := os.Mkdir(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	var during int64 // batches committed while a backup ran
	prev := 0
	for i := range 5 {
		before := committed.Load()
		start := time.Now()
		// Again and again to the same file: yesterday's backup is replaced.
		if err := BackupFile(ctx, db.path, dst); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		after := committed.Load()
		during += after - before

		c := openBackupCopy(t, dst)
		n := checkBackupBatches(t, c, size)
		if int64(n) < before || int64(n) > after+1 {
			t.Errorf("backup %d holds %d batches; %d were committed when it started, %d when it ended", i, n, before, after)
		}
		if n < prev {
			t.Errorf("backup %d holds %d batches, fewer than the one before (%d)", i, n, prev)
		}
		prev = n
		var mode string
		var pageSize int
		c.QueryRow("PRAGMA journal_mode").Scan(&mode)
		c.QueryRow("PRAGMA page_size").Scan(&pageSize)
		if mode == "wal" || pageSize != 8192 {
			t.Errorf("backup: journal_mode %s, page_size %d; want a self-contained file with 8 KiB pages", mode, pageSize)
		}
		c.Close()
		fi, _ := os.Stat(dst)
		t.Logf("backup %d: %d items, %d bytes, %v; %d batches committed meanwhile", i, n*size, fi.Size(), took.Round(time.Millisecond), after-before)
	}
	close(stop)
	wg.Wait()
	if saveErr != nil {
		t.Fatalf("Save during backups: %v", saveErr)
	}
	t.Logf("slowest Save while backing up: %v", time.Duration(maxSave.Load()).Round(time.Millisecond))
	if during == 0 {
		t.Error("no batch was committed while a backup ran: the backup blocks the writer")
	}
	// Only the backup in its directory: no temporary file, no journal.
	ents, err := os.ReadDir(filepath.Dir(dst))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("backup directory holds %v, want only the backup", names)
	}
	if fi, err := os.Stat(dst); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode: %v %v, want 0600", fi.Mode(), err)
	}
}

// A transaction open on the writer neither blocks a backup nor shows in it.
func TestBackup_OpenWriteTransaction(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpen(t, filepath.Join(dir, "feedrelay.db"))
	if _, err := db.Save(ctx, backupBatch(0, 3, "")); err != nil {
		t.Fatal(err)
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM items"); err != nil {
		t.Fatal(err)
	}
	bctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	dst := filepath.Join(dir, "copy.db")
	if err := BackupFile(bctx, db.path, dst); err != nil {
		t.Fatalf("backup while a write transaction is open: %v", err)
	}
	if n := checkBackupBatches(t, openBackupCopy(t, dst), 3); n != 1 {
		t.Errorf("backup holds %d batches, want the committed one", n)
	}
}

func TestBackup_Refusals(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	live := filepath.Join(dir, "feedrelay.db")
	db := mustOpen(t, live)
	if _, err := db.Save(ctx, backupBatch(0, 3, "")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(live)

	// The database itself, by another name.
	if err := os.Symlink(live, filepath.Join(dir, "link.db")); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []string{live, filepath.Join(dir, ".", "feedrelay.db"), filepath.Join(dir, "link.db")} {
		err := BackupFile(ctx, db.path, dst)
		if err == nil || !strings.Contains(err.Error(), "the database itself") {
			t.Errorf("backup to %s: %v, want a refusal", dst, err)
		}
	}
	if after, _ := os.ReadFile(live); string(after) != string(before) {
		t.Error("the database changed")
	}
	if n := checkBackupBatches(t, openBackupCopy(t, live), 3); n != 1 {
		t.Errorf("database holds %d batches after refused backups", n)
	}

	// A directory, a missing directory.
	for _, dst := range []string{dir, filepath.Join(dir, "nope", "copy.db")} {
		if err := BackupFile(ctx, db.path, dst); err == nil || !strings.Contains(err.Error(), dst) {
			t.Errorf("backup to %s: %v, want an error naming it", dst, err)
		}
	}

	// A database that does not exist is not created.
	missing := filepath.Join(dir, "missing.db")
	if err := BackupFile(ctx, missing, filepath.Join(dir, "copy.db")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup of a missing database: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Error("backup of a missing database created it")
	}

	// Cancelled: yesterday's backup stays, no temporary file.
	dst := filepath.Join(dir, "out", "copy.db")
	os.Mkdir(filepath.Dir(dst), 0o755)
	os.WriteFile(dst, []byte("yesterday"), 0o600)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := BackupFile(cctx, db.path, dst); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled backup: %v", err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "yesterday" {
		t.Errorf("a failed backup replaced the previous one with %d bytes", len(b))
	}
	if ents, _ := os.ReadDir(filepath.Dir(dst)); len(ents) != 1 {
		t.Errorf("a failed backup left %d files", len(ents))
	}
	// And then one that works replaces it.
	if err := BackupFile(ctx, db.path, dst); err != nil {
		t.Fatal(err)
	}
	if n := checkBackupBatches(t, openBackupCopy(t, dst), 3); n != 1 {
		t.Errorf("backup holds %d batches", n)
	}
}

// BenchmarkBackup reports the time and size of a backup of a database of
// 20 000 items (~1 KiB of content each).
func BenchmarkBackup(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	db := mustOpen(b, filepath.Join(dir, "feedrelay.db"))
	filler := strings.Repeat("<p>两市成交额放量，北向资金净流入。</p>", 20)
	const batches, size = 200, 100
	for n := range batches {
		if _, err := db.Save(ctx, backupBatch(n, size, filler)); err != nil {
			b.Fatal(err)
		}
	}
	src, _ := os.Stat(filepath.Join(dir, "feedrelay.db"))
	dst := filepath.Join(dir, "copy.db")
	b.ResetTimer()
	for b.Loop() {
		if err := BackupFile(ctx, db.path, dst); err != nil {
			b.Fatal(err)
		}
	}
	fi, _ := os.Stat(dst)
	b.ReportMetric(float64(fi.Size()), "backup-bytes")
	b.ReportMetric(float64(src.Size()), "db-bytes")
	b.ReportMetric(batches*size, "items")
}
