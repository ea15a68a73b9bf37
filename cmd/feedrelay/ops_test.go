package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/config"
)

// growingSources serves stcn.xml and cnstock.xml (the paths writeConfig
// polls) as feeds that gain a batch of 5 items at every request: batch k of
// source s is the items "s/k/0" … "s/k/4", saved by the poller in one
// transaction.
func growingSources(t *testing.T) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	served := map[string]int{}
	handler := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			n := served[name]
			served[name]++
			mu.Unlock()
			var b strings.Builder
			fmt.Fprintf(&b, `<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>%s</title><link>https://example.org/%s/</link>`, name, name)
			// The newest 20 batches; older ones stay in the database.
			for k := n; k >= 0 && k > n-20; k-- {
				for j := range 5 {
					fmt.Fprintf(&b, `<item><title>%s 第%d批第%d条</title><link>https://example.org/%s/%d/%d.html</link><guid isPermaLink="false">%s/%d/%d</guid><pubDate>%s</pubDate><description>两市成交额放量。</description></item>`,
						name, k, j, name, k, j, name, k, j,
						time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC).Add(time.Duration(k)*time.Minute).Format(time.RFC1123Z))
				}
			}
			b.WriteString(`</channel></rss>`)
			w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
			fmt.Fprint(w, b.String())
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/stcn.xml", handler("stcn"))
	mux.HandleFunc("/cnstock.xml", handler("cnstock"))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

// openSQLiteRO opens a database file for reading only.
func openSQLiteRO(t *testing.T, path string) *sql.DB {
	t.Helper()
	c, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Opaque: path}).String()+"?_query_only=1&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dbItemCount(t *testing.T, c *sql.DB) int {
	t.Helper()
	var n int
	if err := c.QueryRow("SELECT COUNT(*) FROM items").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkBackup checks a backup with integrity_check and that every poll of
// growingSources is in it whole or not at all, and in order. It returns
// the number of items.
func checkBackup(t *testing.T, path string) int {
	t.Helper()
	c := openSQLiteRO(t, path)
	var res string
	if err := c.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check of the backup: %q %v", res, err)
	}
	rows, err := c.Query("SELECT identity FROM items")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	batches := map[string]map[int]int{} // source → batch → items
	total := 0
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		var src string
		var k, j int
		parts := strings.Split(id, "/")
		if len(parts) != 3 {
			t.Fatalf("unexpected identity %q", id)
		}
		src = parts[0]
		fmt.Sscan(parts[1], &k)
		fmt.Sscan(parts[2], &j)
		if batches[src] == nil {
			batches[src] = map[int]int{}
		}
		batches[src][k]++
		total++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(batches) != 2 {
		t.Errorf("backup holds items of %d sources, want 2", len(batches))
	}
	for src, bs := range batches {
		for k := range len(bs) {
			if bs[k] != 5 {
				t.Errorf("backup: poll %d of %s has %d of its 5 items", k, src, bs[k])
			}
		}
	}
	return total
}

// TestBackupCommand_WhileServing backs up the database of a running
// `feedrelay serve` whose poller keeps writing new items.
func TestBackupCommand_WhileServing(t *testing.T) {
	dir := t.TempDir()
	ts := growingSources(t)
	cfgPath := writeConfig(t, dir, "127.0.0.1:0", ts.URL, false)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	d := startServe(t, cfgPath)

	// Wait for a few polls to be written.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(cfg.Database); err == nil {
			// The schema may not be there yet.
			var n int
			if openSQLiteRO(t, cfg.Database).QueryRow("SELECT COUNT(*) FROM items").Scan(&n); n >= 20 {
				break
			}
		}
		d.checkRunning(t)
		if time.Now().After(deadline) {
			t.Fatal("the daemon wrote fewer than 20 items in 20s")
		}
		time.Sleep(200 * time.Millisecond)
	}

	live := openSQLiteRO(t, cfg.Database)
	out := filepath.Join(dir, "backups", "feedrelay.db")
	os.Mkdir(filepath.Dir(out), 0o755)
	prev := 0
	for i := range 3 {
		before := dbItemCount(t, live)
		var stdout, stderr bytes.Buffer
		// FILE before the flag works as well.
		args := []string{"-config", cfgPath, out}
		if i == 1 {
			args = []string{out, "-config", cfgPath}
		}
		if code := runBackup(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("backup %d: exit %d: %s", i, code, stderr.String())
		}
		after := dbItemCount(t, live)
		fi, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("%s: %d bytes", out, fi.Size()); !strings.HasPrefix(stdout.String(), want) {
			t.Errorf("backup printed %q, want it to start with %q", stdout.String(), want)
		}
		n := checkBackup(t, out)
		if n < before || n > after || n < prev {
			t.Errorf("backup %d holds %d items; the database held %d before, %d after, the previous backup %d", i, n, before, after, prev)
		}
		prev = n
		t.Logf("backup %d: %d items: %s", i, n, strings.TrimSpace(stdout.String()))
		d.checkRunning(t)
		time.Sleep(1100 * time.Millisecond) // one more poll
	}
	// The daemon goes on writing after the backups (a poll at each interval;
	// waited for, since a slow one may commit later than 1.1 s).
	for deadline := time.Now().Add(20 * time.Second); dbItemCount(t, live) <= prev; time.Sleep(100 * time.Millisecond) {
		d.checkRunning(t)
		if time.Now().After(deadline) {
			t.Fatalf("the daemon wrote nothing in 20 s after the backups (the last held %d items)", prev)
		}
	}
	d.stop(t, 5*time.Second)
}

func TestBackupCommand_Errors(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:0", "http://127.0.0.1:1", false)
	run := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := runBackup(context.Background(), args, &stdout, &stderr)
		return code, stderr.String()
	}
	if code, msg := run("-config", cfg); code != 2 || !strings.Contains(msg, "usage: feedrelay backup") {
		t.Errorf("no FILE: exit %d, %q", code, msg)
	}
	if code, _ := run("-config", cfg, "a.db", "b.db"); code != 2 {
		t.Errorf("two FILEs: exit %d, want 2", code)
	}
	if code, _ := run("-nope", "a.db"); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
	if code, msg := run("-config", filepath.Join(dir, "missing.yaml"), "a.db"); code != 2 || !strings.Contains(msg, "missing.yaml") {
		t.Errorf("missing config: exit %d, %q", code, msg)
	}

	// The database does not exist yet: an error naming it, and it is not
	// created.
	out := filepath.Join(dir, "copy.db")
	db := filepath.Join(dir, "feedrelay.db")
	if code, msg := run("-config", cfg, out); code != 1 || !strings.Contains(msg, db) || !strings.Contains(msg, out) {
		t.Errorf("missing database: exit %d, %q; want 1 naming %s and %s", code, msg, db, out)
	}
	for _, p := range []string{db, out} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a failed backup created %s", p)
		}
	}

	// An unwritable destination.
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"poll", "-config", cfg}, &stdout, &stderr); code == 2 {
		t.Fatalf("poll to create the database: %s", stderr.String())
	}
	bad := filepath.Join(dir, "nope", "copy.db")
	if code, msg := run("-config", cfg, bad); code != 1 || !strings.Contains(msg, bad) {
		t.Errorf("backup into a missing directory: exit %d, %q", code, msg)
	}
	// The database itself.
	if code, msg := run("-config", cfg, db); code != 1 || !strings.Contains(msg, "database itself") {
		t.Errorf("backup over the database: exit %d, %q", code, msg)
	}
}

func runHC(t *testing.T, cfg string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = runHealthcheck(context.Background(), []string{"-config", cfg}, &o, &e)
	return code, o.String(), e.String()
}

// healthcheck asks the serve of the same config, on the config's listen:
// address (a fixed port: healthcheck cannot read one chosen at start).
func TestHealthcheck_Serving(t *testing.T) {
	dir := t.TempDir()
	var cfg string
	d, addr := startServeFixed(t, func(addr string) string {
		cfg = writeConfig(t, dir, addr, "http://127.0.0.1:1", false)
		return cfg
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, stdout, stderr := runHC(t, cfg)
		if code == 0 {
			if want := "http://" + addr + "/healthz: ok\n"; stdout != want {
				t.Errorf("healthcheck printed %q, want %q", stdout, want)
			}
			break
		}
		if code != 1 || !strings.Contains(stderr, "unhealthy") {
			t.Fatalf("healthcheck while starting: exit %d, %q", code, stderr)
		}
		d.checkRunning(t)
		if time.Now().After(deadline) {
			t.Fatalf("healthcheck against serve: exit %d after 10s: %s", code, stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.stop(t, 5*time.Second)
	// Keep the port serve released bound, listening to nothing, so that
	// no other process starts listening on it before healthcheck asks.
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	if _, err := holdPort(t, p, true); err != nil {
		t.Fatalf("the port serve listened on, once it stopped: %v", err)
	}
	if code, _, stderr := runHC(t, cfg); code != 1 || !strings.Contains(stderr, "connection refused") {
		t.Errorf("healthcheck after serve stopped: exit %d, %q", code, stderr)
	}
}

func TestHealthcheck_Unhealthy(t *testing.T) {
	dir := t.TempDir()

	// Nobody listening: a port bound, and held so, but not listening.
	closed, err := holdPort(t, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, closed, "http://127.0.0.1:1", false)
	if code, _, stderr := runHC(t, cfg); code != 1 || !strings.Contains(stderr, "connection refused") || !strings.Contains(stderr, closed) {
		t.Errorf("closed port: exit %d, %q", code, stderr)
	}

	// The database does not answer.
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
	}))
	defer sick.Close()
	cfg = writeConfig(t, dir, sick.Listener.Addr().String(), "http://127.0.0.1:1", false)
	if code, _, stderr := runHC(t, cfg); code != 1 || !strings.Contains(stderr, "503 Service Unavailable: database unavailable") {
		t.Errorf("503: exit %d, %q", code, stderr)
	}

	// A server that accepts and never answers: 3 s, then unhealthy.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	cfg = writeConfig(t, dir, ln.Addr().String(), "http://127.0.0.1:1", false)
	start := time.Now()
	code, _, stderr := runHC(t, cfg)
	if took := time.Since(start); code != 1 || !strings.Contains(stderr, "no answer within 3s") || took > 5*time.Second {
		t.Errorf("hung server: exit %d after %v, %q", code, took, stderr)
	}

	// No config: unhealthy (Docker reserves exit status 2), naming it.
	if code, _, stderr := runHC(t, filepath.Join(dir, "missing.yaml")); code != 1 || !strings.Contains(stderr, "missing.yaml") {
		t.Errorf("missing config: exit %d, %q", code, stderr)
	}
	// A wrong command line.
	var o, e bytes.Buffer
	if code := runHealthcheck(context.Background(), []string{"-config", cfg, "extra"}, &o, &e); code != 2 {
		t.Errorf("extra argument: exit %d, want 2", code)
	}
}

func TestHealthcheck_URL(t *testing.T) {
	for listen, want := range map[string]string{
		"127.0.0.1:8080":   "http://127.0.0.1:8080/healthz",
		"0.0.0.0:8080":     "http://127.0.0.1:8080/healthz",
		":8080":            "http://127.0.0.1:8080/healthz",
		"[::]:8080":        "http://127.0.0.1:8080/healthz",
		"[::1]:9000":       "http://[::1]:9000/healthz",
		"localhost:8080":   "http://localhost:8080/healthz",
		"192.0.2.10:80":    "http://192.0.2.10:80/healthz",
		"relay.local:8080": "http://relay.local:8080/healthz",
	} {
		if got, err := healthURL(listen); err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", listen, got, err, want)
		}
	}
	for _, listen := range []string{"127.0.0.1:0", "nonsense"} {
		if got, err := healthURL(listen); err == nil {
			t.Errorf("healthURL(%q) = %q, want an error", listen, got)
		}
	}
}
