package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/feedrelay/feedrelay/config"
)

// rssResult is the memory of a `feedrelay serve` process polling many
// sources.
type rssResult struct {
	sources    int
	firstRound time.Duration // from start until every source was polled once
	peak       int64         // VmHWM at the end
	atRound    int64         // VmRSS when the first round ended
	steady     int64         // VmRSS after the idle wait
	anon, file int64         // RssAnon, RssFile+RssShmem after the idle wait
	idle       time.Duration
	polls      int
	errors     int
	dbBytes    int64
	binary     string
}

// buildBinary builds cmd/feedrelay into dir, with the flags `go run` used
// for this program, so that the build cache serves both (`make build` adds
// -trimpath and CGO_ENABLED=0, which change neither the code nor its memory).
func buildBinary(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run the benchmark inside the feedrelay module (go run ./internal/bench)")
	}
	bin := filepath.Join(dir, "feedrelay")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/feedrelay")
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/feedrelay: %w\n%s", err, out)
	}
	return bin, nil
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// measureRSS starts the real binary on p.RSSSources sources served by a
// synthetic origin (p.RSSItems items each, interval 1h, the default
// concurrency), waits until every source has been polled once (the origin
// has served each, and /metrics counts as many polls), waits p.RSSIdle more
// and reads the process's VmHWM and VmRSS.
func measureRSS(ctx context.Context, p params, dir string, logf func(string, ...any)) (rssResult, error) {
	res := rssResult{sources: p.RSSSources, idle: p.RSSIdle}
	bin := p.Binary
	if bin == "" {
		logf("rss: building ./cmd/feedrelay")
		var err error
		if bin, err = buildBinary(ctx, dir); err != nil {
			return res, err
		}
	}
	res.binary = bin
	logf("rss: generating %d sources × %d items", p.RSSSources, p.RSSItems)
	o, err := newOrigin(p.RSSSources, p.RSSItems, p.ItemSize, p.Gzip)
	if err != nil {
		return res, err
	}
	defer o.close()
	addr, err := freePort()
	if err != nil {
		return res, err
	}
	rdir := filepath.Join(dir, "rss")
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return res, err
	}
	_, cfgPath, err := writeConfig(rdir, "config.yaml", benchConfig{
		listen:   addr,
		database: "feedrelay.db",
		perHost:  config.DefaultConcurrency, // one host: let the default concurrency apply
		interval: "1h",
		sources:  p.RSSSources,
		url:      o.feedURL,
	})
	if err != nil {
		return res, err
	}
	logPath := filepath.Join(rdir, "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return res, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "serve", "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	gone := false // received from exited
	stop := func() error {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			return err
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			return errors.New("feedrelay serve did not exit within 10 s of SIGTERM")
		}
	}
	fail := func(err error) (rssResult, error) {
		if !gone {
			stop()
		}
		return res, fmt.Errorf("%w (log: %s)\n%s", err, logPath, tail(logPath, 10))
	}
	pid := cmd.Process.Pid
	logf("rss: feedrelay serve (pid %d) polling %d sources", pid, p.RSSSources)
	base := "http://" + addr
	deadline := time.After(p.RSSTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastReport := time.Now()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			return fail(ctx.Err())
		case err := <-exited:
			gone = true
			return fail(fmt.Errorf("feedrelay serve exited: %v", err))
		case <-deadline:
			return fail(fmt.Errorf("not every source polled within %v: origin served %d of %d",
				p.RSSTimeout, o.full.Load(), p.RSSSources))
		case <-tick.C:
		}
		if time.Since(lastReport) > 5*time.Second {
			lastReport = time.Now()
			logf("rss: %d/%d sources fetched, RSS %s", o.full.Load(), p.RSSSources, mb(procKB(pid, "VmRSS")))
		}
		if o.full.Load() < int64(p.RSSSources) {
			continue
		}
		// Fetched; stored and counted once /metrics says so.
		polls, errs, err := scrapePolls(ctx, base+"/metrics")
		if err == nil && polls >= p.RSSSources {
			res.polls, res.errors, done = polls, errs, true
		}
	}
	res.firstRound = time.Since(start)
	res.atRound = procKB(pid, "VmRSS")
	logf("rss: every source polled in %v; idle %v", res.firstRound.Round(time.Millisecond), p.RSSIdle)
	select {
	case <-ctx.Done():
		return fail(ctx.Err())
	case err := <-exited:
		gone = true
		return fail(fmt.Errorf("feedrelay serve exited: %v", err))
	case <-time.After(p.RSSIdle):
	}
	res.steady = procKB(pid, "VmRSS")
	res.peak = procKB(pid, "VmHWM")
	res.anon = procKB(pid, "RssAnon")
	res.file = procKB(pid, "RssFile") + procKB(pid, "RssShmem")
	for _, suffix := range []string{"", "-wal"} {
		if st, err := os.Stat(filepath.Join(rdir, "feedrelay.db"+suffix)); err == nil {
			res.dbBytes += st.Size()
		}
	}
	if err := stop(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return res, err
		}
		return res, fmt.Errorf("feedrelay serve: %v (log: %s)", err, logPath)
	}
	if res.peak < 0 || res.steady < 0 {
		return res, errors.New("cannot read /proc/PID/status (not Linux?)")
	}
	return res, nil
}

// scrapePolls sums feedrelay_polls_total over every source and result, and
// the polls whose result is "error".
func scrapePolls(ctx context.Context, u string) (polls, errs int, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "feedrelay_polls_total{") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		polls += int(v)
		if strings.Contains(line, `result="error"`) {
			errs += int(v)
		}
	}
	return polls, errs, sc.Err()
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func mb(b int64) string {
	if b < 0 {
		return "?"
	}
	return strconv.FormatFloat(float64(b)/1e6, 'f', 1, 64) + " MB"
}
