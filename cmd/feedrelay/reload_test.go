package main

import (
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitFor polls url until ok accepts its status and body, or fails the test.
func waitFor(t *testing.T, d *daemon, url string, what string, ok func(int, string) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		d.checkRunning(t)
		if resp, err := http.Get(url); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if ok(resp.StatusCode, string(body)) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s (%s)", what, url)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// SIGHUP swaps the config whole: a new source starts polling and is
// published; a broken file is refused with its file:line and the running
// config stays.
func TestServeReloadsOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	ts := sources(t)
	const listen = "127.0.0.1:0"
	cfg := writeConfig(t, dir, listen, ts.URL, false)
	d := startServe(t, cfg)
	base := "http://" + d.addr(t)
	waitFor(t, d, base+"/feeds/markets.atom", "the first config's entries", func(code int, body string) bool {
		return code == 200 && strings.Count(body, "<entry>") == 3
	})
	if resp, err := http.Get(base + "/sources/broken.atom"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("before the reload, /sources/broken.atom: %v %v", resp.StatusCode, err)
	}

	writeConfig(t, dir, listen, ts.URL, true) // adds the Broken source
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, d, base+"/", "the added source polled and on the index", func(code int, body string) bool {
		return code == 200 && strings.Contains(body, "HTTP 500 Internal Server Error")
	})
	waitFor(t, d, base+"/sources/broken.atom", "the added source published", func(code int, body string) bool { return code == 200 })
	if !strings.Contains(d.logs.String(), `"msg":"config reloaded"`) {
		t.Error("no 'config reloaded' in the log")
	}

	if err := os.WriteFile(cfg, []byte("listen: "+listen+"\nsources:\n  - name: x\n    url: ftp://nope\n    colour: red\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, d, base+"/healthz", "alive after a broken reload", func(code int, _ string) bool {
		return strings.Contains(d.logs.String(), "config reload failed")
	})
	logs := d.logs.String()
	if !strings.Contains(logs, cfg+":5: sources[0].colour") {
		t.Errorf("the reload error does not name file:line:\n%s", logs)
	}
	if resp, err := http.Get(base + "/sources/broken.atom"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("after a broken reload the running config must stay: /sources/broken.atom %v %v", resp.StatusCode, err)
	}
	d.stop(t, 5*time.Second)
}
