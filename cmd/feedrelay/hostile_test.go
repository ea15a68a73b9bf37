package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds/feedstest"
)

// The daemon, not just the poller, survives the hostile web: with every kind
// of misbehaving source configured beside one good source polled every 2 s,
// `serve` keeps answering /healthz, polls the good source on schedule, shows
// each failure on the index, and its peak RSS stays within 256 MiB.
func TestServeHostileSources(t *testing.T) {
	dir := t.TempDir()

	var goodPolls atomic.Int32
	good := httptest.NewServer(feedstest.Good(&goodPolls))
	defer good.Close()

	hostile := feedstest.HostileSources()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, `listen: 127.0.0.1:0
base_url: %s
database: %s
log: {format: json, level: info}
defaults: {interval: 1h, timeout: 5s}
categories: [{slug: markets, title: 市场}]
sources:
  - {name: good, slug: good, url: "%s", interval: 2s, categories: [markets]}
`, relayBase, filepath.Join(dir, "feedrelay.db"), good.URL)
	for _, h := range hostile {
		ts := httptest.NewServer(h.Handler)
		defer ts.Close()
		fmt.Fprintf(&cfg, "  - {name: %s, slug: %s, url: \"%s/feed\", categories: [markets]}\n", h.Slug, h.Slug, ts.URL)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	d := startServe(t, cfgPath)
	base := "http://" + d.addr(t)
	client := &http.Client{Timeout: 2 * time.Second}
	probe := func() error {
		resp, err := client.Get(base + "/healthz")
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/healthz: %s", resp.Status)
		}
		return nil
	}

	// From its first answer on, every probe must be answered: wait for
	// that one, however long the start took.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		err := probe()
		if err == nil {
			break
		}
		d.checkRunning(t)
		if time.Now().After(deadline) {
			t.Fatalf("/healthz not answered within 60 s of serving: %v", err)
		}
	}

	// Probe /healthz every 100 ms, as a load balancer would, until every
	// source has finished a poll and at least 10 s have passed.
	var probes, failedProbes int
	var slowest time.Duration
	deadline := start.Add(120 * time.Second)
	for {
		t0 := time.Now()
		err := probe()
		probes++
		if err == nil {
			slowest = max(slowest, time.Since(t0))
		} else {
			failedProbes++
			t.Logf("healthz: %v", err)
		}
		polled := polledSources(d.logs.String())
		if len(polled) == len(hostile)+1 && time.Since(start) > 10*time.Second {
			break
		}
		d.checkRunning(t)
		if time.Now().After(deadline) {
			t.Fatalf("after 120s only these sources finished a poll: %v", polled)
		}
		time.Sleep(100 * time.Millisecond)
	}
	elapsed := time.Since(start)
	peak := d.peakRSS(t)
	t.Logf("serve: every source polled once in %v; good source polled %d times; /healthz answered %d probes, slowest %v; peak RSS %.1f MiB",
		elapsed, goodPolls.Load(), probes, slowest, float64(peak)/(1<<20))

	if failedProbes > 0 {
		t.Errorf("/healthz failed %d of %d probes under hostile load", failedProbes, probes)
	}
	// On schedule: at least half the polls a 2 s interval allows.
	if n, want := goodPolls.Load(), int32(elapsed/(2*time.Second)/2); n < want {
		t.Errorf("good source (2s interval) polled %d times in %v, want at least %d", n, elapsed, want)
	}
	if peak > 256<<20 {
		t.Errorf("peak RSS %d MiB, want at most 256 MiB", peak>>20)
	}

	// Each failure is on the index, with its own error.
	resp, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	index, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"HTTP 429 Too Many Requests", "redirect loop", "body too large", "not a feed (text/html)", "timed out"} {
		if !strings.Contains(string(index), want) {
			t.Errorf("the index does not show %q", want)
		}
	}
	d.stop(t, 10*time.Second)
}

// polledSources reads the daemon's JSON log: the sources that finished a
// poll, with the outcome of their first one.
func polledSources(logs string) map[string]string {
	polled := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Msg, Source, Error string
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Source == "" {
			continue
		}
		if line.Msg == "poll" || line.Msg == "poll failed" {
			if _, ok := polled[line.Source]; !ok {
				polled[line.Source] = line.Error
			}
		}
	}
	return polled
}
