package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeEnv makes the test binary play `feedrelay serve` (see fakeServe), so
// that the RSS measurement runs end to end without building feedrelay.
const fakeEnv = "FEEDRELAY_BENCH_FAKE_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(fakeEnv) == "1" {
		if err := fakeServe(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "fake serve:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// tinyParams runs every measurement at a size that takes a few seconds.
// Nothing below checks a time: only that each step did what it should.
func tinyParams(t *testing.T) params {
	p := defaultParams()
	p.Sources, p.Items, p.ItemSize = 6, 3, 800
	p.Rounds = 2
	p.ServeDuration = 200 * time.Millisecond
	p.ServeConns = 4
	p.Wrk = "off"
	p.RSSSources, p.RSSItems = 12, 2
	p.RSSIdle = 100 * time.Millisecond
	p.RSSTimeout = time.Minute
	p.Binary = os.Args[0]
	p.Dir = t.TempDir()
	t.Setenv(fakeEnv, "1") // inherited by the "binary"
	return p
}

func TestRunTiny(t *testing.T) {
	p := tinyParams(t)
	var out, log bytes.Buffer
	if err := run(context.Background(), p, "go test", &out, &log); err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log.String())
	}
	s := out.String()
	for _, want := range []string{
		"| figure", "machine: ", "command: go test",
		"gofeed floor: parse 6 × 3", "cold poll: 6 sources × 3 items", "search index of its items",
		"cold poll ÷ gofeed floor", "cold poll and search index together ÷ gofeed floor", "retention pass over 6 sources",
		"warm poll: 6 sources, all 304", "churn poll: 6 sources, 1 changed", "ingest: 18 parsed items",
		"ingest: saved and indexed",
		"serve GET /feeds/c0.atom (identity", "serve GET /feeds/c0.atom (gzip", "Go load generator",
		"serve with 12 sources: peak RSS", "serve with 12 sources: steady RSS",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the table lacks %q:\n%s", want, s)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", log.String())
	}
}

func TestRunJSON(t *testing.T) {
	p := tinyParams(t)
	p.Rounds, p.ServeDuration, p.RSSSources = 1, 0, 0
	p.JSON = true
	var out, log bytes.Buffer
	if err := run(context.Background(), p, "go test", &out, &log); err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, log.String())
	}
	var rep report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if rep.Command != "go test" || rep.Machine.NumCPU < 1 || rep.Params.Sources != 6 {
		t.Errorf("report = %+v", rep)
	}
	verdicts := 0
	for _, f := range rep.Figures {
		if f.Value <= 0 || f.Shown == "" {
			t.Errorf("figure %+v has no value", f)
		}
		if f.Verdict != "—" {
			verdicts++
		}
	}
	if verdicts != 2 { // cold ÷ floor, warm poll
		t.Errorf("%d figures with a verdict, want 2: %+v", verdicts, rep.Figures)
	}
}

func TestOriginConditional(t *testing.T) {
	o, err := newOrigin(2, 3, 500, true)
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	get := func(h map[string]string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, o.feedURL(1), nil)
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	first := get(nil)
	etag, lastMod := first.Header.Get("ETag"), first.Header.Get("Last-Modified")
	if first.StatusCode != 200 || etag == "" || lastMod == "" || !first.Uncompressed {
		t.Fatalf("first GET: %s, ETag %q, Last-Modified %q, gzip %v", first.Status, etag, lastMod, first.Uncompressed)
	}
	for _, h := range []map[string]string{{"If-None-Match": etag}, {"If-Modified-Since": lastMod}} {
		if r := get(h); r.StatusCode != http.StatusNotModified {
			t.Errorf("%v: %s, want 304", h, r.Status)
		}
	}
	o.churn([]int{1})
	if r := get(map[string]string{"If-None-Match": etag}); r.StatusCode != 200 || r.Header.Get("ETag") == etag {
		t.Errorf("after churn: %s, ETag %q", r.Status, r.Header.Get("ETag"))
	}
	if r := get(map[string]string{"If-Modified-Since": lastMod}); r.StatusCode != 200 {
		t.Errorf("after churn, If-Modified-Since: %s, want 200", r.Status)
	}
}

func TestParseWrk(t *testing.T) {
	const out = `Running 5s test @ http://127.0.0.1:8080/feeds/c0.atom
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     7.60ms    5.02ms  60.12ms   80.00%
    Req/Sec     4.27k   512.00     5.01k    70.00%
  Latency Distribution
     50%    7.60ms
     75%    9.12ms
     90%   12.31ms
     99%   32.77ms
  42467 requests in 5.00s, 6.58GB read
  Non-2xx or 3xx responses: 3
Requests/sec:   8488.12
Transfer/sec:      1.32GB
`
	r, err := parseWrk(out, "wrk")
	if err != nil {
		t.Fatal(err)
	}
	if r.rps != 8488.12 || r.requests != 42467 || r.errors != 3 || r.p50 != "7.60ms" || r.p99 != "32.77ms" {
		t.Errorf("parseWrk = %+v", r)
	}
	if _, err := parseWrk("unable to connect", "wrk"); err == nil {
		t.Error("no error for output without Requests/sec")
	}
}
