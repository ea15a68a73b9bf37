package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/storage"
	"github.com/feedrelay/feedrelay/storage/storagetest"
)

// A database file with 256 KiB of random bytes in its middle: serve and
// poll refuse to start, naming the file and how to restore it, instead of
// serving 500s ("malformed") behind a healthy /healthz.
func TestStart_RefusesCorruptDatabase(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:0", "http://127.0.0.1:1", false)
	path := filepath.Join(dir, "feedrelay.db")
	ctx := context.Background()
	db, err := storage.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SyncSources(ctx, []storage.SourceInfo{{Slug: "cnstock", Name: "中国证券网", URL: "http://127.0.0.1:1/cnstock.xml"}}); err != nil {
		t.Fatal(err)
	}
	f := &feeds.Feed{Title: "中国证券网"}
	for i := range 3000 {
		id := fmt.Sprintf("cnstock-%d", i)
		f.Items = append(f.Items, feeds.Item{Identity: id, GUID: id, Hash: id, Title: "科创板新增上市公司 " + id,
			Link: "https://www.cnstock.com/a/" + id, Content: "<p>" + strings.Repeat("募资总额创新高。", 40) + "</p>",
			Published: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)})
	}
	src := &feeds.Source{Slug: "cnstock"}
	src.Identify(f, time.Now())
	if _, err := db.Save(ctx, &feeds.Result{Source: "cnstock", Attempted: time.Now(), StatusCode: 200, Feed: f}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	storagetest.Middle(t, path)

	for _, cmd := range []string{"poll", "serve"} {
		var out, errOut bytes.Buffer
		runCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		code := Run(runCtx, []string{cmd, "-config", cfg}, &out, &errOut)
		cancel()
		if code != exitFailed {
			t.Errorf("%s on a corrupt database exited %d, want %d", cmd, code, exitFailed)
		}
		for _, want := range []string{path + " is corrupt", "feedrelay backup", path + "-wal"} {
			if !strings.Contains(errOut.String(), want) {
				t.Errorf("%s: stderr does not say %q:\n%s", cmd, want, errOut.String())
			}
		}
	}
}
