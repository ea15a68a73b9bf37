package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The cron recipe of the old site: poll, then export; a second export of
// the same database writes nothing. Bad flags are usage errors.
func TestExportCommand(t *testing.T) {
	ts := sources(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:0", ts.URL, false)
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"poll", "-config", cfg}, &out, &errOut); code != 0 {
		t.Fatalf("poll exited %d: %s", code, errOut.String())
	}
	site, static := filepath.Join(dir, "site"), filepath.Join(dir, "www")
	for _, run := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "jekyll", "-config", cfg, site}, `^jekyll export to .*/site: [1-9]\d* written, 0 unchanged, 0 removed\n$`},
		{[]string{"export", "jekyll", "-config", cfg, "-prune", site}, `^jekyll export to .*/site: 0 written, [1-9]\d* unchanged, 0 removed\n$`},
		{[]string{"export", "static", "-config", cfg, static}, `^static export to .*/www: [1-9]\d* written, 0 unchanged, 0 removed\n$`},
		{[]string{"export", "static", "-config", cfg, static}, `^static export to .*/www: 0 written, [1-9]\d* unchanged, 0 removed\n$`},
	} {
		out.Reset()
		errOut.Reset()
		if code := Run(context.Background(), run.args, &out, &errOut); code != 0 || !regexp.MustCompile(run.want).MatchString(out.String()) {
			t.Errorf("%q: exit %d, printed %q (stderr %q); want %s", run.args, code, out.String(), errOut.String(), run.want)
		}
	}
	if posts, _ := filepath.Glob(filepath.Join(site, "_posts", "*-feedrelay-*.md")); len(posts) != 3 {
		t.Errorf("%d posts, want the 3 items polled", len(posts))
	}
	if _, err := os.Stat(filepath.Join(static, "feeds", "all.atom")); err != nil {
		t.Error(err)
	}
	for _, args := range [][]string{
		{"export"},
		{"export", "pdf", dir},
		{"export", "jekyll", "-config", cfg},
		{"export", "jekyll", "-config", cfg, "-since", "12/01/2022", site},
	} {
		errOut.Reset()
		if code := Run(context.Background(), args, &out, &errOut); code != exitUsage || errOut.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q; want a usage error", args, code, errOut.String())
		}
	}
	errOut.Reset()
	if code := Run(context.Background(), []string{"export", "jekyll", "-config", cfg, "-category", "nope", site}, &out, &errOut); code != exitFailed || !strings.Contains(errOut.String(), `no category "nope"`) {
		t.Errorf("-category nope: exit %d, stderr %q", code, errOut.String())
	}
}
