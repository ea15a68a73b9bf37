package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// An operator moves a SQLite install to PostgreSQL as the README says: poll
// into SQLite, `feedrelay copy`, point database: at the URL. The feeds
// written from PostgreSQL are byte for byte those written from SQLite (entry
// ids, dates and attribution unchanged), the next poll sends the copied
// validators (the unchanged source answers 304) and finds nothing new, and
// the index page keeps each source's health and history.
func TestCopyCommand_MoveToPostgres(t *testing.T) {
	ctx := context.Background()
	ts := sources(t)
	dir := t.TempDir()
	run := func(args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := Run(ctx, args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	lite := writeConfig(t, dir, "127.0.0.1:0", ts.URL, true)
	// What nothing else dates (an empty feed, the OPML) a static export
	// dates by its config file's time: the two configs', the same.
	configTime := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	if err := os.Chtimes(lite, configTime, configTime); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := run("poll", "-config", lite); code != 1 {
		t.Fatalf("poll into SQLite (one broken source): exit %d\n%s%s", code, out, errOut)
	}
	before := filepath.Join(t.TempDir(), "site")
	if code, _, errOut := run("export", "static", "-config", lite, before); code != 0 {
		t.Fatalf("export from SQLite: exit %d: %s", code, errOut)
	}

	url := pgDatabase(t)
	code, out, errOut := run("copy", "-from", filepath.Join(dir, "feedrelay.db"), "-to", url)
	if code != 0 {
		t.Fatalf("copy: exit %d: %s", code, errOut)
	}
	if m := regexp.MustCompile(`: 3 sources, 3 items, 0 pruned identities, (\d+) polls, 0 full-text states\n$`).FindStringSubmatch(out); m == nil || m[1] != "3" {
		t.Errorf("copy said %q, want 3 sources, 3 items and their 3 polls", out)
	}

	pgDir := t.TempDir()
	pg := writeConfigDB(t, pgDir, "127.0.0.1:0", ts.URL, true, url)
	if err := os.Chtimes(pg, configTime, configTime); err != nil {
		t.Fatal(err)
	}
	after := filepath.Join(t.TempDir(), "site")
	if code, _, errOut := run("export", "static", "-config", pg, after); code != 0 {
		t.Fatalf("export from PostgreSQL: exit %d: %s", code, errOut)
	}
	files := 0
	filepath.WalkDir(before, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(before, path)
		want, _ := os.ReadFile(path)
		got, err := os.ReadFile(filepath.Join(after, rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s written from PostgreSQL differs from SQLite's (%v)%s", rel, err, firstLineDiff(got, want))
		}
		files++
		return nil
	})
	if files == 0 {
		t.Fatal("export static wrote no files")
	}

	code, out, errOut = run("poll", "-config", pg)
	if code != 1 {
		t.Fatalf("poll from PostgreSQL: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"zhengquanshibaowang (证券时报网): unchanged (not modified)", // the copied ETag sent
		"cnstock (中国证券网): new 0, updated 0, unchanged 1",
		"broken (Broken): error: fetch: HTTP 500 Internal Server Error (2 failures in a row)", // its health kept
	} {
		if !strings.Contains(out, want) {
			t.Errorf("poll from PostgreSQL after the copy said\n%s\nwant a line %q", out, want)
		}
	}
}

// firstLineDiff shows the first line in which got and want differ.
func firstLineDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf(": line %d\n  got  %.300s\n  want %.300s", i+1, gl, wl)
		}
	}
	return ""
}
