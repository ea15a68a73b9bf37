package server

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/storage"
	"github.com/feedrelay/feedrelay/storage/storagetest"
)

// Damage to the database file that appears while serving turns /healthz
// and /readyz to 503 once a query meets it, so that an orchestrator or a
// monitor notices; the log names the file and how to restore it.
func TestHealthz_CorruptionAtRunTime(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "feedrelay.db")
	db, err := storage.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SyncSources(ctx, []storage.SourceInfo{{Slug: "stcn", Name: "证券时报网", URL: "https://example.org/stcn"}}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for b := range 10 {
		addItems(t, db, "stcn", b*200, 200, t0)
	}
	db.Close()
	db, err = storage.Open(ctx, path) // as serve starts: the file is intact
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var logs syncBuffer
	srv := New(db, nil, slog.New(slog.NewTextHandler(&logs, nil)), &Options{Options: publish.Options{
		BaseURL: "https://relay.example.org/", Title: "feedrelay", PageSize: 50,
		Attribution: template.Must(template.New("a").Parse(defaultAttribution)),
		Sources:     []publish.Source{{Slug: "stcn", Name: "证券时报网", URL: "https://example.org/stcn"}},
	}})
	srv.SetReady(true)
	for _, p := range []string{"/healthz", "/readyz"} {
		if rec := get(t, srv, p); rec.Code != http.StatusOK {
			t.Fatalf("%s before the damage: %d", p, rec.Code)
		}
	}

	storagetest.Corrupt(t, path, 64<<10, 0)
	// The next poll meets the damage.
	poll := &feeds.Result{Source: "stcn", Attempted: time.Now(), StatusCode: 200, Feed: &feeds.Feed{Title: "stcn",
		Items: []feeds.Item{{Identity: "new", GUID: "new", Title: "新条目", Hash: "new", Link: "https://example.org/new", Published: time.Now()}}}}
	it := &poll.Feed.Items[0]
	it.EntryID = (&feeds.Source{Slug: "stcn"}).EntryID(it, poll.Attempted)
	if _, err := db.Save(ctx, poll); !errors.Is(err, storage.ErrCorrupt) {
		t.Fatalf("a poll into the damaged file: %v, want a corrupt-database error", err)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		rec := get(t, srv, p)
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "corrupt") {
			t.Errorf("%s after the damage: %d %q, want 503 saying the database is corrupt", p, rec.Code, rec.Body.String())
		}
	}
	if !strings.Contains(logs.String(), path+" is corrupt") || !strings.Contains(logs.String(), "feedrelay backup") {
		t.Errorf("the log does not name the file and the backup to restore:\n%s", logs.String())
	}
}
