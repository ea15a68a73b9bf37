// Package pgtest gives tests a private PostgreSQL: one cluster per test
// binary, initialized by Debian's server binaries into a temporary folder,
// listening only on a unix socket there, and one fresh database per test,
// cloned from a template prepared once. It never connects to a server that
// happens to be running.
//
// Use it from a package's TestMain, so that the cluster stops when the tests
// end:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// and in a test:
//
//	dsn := pgtest.Database(t, "storage", migrate)
//
// The server also dies with the test binary when that is killed (the kernel
// signals it: Pdeathsig), and the folders of killed runs are removed by the
// next run. When the binaries are missing, Database fails the test with the
// install hint: tests never pass by skipping.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// binGlob is where Debian's postgresql-NN packages put the server programs.
// The harness looks only there, newest version first, whatever PATH says
// (a machine may carry symlinks or other builds in /usr/local/bin). A
// variable for the test of the missing-binaries error.
var binGlob = "/usr/lib/postgresql/*/bin"

// installHint is what to do when no server binaries are found.
const installHint = "install Debian's postgresql package: ./scripts/install-test-deps (apt-get install postgresql)"

// role is the superuser initdb creates; trust authentication on the socket,
// which only this folder's owner (and root) can reach.
const role = "feedrelay"

// port names the socket file (.s.PGSQL.port); there is no TCP listener.
const port = 5432

// dirPrefix names the cluster folders in os.TempDir, for the sweep of
// folders left by killed runs.
const dirPrefix = "feedrelay-pgtest-"

// ownerFile holds the pid of the test binary that owns a cluster folder.
const ownerFile = "owner.pid"

var (
	startOnce sync.Once
	shared    *Cluster
	startErr  error
)

// Main runs the tests and then stops the cluster, if a test started one,
// and removes its folder. It returns m.Run's exit code.
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		if err := shared.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Database returns the DSN (a postgres:// URL) of a new, empty database
// for this test, dropped when the test ends. It is a copy of the template
// named template, which setup prepares once per test binary (a schema's
// migrations, say): copying costs a few milliseconds, migrating each time
// much more. setup must close its connections before returning. The
// cluster starts on first use; if it cannot, the test fails with the
// reason.
func Database(tb testing.TB, template string, setup func(ctx context.Context, dsn string) error) string {
	tb.Helper()
	c, err := cluster()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	dsn, err := c.database(template, setup)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.drop(dsn); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return dsn
}

// cluster starts the shared cluster once.
func cluster() (*Cluster, error) {
	startOnce.Do(func() { shared, startErr = Start(context.Background()) })
	return shared, startErr
}

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	// Dir holds the data directory (data/), the socket and the server's log.
	Dir     string
	BinDir  string
	Version int // the server's major version

	cmd    *exec.Cmd
	exited chan error // the server's exit, once

	mu        sync.Mutex
	admin     *pgx.Conn         // to the postgres database, for CREATE/DROP DATABASE
	templates map[string]string // template name → its database
	failed    map[string]error  // template name → why its setup failed
	next      int               // numbers the test databases
}

// Start initializes a cluster in a new temporary folder and starts its
// server. Use it directly only to control the cluster's life (a
// benchmark's); tests use Database.
func Start(ctx context.Context) (*Cluster, error) {
	binDir, version, err := findBinaries()
	if err != nil {
		return nil, err
	}
	sweep()
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	dir, err := newDir(cred)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, BinDir: binDir, Version: version, exited: make(chan error, 1),
		templates: map[string]string{}, failed: map[string]error{}}
	if err := c.initdb(ctx, cred); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.start(ctx, cred); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// findBinaries returns the bin folder of the newest Debian PostgreSQL
// server installed, and its major version.
func findBinaries() (string, int, error) {
	dirs, _ := filepath.Glob(binGlob)
	type found struct {
		dir     string
		version int
	}
	var all []found
	for _, d := range dirs {
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err != nil {
			continue
		}
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			all = append(all, found{d, v})
		}
	}
	if len(all) == 0 {
		return "", 0, fmt.Errorf("no PostgreSQL server binaries (initdb, postgres) in %s: %s", binGlob, installHint)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].version > all[j].version })
	return all[0].dir, all[0].version, nil
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// serverCredential is who runs initdb and the server: initdb refuses root,
// so as root the harness drops to the postgres system user (which Debian's
// package creates), else to nobody; as anyone else, it runs as itself
// (nil).
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
	}
	return nil, fmt.Errorf("running as root and neither the postgres nor the nobody user exists to run the server as: %s", installHint)
}

// newDir makes the cluster's folder, owned by the server's user, and
// records the test binary's pid in it for the sweep.
func newDir(cred *syscall.Credential) (string, error) {
	base := os.TempDir()
	if cred != nil {
		// The server's user must be able to reach the folder.
		for d := base; ; d = filepath.Dir(d) {
			st, err := os.Stat(d)
			if err != nil {
				return "", fmt.Errorf("cluster folder in %s: %w", base, err)
			}
			if st.Mode().Perm()&0o001 == 0 {
				return "", fmt.Errorf("cluster folder in %s: %s is not searchable by others, so the server's user cannot reach it (set TMPDIR elsewhere)", base, d)
			}
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	dir, err := os.MkdirTemp(base, dirPrefix)
	if err != nil {
		return "", fmt.Errorf("cluster folder: %w", err)
	}
	// A unix socket's path has at most 107 bytes.
	if sock := filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(port)); len(sock) > 107 {
		os.RemoveAll(dir)
		return "", fmt.Errorf("socket path %s is longer than 107 bytes: set TMPDIR to a shorter folder", sock)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("cluster folder: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("cluster folder: %w", err)
		}
	}
	return dir, nil
}

// sweep removes the cluster folders of test binaries that no longer run
// (killed before Main could stop their cluster), first stopping a server
// still running there, which Pdeathsig should already have done.
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			// Being created (the owner file comes right after the
			// folder), or not ours: only old ones go.
			if st, err := os.Stat(dir); err == nil && time.Since(st.ModTime()) > time.Hour {
				os.RemoveAll(dir)
			}
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && alive(pid) {
			continue
		}
		data := filepath.Join(dir, "data")
		if b, err := os.ReadFile(filepath.Join(data, "postmaster.pid")); err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			// Only a postgres whose command line names this folder.
			if pid, err := strconv.Atoi(first); err == nil && alive(pid) {
				if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil &&
					strings.Contains(string(cmdline), data) {
					syscall.Kill(pid, syscall.SIGQUIT)
					for i := 0; i < 100 && alive(pid); i++ {
						time.Sleep(20 * time.Millisecond)
					}
				}
			}
		}
		os.RemoveAll(dir)
	}
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// initdb creates the cluster: UTF-8, and the C.UTF-8 locale, in which
// Chinese characters are letters (pg_trgm makes trigrams of letters and
// digits only; under the C locale a Chinese text has none), without fsync.
func (c *Cluster) initdb(ctx context.Context, cred *syscall.Credential) error {
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, "initdb"),
		"-D", filepath.Join(c.Dir, "data"), "-U", role, "--auth=trust",
		"-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions")
	cmd.Dir = c.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Env = serverEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb in %s: %w\n%s", c.Dir, err, out)
	}
	return nil
}

// serverEnv is a clean environment for the server programs: no PG*
// variables of the caller, a locale initdb accepts.
func serverEnv() []string {
	return []string{"PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8", "TZ=UTC"}
}

// start runs the server in the foreground of a child process and waits
// until it accepts connections.
func (c *Cluster) start(ctx context.Context, cred *syscall.Credential) error {
	logf, err := os.Create(filepath.Join(c.Dir, "server.log"))
	if err != nil {
		return fmt.Errorf("server log: %w", err)
	}
	defer logf.Close()
	// Durability is worth nothing to a test: no fsync, no full pages, a
	// minimal WAL (which also lets CREATE DATABASE … FILE_COPY skip
	// logging the copy).
	c.cmd = exec.Command(filepath.Join(c.BinDir, "postgres"),
		"-D", filepath.Join(c.Dir, "data"),
		"-k", c.Dir, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "wal_level=minimal", "-c", "max_wal_senders=0",
		"-c", "max_connections=100", "-c", "shared_buffers=128MB",
		"-c", "log_min_messages=warning")
	c.cmd.Dir = c.Dir
	c.cmd.Env = serverEnv()
	c.cmd.Stdout, c.cmd.Stderr = logf, logf
	// Pdeathsig: when the test binary dies, even by kill -9, the kernel
	// sends the server SIGQUIT (immediate shutdown; its backends follow).
	// Credential is applied before it in the child, so it holds.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	started := make(chan error, 1)
	go func() {
		// The kernel sends Pdeathsig when the thread that forked the child
		// exits, not the process: this goroutine keeps that thread, blocked
		// in Wait, for as long as the server runs.
		runtime.LockOSThread()
		if err := c.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		c.exited <- c.cmd.Wait()
	}()
	if err := <-started; err != nil {
		c.cmd = nil
		return fmt.Errorf("start postgres in %s: %w", c.Dir, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, c.dsn("postgres"))
		if err == nil {
			c.admin = conn
			return nil
		}
		select {
		case werr := <-c.exited:
			c.exited <- werr
			return fmt.Errorf("postgres in %s exited (%v): %s", c.Dir, werr, c.logTail())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres in %s not ready after 30 s: %w: %s", c.Dir, err, c.logTail())
		}
	}
}

// logTail is the end of the server's log, for errors.
func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "server.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// dsn is the URL of database name in this cluster: its socket, its role,
// nothing taken from PG* environment variables that matters.
func (c *Cluster) dsn(name string) string {
	q := url.Values{"host": {c.Dir}, "port": {strconv.Itoa(port)}, "user": {role}, "sslmode": {"disable"}}
	return "postgres:///" + url.PathEscape(name) + "?" + q.Encode()
}

// DSN is the URL of the database name in this cluster.
func (c *Cluster) DSN(name string) string { return c.dsn(name) }

// Exec runs SQL statements on the cluster's postgres database (CREATE
// DATABASE, say).
func (c *Cluster) Exec(ctx context.Context, sql string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.admin.Exec(ctx, sql)
	return err
}

// database creates a test database from the template name, preparing the
// template first if this is its first use.
func (c *Cluster) database(template string, setup func(ctx context.Context, dsn string) error) (string, error) {
	ctx := context.Background()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.failed[template]; err != nil {
		return "", err
	}
	tpl, ok := c.templates[template]
	if !ok {
		tpl = "template_" + sanitize(template)
		if _, err := c.admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{tpl}.Sanitize()+c.strategy()); err != nil {
			err = fmt.Errorf("create template database %s: %w", tpl, err)
			c.failed[template] = err
			return "", err
		}
		if setup != nil {
			if err := setup(ctx, c.dsn(tpl)); err != nil {
				err = fmt.Errorf("prepare template %s: %w", template, err)
				c.failed[template] = err
				return "", err
			}
		}
		c.templates[template] = tpl
	}
	c.next++
	name := fmt.Sprintf("test_%s_%d", sanitize(template), c.next)
	if _, err := c.admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+
		" TEMPLATE "+pgx.Identifier{tpl}.Sanitize()+c.strategy()); err != nil {
		return "", fmt.Errorf("create database %s from %s: %w", name, tpl, err)
	}
	return c.dsn(name), nil
}

// strategy is how CREATE DATABASE copies its template: FILE_COPY
// (PostgreSQL 15+; the only way before) copies the files, about 15 ms here,
// where the default WAL_LOG logs every page (about 200 ms).
func (c *Cluster) strategy() string {
	if c.Version >= 15 {
		return " STRATEGY = FILE_COPY"
	}
	return ""
}

// drop drops the test database of dsn, closing connections still open.
func (c *Cluster) drop(dsn string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return err
	}
	name := strings.TrimPrefix(u.Path, "/")
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.admin.Exec(context.Background(), "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// sanitize keeps the letters, digits and underscores of s, lower-cased.
func sanitize(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// Stop stops the server (immediate shutdown: nothing in it is kept) and
// removes the cluster's folder.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.admin != nil {
		c.admin.Close(context.Background())
		c.admin = nil
	}
	var err error
	if c.cmd != nil && c.cmd.Process != nil {
		c.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			c.cmd.Process.Kill()
			<-c.exited
			err = fmt.Errorf("postgres in %s ignored SIGQUIT for 10 s: killed", c.Dir)
		}
		c.cmd = nil
	}
	if rerr := os.RemoveAll(c.Dir); rerr != nil && err == nil {
		err = fmt.Errorf("remove cluster folder: %w", rerr)
	}
	return err
}
