package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The slips people make on the command line get an answer that says what
// happened: a config file named without -config is not silently replaced
// by ./config.yaml, a flag after a command's argument is read, -h is not
// an error, and the version and each command's flags can be asked for.
func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	good := writeConfig(t, dir, "127.0.0.1:0", "http://127.0.0.1:1", false)
	broken := filepath.Join(dir, "broken.yaml")
	if err := os.WriteFile(broken, []byte("sources:\n  - name: A\n    url: https://a.example/rss\n    categroy: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Run from the folder of a good config.yaml, the default -config.
	t.Chdir(dir)
	if filepath.Base(good) != "config.yaml" {
		t.Fatalf("the good config is %s, want ./config.yaml", good)
	}
	run := func(args ...string) (code int, stdout, stderr string) {
		var out, errOut bytes.Buffer
		// Bounded: a serve that took ./config.yaml would run on.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		code = Run(ctx, args, &out, &errOut)
		return code, out.String(), errOut.String()
	}

	for _, cmd := range []string{"check", "poll", "serve"} {
		code, out, errOut := run(cmd, "broken.yaml")
		if code != exitUsage || strings.Contains(out, "ok") ||
			!strings.Contains(errOut, `unexpected argument "broken.yaml"`) || !strings.Contains(errOut, "feedrelay "+cmd+" -config broken.yaml") {
			t.Errorf("%s broken.yaml: exit %d, stdout %q, stderr %q; want a usage error pointing to -config", cmd, code, out, errOut)
		}
	}
	if code, out, errOut := run("check", "-config", "broken.yaml", "extra"); code != exitUsage || out != "" || !strings.Contains(errOut, `unexpected argument "extra"`) {
		t.Errorf("check -config broken.yaml extra: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Flags after the argument are flags.
	if code, _, errOut := run("export", "static", filepath.Join(dir, "site"), "-ping"); code != exitUsage || !strings.Contains(errOut, "names no websub.hubs") {
		t.Errorf("export static DIR -ping: exit %d, stderr %q; want -ping read (this config has no hubs)", code, errOut)
	}
	if code, _, errOut := run("check", "-config"); code != exitUsage || !strings.Contains(errOut, "flag needs an argument") {
		t.Errorf("check -config (no value): exit %d, stderr %q", code, errOut)
	}

	for _, args := range [][]string{{"poll", "-h"}, {"export", "static", "-help"}, {"backup", "-h"}, {"help", "poll"},
		{"help", "export"}, {"help", "export", "static"}} {
		code, out, errOut := run(args...)
		if code != exitOK || !strings.Contains(out+errOut, "-config") {
			t.Errorf("%q: exit %d, output %q; want the flags and exit 0", args, code, out+errOut)
		}
	}
	if _, out, errOut := run("help", "poll"); !strings.Contains(out+errOut, "-dry-run") {
		t.Errorf("help poll does not show poll's flags: %q", out+errOut)
	}
	// -source takes a slug or a name, and suggests the slug of a typo.
	if code, _, errOut := run("poll", "-source", "zhengquanshibaowng"); code != exitUsage || !strings.Contains(errOut, `did you mean "zhengquanshibaowang"?`) {
		t.Errorf("poll -source with a typo: exit %d, stderr %q; want a suggestion", code, errOut)
	}
	if code, _, errOut := run("explain", "-source", "nope"); code != exitUsage || !strings.Contains(errOut, `has no source "nope"`) {
		t.Errorf("explain -source nope: exit %d, stderr %q", code, errOut)
	}
	if code, out, _ := run("poll", "-source", "证券时报网"); code != exitFailed || !strings.HasPrefix(out, "zhengquanshibaowang (证券时报网): error") {
		t.Errorf("poll -source by name: exit %d, stdout %q; want that source polled (its origin is unreachable)", code, out)
	}
	if code, _, errOut := run("version", "-x"); code != exitUsage || !strings.Contains(errOut, `unexpected argument "-x"`) {
		t.Errorf("version -x: exit %d, stderr %q; want a usage error", code, errOut)
	}
	if code, out, _ := run("help", "import-opml"); code != exitOK || !strings.Contains(out, "usage: feedrelay import-opml FILE") {
		t.Errorf("help import-opml: exit %d, %q", code, out)
	}
	if code, out, _ := run("help", "version"); code != exitOK || !strings.Contains(out, "usage: feedrelay version") {
		t.Errorf("help version: exit %d, %q", code, out)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		if code, out, _ := run(args...); code != exitOK || !strings.HasPrefix(out, "feedrelay ") || !strings.Contains(out, "go1.") {
			t.Errorf("%q: exit %d, %q; want feedrelay's version and Go's", args, code, out)
		}
	}
}
