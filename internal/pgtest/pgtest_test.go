package pgtest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	if os.Getenv("PGTEST_CHILD") == "1" {
		child()
		return
	}
	os.Exit(Main(m))
}

// child starts a cluster, prints its folder and server pid, and waits to
// be killed (TestServerDiesWithTestBinary).
func child() {
	c, err := Start(context.Background())
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println(c.Dir, c.cmd.Process.Pid)
	select {}
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestDatabase: each test gets its own database, a copy of the template,
// whose setup ran once; on the private socket, as the feedrelay role.
func TestDatabase(t *testing.T) {
	ctx := context.Background()
	setups := 0
	setup := func(ctx context.Context, dsn string) error {
		setups++
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "CREATE TABLE t (v text); INSERT INTO t VALUES ('from the template')")
		return err
	}
	a := connect(t, Database(t, "pgtest", setup))
	b := connect(t, Database(t, "pgtest", setup))
	if setups != 1 {
		t.Errorf("template set up %d times, want once", setups)
	}
	if _, err := a.Exec(ctx, "INSERT INTO t VALUES ('only in a')"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Errorf("b sees %d rows (%v), want the template's 1", n, err)
	}
	var user, dir, encoding, ctype string
	if err := a.QueryRow(ctx, "SELECT current_user, current_setting('unix_socket_directories'), "+
		"current_setting('server_encoding'), current_setting('lc_ctype')").Scan(&user, &dir, &encoding, &ctype); err != nil {
		t.Fatal(err)
	}
	if user != role || dir != shared.Dir || encoding != "UTF8" || ctype != "C.UTF-8" {
		t.Errorf("connected as %s to %s (%s, %s), want %s to %s (UTF8, C.UTF-8)", user, dir, encoding, ctype, role, shared.Dir)
	}
	if !strings.HasPrefix(shared.BinDir, "/usr/lib/postgresql/") {
		t.Errorf("binaries from %s, want Debian's", shared.BinDir)
	}
	var listen string
	if err := a.QueryRow(ctx, "SELECT current_setting('listen_addresses')").Scan(&listen); err != nil || listen != "" {
		t.Errorf("listen_addresses %q (%v), want none: the socket only", listen, err)
	}
}

// TestChineseTrigrams: the cluster's locale counts Chinese characters as
// letters, so that pg_trgm makes trigrams of Chinese text (under the C
// locale it makes none, and a trigram index finds nothing).
func TestChineseTrigrams(t *testing.T) {
	conn := connect(t, Database(t, "trgm", func(ctx context.Context, dsn string) error {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "CREATE EXTENSION pg_trgm")
		return err
	}))
	var n int
	// Two padded trigrams at the start, one at the end, three inside.
	if err := conn.QueryRow(context.Background(), "SELECT cardinality(show_trgm('两市成交额'))").Scan(&n); err != nil || n != 6 {
		t.Errorf("show_trgm('两市成交额') has %d trigrams (%v), want 6", n, err)
	}
}

func TestDatabase_SetupFails(t *testing.T) {
	c, err := cluster()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err := c.database("broken", func(context.Context, string) error { return fmt.Errorf("no such migration") })
		if err == nil || !strings.Contains(err.Error(), "no such migration") {
			t.Errorf("setup error reported as %v", err)
		}
	}
}

func TestMissingBinaries(t *testing.T) {
	defer func(old string) { binGlob = old }(binGlob)
	binGlob = filepath.Join(t.TempDir(), "*", "bin")
	_, err := Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Errorf("Start without binaries: %v, want the install hint", err)
	}
}

// TestServerDiesWithTestBinary kills -9 a test binary that runs a cluster:
// its server exits by itself, and the next run's sweep removes its folder.
func TestServerDiesWithTestBinary(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PGTEST_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		t.Fatalf("child: %v", err)
	}
	fields := strings.Fields(line)
	if len(fields) != 2 || fields[0] == "error" {
		cmd.Process.Kill()
		t.Fatalf("child: %s", line)
	}
	dir := fields[0]
	pid, _ := strconv.Atoi(fields[1])
	if !alive(pid) {
		t.Fatalf("server %d not running", pid)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) && !isZombie(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("server %d still running 10 s after its test binary was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("folder of the killed run: %v", err)
	}
	sweep()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("sweep left %s (%v)", dir, err)
	}
	if shared != nil {
		if _, err := os.Stat(shared.Dir); err != nil {
			t.Errorf("sweep removed the running cluster's folder: %v", err)
		}
	}
}

// isZombie: an exited process not yet reaped (its parent, the killed test
// binary, is gone; init reaps it soon).
func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}
