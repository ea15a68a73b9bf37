package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds/feedstest"
)

// kill -9 at any moment loses nothing committed and duplicates nothing: the
// daemon is killed again and again while it ingests a 20,000-item source
// that changes every item between rounds; after each kill the items and
// their validators are of one version, whole (a source whose items were not
// committed is fetched in full next time), and in the end the database is
// intact with every item once.
func TestServeSurvivesKill9(t *testing.T) {
	const items = 20000
	var version atomic.Int32
	var requests atomic.Int32
	seen := make(chan struct{}, 100)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		v := fmt.Sprintf("v%d", version.Load())
		w.Header().Set("ETag", `"`+v+`"`)
		if r.Header.Get("If-None-Match") == `"`+v+`"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		w.Write(feedstest.RSS(items, v))
		select {
		case seen <- struct{}{}:
		default:
		}
	}))
	defer src.Close()

	dir := t.TempDir()
	dbPath := filepath.Join(dir, "feedrelay.db")
	cfgPath := filepath.Join(dir, "config.yaml")
	// One fixed address, as an operator's config has: each restart
	// binds the port of the daemon just killed (startServeAt starts it
	// again should another process take the port meanwhile).
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`listen: %s
base_url: http://%s/
database: %s
log: {format: json, level: info}
categories: [{slug: markets, title: 市场}]
sources:
  - {name: big, slug: big, url: "%s", interval: 1s, categories: [markets]}
`, addr, addr, dbPath, src.URL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	kills := 0
	for round := 0; round < 8; round++ {
		version.Store(int32(round)) // every item changes: a full rewrite
		for len(seen) > 0 {
			<-seen
		}
		d := startServeAt(t, cfgPath)
		// Kill once the body has been sent, at a random point of the
		// parse-and-store that follows (about a second in all) or after it.
		select {
		case <-seen:
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: the source was not fetched", round)
		}
		time.Sleep(time.Duration(rand.IntN(1500)) * time.Millisecond)
		d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
		kills++

		// Titles end with the version: one version, whole, with its ETag.
		db := openSQLiteRO(t, dbPath)
		var etag string
		var n, versions int
		var newest string
		err := db.QueryRow(`SELECT s.etag, COUNT(i.id), COUNT(DISTINCT substr(i.title, instr(i.title, ' ') + 1)),
			COALESCE(MAX(substr(i.title, instr(i.title, ' ') + 1)), '')
			FROM sources s LEFT JOIN items i ON i.source_id = s.id WHERE s.slug = 'big'`).Scan(&etag, &n, &versions, &newest)
		db.Close()
		if err != nil {
			t.Fatalf("after kill %d: %v", kills, err)
		}
		t.Logf("kill %d (round %d): %d items of %d version(s), newest %q, etag %s", kills, round, n, versions, newest, etag)
		switch {
		case n != 0 && n != items:
			t.Fatalf("after kill %d: %d items: a poll was half committed", kills, n)
		case versions > 1:
			t.Fatalf("after kill %d: items of %d versions: a rewrite was half committed", kills, versions)
		case n == 0 && etag != "", n == items && etag != `"`+newest+`"`:
			t.Fatalf("after kill %d: etag %s with items of version %q: validators and items disagree", kills, etag, newest)
		}
	}

	// Finish the job with a clean run, then check the file.
	d := startServeAt(t, cfgPath)
	waitFor(t, d, "http://"+addr+"/sources/big.atom", "the source ingested", func(code int, body string) bool {
		return code == 200 && len(body) > 10000
	})
	d.stop(t, 10*time.Second)
	db := openSQLiteRO(t, dbPath)
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	var total, distinct, distinctIDs int
	db.QueryRow("SELECT COUNT(*), COUNT(DISTINCT source_id || ' ' || identity), COUNT(DISTINCT entry_id) FROM items").Scan(&total, &distinct, &distinctIDs)
	if total != items || distinct != items || distinctIDs != items {
		t.Errorf("after %d kills: %d items, %d distinct identities, %d distinct entry ids; want %d of each", kills, total, distinct, distinctIDs, items)
	}
	t.Logf("%d kills, %d requests to the source, %d items in the end", kills, requests.Load(), total)
}
