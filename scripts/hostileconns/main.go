// Command hostileconns measures whether `feedrelay serve` stays reachable
// under hostile connections (issue 11 item 6): it runs serve under
// `prlimit --nofile=N`, keeps open a number of hostile connections of four
// kinds (idle keep-alive, headers sent a line every few seconds, clients
// that request a big feed and never read, a megabyte of headers that never
// ends), each reopened as soon as the server drops it, and asks /healthz
// from a fresh connection every 100 ms. It prints the probes' latencies,
// their failures and serve's peak RSS.
//
//	go run ./scripts/hostileconns [-bin feedrelay] [-nofile 1024] [-hostile 1100] [-duration 60s]
//
// Without -bin it builds ./cmd/feedrelay of the current directory.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	bin := flag.String("bin", "", "feedrelay binary (default: build ./cmd/feedrelay)")
	nofile := flag.Int("nofile", 1024, "serve's file descriptor limit (prlimit --nofile)")
	hostile := flag.Int("hostile", 1100, "hostile connections, split evenly between the four kinds")
	duration := flag.Duration("duration", 60*time.Second, "how long to probe")
	every := flag.Duration("every", 100*time.Millisecond, "probe interval")
	flag.Parse()
	if err := run(*bin, *nofile, *hostile, *duration, *every); err != nil {
		fmt.Fprintln(os.Stderr, "hostileconns:", err)
		os.Exit(1)
	}
}

func run(bin string, nofile, hostile int, duration, every time.Duration) error {
	dir, err := os.MkdirTemp("", "hostileconns")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if bin == "" {
		bin = filepath.Join(dir, "feedrelay")
		build := exec.Command("go", "build", "-o", bin, "./cmd/feedrelay")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build: %w", err)
		}
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cfg, err := writeFixture(dir, addr)
	if err != nil {
		return err
	}
	logs := &lockedWriter{}
	cmd := exec.Command("prlimit", "--nofile="+strconv.Itoa(nofile), bin, "serve", "-config", cfg)
	cmd.Stdout, cmd.Stderr = io.Discard, logs
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start serve under prlimit: %w", err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	base := "http://" + addr
	if err := waitFor(base+"/feeds/all.atom", 30*time.Second); err != nil {
		return fmt.Errorf("serve did not come up with its feed: %w\n%s", err, logs.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var held atomic.Int64 // hostile connections open on our side
	var wg sync.WaitGroup
	kinds := []struct {
		name string
		run  func(ctx context.Context, c net.Conn)
	}{
		{"idle keep-alive", idleKeepAlive},
		{"slow headers", slowHeaders},
		{"never reads", neverReads},
		{"1 MiB headers", hugeHeaders},
	}
	for i := range hostile {
		k := kinds[i%len(kinds)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					sleep(ctx, 200*time.Millisecond)
					continue
				}
				held.Add(1)
				k.run(ctx, c)
				c.Close()
				held.Add(-1)
				sleep(ctx, 200*time.Millisecond) // dropped: come back
			}
		}()
	}
	// Let the connections pile up before measuring.
	sleep(ctx, 3*time.Second)

	pid := cmd.Process.Pid
	var peakRSS int64
	var lat []time.Duration
	var failures []string
	start := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for time.Since(start) < duration {
		<-tick.C
		d, err := probe(base + "/healthz")
		lat = append(lat, d)
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s: %v", time.Since(start).Truncate(time.Millisecond), err))
		}
		if rss := rssKiB(pid, "VmRSS"); rss > peakRSS {
			peakRSS = rss
		}
	}
	hwm := rssKiB(pid, "VmHWM")
	open := fdCount(pid)
	cancel()
	heldAtEnd := held.Load()
	wg.Wait()

	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	fmt.Printf("serve %s under prlimit --nofile=%d; %d hostile connections (%d of each kind, reopened when dropped; %d open on our side at the end)\n",
		bin, nofile, hostile, hostile/len(kinds), heldAtEnd)
	fmt.Printf("/healthz from a fresh connection every %v for %v: %d probes, %d failed (timeout 5 s)\n",
		every, duration, len(lat), len(failures))
	over := 0
	for _, d := range lat {
		if d > time.Second {
			over++
		}
	}
	fmt.Printf("latency: p50 %v, p99 %v, max %v; %d probes over 1 s\n", pct(0.5).Round(time.Microsecond),
		pct(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond), over)
	fmt.Printf("serve: peak RSS %d MiB (VmHWM %d MiB), %d fds open at the end\n", peakRSS>>10, hwm>>10, open)
	if l := logs.String(); l != "" {
		fmt.Printf("serve's log (warnings and errors), first lines:\n%s\n", firstLines(l, 5))
	}
	for i, f := range failures {
		if i == 5 {
			fmt.Printf("  … %d more\n", len(failures)-5)
			break
		}
		fmt.Println("  failed at", f)
	}
	return nil
}

// idleKeepAlive asks for /healthz once and keeps the connection open.
func idleKeepAlive(ctx context.Context, c net.Conn) {
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	r := bufio.NewReader(c)
	if resp, err := http.ReadResponse(r, nil); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	waitClosed(ctx, c)
}

// slowHeaders sends a header line every 5 s and never ends the request.
func slowHeaders(ctx context.Context, c net.Conn) {
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n"); err != nil {
		return
	}
	for i := 0; ctx.Err() == nil; i++ {
		sleep(ctx, 5*time.Second)
		c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := fmt.Fprintf(c, "X-Slow-%d: a\r\n", i); err != nil {
			return
		}
	}
}

// neverReads asks for the biggest feed many times over and reads nothing;
// it notices that the server closed the connection when a write fails.
func neverReads(ctx context.Context, c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetReadBuffer(4096)
	}
	req := []byte(strings.Repeat("GET /feeds/all.atom HTTP/1.1\r\nHost: x\r\n\r\n", 10))
	for ctx.Err() == nil {
		c.SetWriteDeadline(time.Now().Add(time.Second))
		if _, err := c.Write(req); err != nil && !isTimeout(err) {
			return
		}
		sleep(ctx, time.Second)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// hugeHeaders sends a megabyte of one header, in 16 KiB pieces, and never
// ends it.
func hugeHeaders(ctx context.Context, c net.Conn) {
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "); err != nil {
		return
	}
	chunk := []byte(strings.Repeat("a", 16<<10))
	for sent := 0; sent < 1<<20 && ctx.Err() == nil; sent += len(chunk) {
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(chunk); err != nil {
			return
		}
		sleep(ctx, 10*time.Millisecond)
	}
	waitClosed(ctx, c)
}

// waitClosed returns when the server closes c or ctx ends, discarding
// whatever the server sends.
func waitClosed(ctx context.Context, c net.Conn) {
	buf := make([]byte, 4096)
	for ctx.Err() == nil {
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c.Read(buf); err != nil && !isTimeout(err) {
			return
		}
	}
}

// probe asks url on a new connection and times the whole answer.
func probe(url string) (time.Duration, error) {
	tr := &http.Transport{DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	start := time.Now()
	var connected time.Duration
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		ConnectDone: func(string, string, error) { connected = time.Since(start) },
	}))
	resp, err := client.Do(req)
	if err != nil {
		return time.Since(start), fmt.Errorf("%w (connected after %v)", err, connected.Round(time.Millisecond))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s", resp.Status)
	}
	return d, err
}

func rssKiB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

func fdCount(pid int) int {
	es, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(es)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitFor(url string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(body), "<entry>") {
				return nil
			}
			err = fmt.Errorf("%s", resp.Status)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// writeFixture writes a config with one file: source of 50 long items (the
// feed the never-reading clients ask for is about 1 MiB).
func writeFixture(dir, addr string) (string, error) {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>big</title><link>https://example.org/</link>`)
	para := "<p>" + strings.Repeat("沪深两市成交额突破万亿元，创业板指涨逾1%。", 60) + "</p>"
	for i := range 50 {
		fmt.Fprintf(&b, `<item><title>条目 %d</title><link>https://example.org/%d</link><guid isPermaLink="false">big-%d</guid><pubDate>%s</pubDate><description><![CDATA[%s]]></description></item>`,
			i, i, i, time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC).Add(time.Duration(i)*time.Minute).Format(time.RFC1123Z), strings.Repeat(para, 5))
	}
	b.WriteString(`</channel></rss>`)
	if err := os.WriteFile(filepath.Join(dir, "big.xml"), []byte(b.String()), 0o644); err != nil {
		return "", err
	}
	cfg := fmt.Sprintf(`listen: %s
base_url: http://%s/
log: {level: warn}
defaults: {interval: 1h}
categories: [{slug: big, title: Big}]
sources:
  - {name: Big, slug: big, url: "file:big.xml", categories: [big]}
`, addr, addr)
	path := filepath.Join(dir, "config.yaml")
	return path, os.WriteFile(path, []byte(cfg), 0o644)
}

// lockedWriter keeps serve's log.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
