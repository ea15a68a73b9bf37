package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/feedrelay/feedrelay/internal/app"
)

// startServer serves a's web face (server, /metrics, metrics middleware,
// as `feedrelay serve` does) on a free port of 127.0.0.1, without its
// scheduler, and returns its base URL.
func startServer(a *app.App) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go a.HTTP.Serve(ln)
	a.Server.SetReady(true)
	return "http://" + ln.Addr().String(), func() { a.HTTP.Close() }, nil
}

// loadResult is what a load generator measured.
type loadResult struct {
	tool     string
	requests int64
	rps      float64
	p50, p99 string
	errors   int64
}

// checkFeed fetches u once (rendering it, so that the load measures the
// cached path a busy feed is served from) and returns the body size.
func checkFeed(ctx context.Context, u string, gz bool) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}, Timeout: time.Minute}).Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	if gz != (resp.Header.Get("Content-Encoding") == "gzip") {
		return 0, fmt.Errorf("GET %s: Content-Encoding %q", u, resp.Header.Get("Content-Encoding"))
	}
	return len(body), nil
}

// findWrk returns the wrk to use: the flag's path, else wrk on PATH, else
// "" for the Go load generator.
func findWrk(flagValue string) string {
	switch flagValue {
	case "off", "no", "false":
		return ""
	case "", "auto":
		p, err := exec.LookPath("wrk")
		if err != nil {
			return ""
		}
		return p
	}
	return flagValue
}

var (
	wrkRPS     = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkTotal   = regexp.MustCompile(`(?m)^\s*([0-9]+) requests in`)
	wrkNon2xx  = regexp.MustCompile(`(?m)Non-2xx or 3xx responses:\s+([0-9]+)`)
	wrkSockErr = regexp.MustCompile(`(?m)Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)`)
	wrkPct     = regexp.MustCompile(`(?m)^\s+(50|99)%\s+(\S+)`)
)

func runWrk(ctx context.Context, wrk, u string, gz bool, threads, conns int, d time.Duration) (loadResult, error) {
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns),
		"-d" + strconv.Itoa(max(1, int(d.Round(time.Second).Seconds()))) + "s", "--latency"}
	if gz {
		args = append(args, "-H", "Accept-Encoding: gzip")
	}
	out, err := exec.CommandContext(ctx, wrk, append(args, u)...).CombinedOutput()
	if err != nil {
		return loadResult{}, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	return parseWrk(string(out), "wrk "+strings.Join(args[:3], " "))
}

// parseWrk reads the output of wrk --latency.
func parseWrk(s, tool string) (loadResult, error) {
	res := loadResult{tool: tool}
	m := wrkRPS.FindStringSubmatch(s)
	if m == nil {
		return res, fmt.Errorf("wrk: no Requests/sec in its output:\n%s", s)
	}
	res.rps, _ = strconv.ParseFloat(m[1], 64)
	if m := wrkTotal.FindStringSubmatch(s); m != nil {
		res.requests, _ = strconv.ParseInt(m[1], 10, 64)
	}
	if m := wrkNon2xx.FindStringSubmatch(s); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		res.errors += n
	}
	if m := wrkSockErr.FindStringSubmatch(s); m != nil {
		for _, v := range m[1:] {
			n, _ := strconv.ParseInt(v, 10, 64)
			res.errors += n
		}
	}
	for _, m := range wrkPct.FindAllStringSubmatch(s, -1) {
		if m[1] == "50" {
			res.p50 = m[2]
		} else {
			res.p99 = m[2]
		}
	}
	return res, nil
}

// runGoLoad is the load generator used when wrk is not there: conns
// goroutines, each on its own keep-alive connection, GET u in a loop for d.
func runGoLoad(ctx context.Context, u string, gz bool, conns int, d time.Duration) (loadResult, error) {
	tr := &http.Transport{DisableCompression: true, MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	enc := "identity"
	if gz {
		enc = "gzip"
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      int64
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range conns {
		wg.Go(func() {
			var mine []time.Duration
			var bad int64
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
				req.Header.Set("Accept-Encoding", enc)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						bad++
					}
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch {
				case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
				case err != nil || resp.StatusCode != http.StatusOK:
					bad++
				default:
					mine = append(mine, time.Since(t0))
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			errs += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := loadResult{tool: fmt.Sprintf("Go load generator, %d connections, %v", conns, d),
		requests: int64(len(latencies)), errors: errs}
	res.rps = float64(len(latencies)) / elapsed.Seconds()
	if len(latencies) > 0 {
		slices.Sort(latencies)
		res.p50 = latencies[len(latencies)/2].Round(time.Microsecond).String()
		res.p99 = latencies[len(latencies)*99/100].Round(time.Microsecond).String()
	}
	return res, nil
}
