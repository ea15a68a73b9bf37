package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// poll -trace writes an execution trace of the whole poll that go tool
// trace reads (its header names the Go release), beside a normal poll;
// a trace file it cannot create fails the command before anything is
// polled, naming the file.
func TestPollTrace(t *testing.T) {
	ts := sources(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:0", ts.URL, false)
	path := filepath.Join(dir, "poll.trace")
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"poll", "-config", cfg, "-trace", path}, &out, &errOut); code != 0 {
		t.Fatalf("poll -trace exited %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "zhengquanshibaowang (证券时报网): new 2") {
		t.Errorf("poll -trace printed %q, want the poll's summary", out.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^go 1\.\d+ trace\x00`).Match(b) || len(b) < 1000 {
		t.Errorf("trace file of %d bytes starts %q, want a runtime/trace of the poll", len(b), b[:min(len(b), 16)])
	}

	errOut.Reset()
	missing := filepath.Join(dir, "no-such-dir", "poll.trace")
	if code := Run(context.Background(), []string{"poll", "-config", cfg, "-trace", missing}, &out, &errOut); code != 1 {
		t.Errorf("poll -trace into a missing directory exited %d, want 1", code)
	}
	if !strings.Contains(errOut.String(), missing) {
		t.Errorf("stderr %q does not name the trace file", errOut.String())
	}
}

// poll -memprofile writes a profile of what the poll allocated (pprof's
// gzip-compressed format), beside a normal poll; a file it cannot create
// fails the command before anything is polled, naming the file.
func TestPollMemProfile(t *testing.T) {
	ts := sources(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:0", ts.URL, false)
	path := filepath.Join(dir, "poll.mem")
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"poll", "-config", cfg, "-memprofile", path}, &out, &errOut); code != 0 {
		t.Fatalf("poll -memprofile exited %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "zhengquanshibaowang (证券时报网): new 2") {
		t.Errorf("poll -memprofile printed %q, want the poll's summary", out.String())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("memory profile is not pprof's gzip format: %v", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil || !bytes.Contains(b, []byte("alloc_space")) {
		t.Errorf("memory profile (%d bytes, %v) names no alloc_space sample type", len(b), err)
	}

	errOut.Reset()
	missing := filepath.Join(dir, "no-such-dir", "poll.mem")
	if code := Run(context.Background(), []string{"poll", "-config", cfg, "-memprofile", missing}, &out, &errOut); code != 1 {
		t.Errorf("poll -memprofile into a missing directory exited %d, want 1", code)
	}
	if !strings.Contains(errOut.String(), missing) {
		t.Errorf("stderr %q does not name the profile file", errOut.String())
	}
}
