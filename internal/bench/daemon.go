package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/feedrelay/feedrelay/config"
	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/internal/app"
)

// daemon is `feedrelay serve` in this process (app.App.Run): the
// scheduler over every source, the search indexer, retention, the server
// and /metrics; SIGHUP is left out.
type daemon struct {
	polled atomic.Int64
	stop   func()
}

// startDaemon starts cfg's daemon, listening on ln.
func startDaemon(ctx context.Context, cfg app.Config, logging *app.Logging, ln net.Listener) (*daemon, error) {
	d := &daemon{}
	a, err := app.Open(ctx, cfg, app.Options{Logging: logging, OnPoll: func(*feeds.Result) { d.polled.Add(1) }})
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		if err := a.Run(runCtx, ln, nil); err != nil {
			a.Logger.Error("daemon", slog.String("error", err.Error()))
		}
		close(stopped)
	}()
	d.stop = func() {
		cancel()
		<-stopped
		a.Close()
	}
	return d, nil
}

// heapProfile runs the daemon in this process on p.RSSSources sources and,
// once every source has been polled, writes a heap profile to path: the
// binary cannot be profiled from outside, and its RSS is mostly Go heap.
// The profile also holds the synthetic origin's feeds (synth.Feed,
// compress/gzip): ignore those.
func heapProfile(ctx context.Context, p params, dir, path string, logf func(string, ...any)) error {
	logf("heap profile: generating %d sources × %d items", p.RSSSources, p.RSSItems)
	o, err := newOrigin(p.RSSSources, p.RSSItems, p.ItemSize, p.Gzip)
	if err != nil {
		return err
	}
	defer o.close()
	cfg, _, err := writeConfig(dir, "heap.yaml", benchConfig{
		database: "heap.db",
		perHost:  config.DefaultConcurrency,
		interval: "1h",
		sources:  p.RSSSources,
		url:      o.feedURL,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	d, err := startDaemon(ctx, cfg, app.NewLogging(io.Discard, "text", "info"), ln)
	if err != nil {
		return err
	}
	defer d.stop()
	start := time.Now()
	for d.polled.Load() < int64(p.RSSSources) {
		if ctx.Err() != nil || time.Since(start) > p.RSSTimeout {
			return fmt.Errorf("heap profile: %d of %d sources polled", d.polled.Load(), p.RSSSources)
		}
		time.Sleep(100 * time.Millisecond)
	}
	logf("heap profile: every source polled in %v", time.Since(start).Round(time.Millisecond))
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.WriteHeapProfile(f)
}

// fakeServe stands in for `feedrelay serve -config FILE` (bench_test.go
// runs the RSS measurement on its own test binary this way, without
// building feedrelay): the daemon in this process until SIGTERM.
func fakeServe(args []string) error {
	if len(args) != 3 || args[0] != "serve" || args[1] != "-config" {
		return fmt.Errorf("usage: serve -config FILE, not %q", args)
	}
	cfg, err := app.LoadConfig(args[2])
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	d, err := startDaemon(ctx, cfg, app.NewLogging(os.Stderr, "text", "info"), ln)
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	<-ctx.Done()
	d.stop()
	return nil
}
