package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// poll -trace writes an execution trace of the whole poll that go tool
// trace reads (its header names the Go release), and poll -memprofile a
// profile of what it allocated (pprof's gzip-compressed format), beside a
// normal poll; a file either cannot create fails the command before
// anything is polled, naming the file.
func TestPollProfiles(t *testing.T) {
	for _, c := range []struct {
		flag  string
		check func(b []byte) error
	}{
		{"-trace", func(b []byte) error {
			if !regexp.MustCompile(`^go 1\.\d+ trace\x00`).Match(b) || len(b) < 1000 {
				return fmt.Errorf("%d bytes starting %q, not a runtime/trace of the poll", len(b), b[:min(len(b), 16)])
			}
			return nil
		}},
		{"-memprofile", func(b []byte) error {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return fmt.Errorf("not pprof's gzip format: %w", err)
			}
			p, err := io.ReadAll(zr)
			if err != nil || !bytes.Contains(p, []byte("alloc_space")) {
				return fmt.Errorf("%d bytes (%v) naming no alloc_space sample type", len(p), err)
			}
			// Every allocs profile names its sample types; this one must
			// hold the poll's own allocations.
			if !bytes.Contains(p, []byte("feedrelay/feeds.Parse")) {
				return fmt.Errorf("a profile of %d bytes holding no allocation of feeds.Parse", len(p))
			}
			return nil
		}},
	} {
		t.Run(c.flag, func(t *testing.T) {
			ts := sources(t)
			dir := t.TempDir()
			cfg := writeConfig(t, dir, "127.0.0.1:0", ts.URL, false)
			path := filepath.Join(dir, "poll.out")
			var out, errOut bytes.Buffer
			if code := Run(context.Background(), []string{"poll", "-config", cfg, c.flag, path}, &out, &errOut); code != 0 {
				t.Fatalf("poll %s exited %d: %s", c.flag, code, errOut.String())
			}
			if !strings.Contains(out.String(), "zhengquanshibaowang (证券时报网): new 2") {
				t.Errorf("poll %s printed %q, want the poll's summary", c.flag, out.String())
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.check(b); err != nil {
				t.Errorf("poll %s wrote %s", c.flag, err)
			}

			errOut.Reset()
			missing := filepath.Join(dir, "no-such-dir", "poll.out")
			if code := Run(context.Background(), []string{"poll", "-config", cfg, c.flag, missing}, &out, &errOut); code != 1 {
				t.Errorf("poll %s into a missing directory exited %d, want 1", c.flag, code)
			}
			if !strings.Contains(errOut.String(), missing) {
				t.Errorf("stderr %q does not name the file", errOut.String())
			}
		})
	}
}
