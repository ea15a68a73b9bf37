package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/internal/pgtest"
	"github.com/feedrelay/feedrelay/storage"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// TestMain also stops the private PostgreSQL the tests started, if any.
func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// eachBackend runs test against each storage backend, as the subtests
// sqlite and postgres: database is what the config's database: says ("" for
// the default file beside the config; a new PostgreSQL database's URL).
func eachBackend(t *testing.T, test func(t *testing.T, database string)) {
	t.Run("sqlite", func(t *testing.T) { test(t, "") })
	t.Run("postgres", func(t *testing.T) { test(t, pgDatabase(t)) })
}

// pgDatabase is the URL of a new, migrated PostgreSQL database.
func pgDatabase(t *testing.T) string {
	return pgtest.Database(t, "feedrelay", func(ctx context.Context, dsn string) error {
		db, err := storage.Open(ctx, dsn)
		if err != nil {
			return err
		}
		return db.Close()
	})
}

// binary builds the feedrelay command once for the tests that run it as a
// separate process, as operators do.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "feedrelay-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "feedrelay")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// daemon is a running `feedrelay serve`.
type daemon struct {
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{} // closed when the process has exited, with err
	err  error         // how it exited; set before done is closed
}

// startServe runs `feedrelay serve -config cfg`; it is killed when the test
// ends, and its logs are shown if the test failed.
func startServe(t *testing.T, cfg string) *daemon {
	t.Helper()
	d := &daemon{
		cmd:  exec.Command(binary(t), "serve", "-config", cfg),
		logs: &syncBuffer{},
		done: make(chan struct{}),
	}
	d.cmd.Stdout, d.cmd.Stderr = d.logs, d.logs
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(func() {
		d.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("feedrelay logs:\n%s", d.logs.String())
		}
	})
	return d
}

// checkRunning stops the test if the daemon has exited.
func (d *daemon) checkRunning(t *testing.T) {
	t.Helper()
	if d.exited() {
		t.Fatalf("serve exited early: %v", d.err)
	}
}

// exited reports whether the process has ended (d.err says how).
func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and expects exit status 0 within the given time.
func (d *daemon) stop(t *testing.T, within time.Duration) {
	t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		if d.err != nil {
			t.Errorf("serve exited with %v after SIGTERM, want 0", d.err)
		}
	case <-time.After(within):
		t.Errorf("serve still running %v after SIGTERM", within)
	}
}

// peakRSS is the daemon's peak resident set so far (VmHWM), in bytes.
func (d *daemon) peakRSS(t *testing.T) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
