package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/feedrelay/feedrelay/config"
	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/internal/setup"
	"github.com/feedrelay/feedrelay/server"
	"github.com/feedrelay/feedrelay/storage"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // a poll failed, or serve stopped on an error
	exitUsage  = 2 // bad flags or a bad config file
)

const usage = `usage: feedrelay <command> [flags]

commands:
  serve  [-config config.yaml]              poll on schedule and serve feeds until SIGINT/SIGTERM
  poll   [-config config.yaml] [-source S]  poll once, print one line per source
  check  [-config config.yaml]              validate the config file
  explain [-config config.yaml] -source S   why each of a source's newest items is shown, dropped or folded
  import-opml FILE                          print config sources for an OPML subscription list
  backup [-config config.yaml] FILE         write a consistent copy of the database, even while serving
  healthcheck [-config config.yaml]         exit 0 if the running serve answers /healthz (for Docker)
`

// Run is the whole program, minus the process: tests drive it directly.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "import-opml":
		return runImportOPML(args, stdout, stderr)
	case "backup":
		return runBackup(ctx, args, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, args, stdout, stderr)
	case "explain":
		return runExplain(ctx, args, stdout, stderr)
	}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "config.yaml", "config file")
	var source *string
	if cmd == "poll" {
		source = fs.String("source", "", "poll only the source with this slug")
	}
	switch cmd {
	case "serve", "poll", "check":
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "feedrelay: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	switch cmd {
	case "check":
		fmt.Fprintf(stdout, "%s: ok (%d categories, %d sources)\n", *configPath, len(cfg.Categories), len(cfg.Sources))
		return exitOK
	case "poll":
		return runPoll(ctx, cfg, *source, stdout, stderr)
	default:
		return runServe(ctx, cfg, stderr)
	}
}

func newLogger(format, levelName string, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(levelName)) // validated by config
	hopts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, hopts))
	}
	return slog.New(slog.NewTextHandler(w, hopts))
}

// app is everything a command needs, wired from one config.
type app struct {
	mu      sync.Mutex // guards cfg: a reload swaps it while pruning reads it
	cfg     *config.Config
	logger  *slog.Logger
	db      *storage.DB
	poller  *feeds.Poller
	sources []feeds.Source
}

func newApp(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*app, error) {
	db, err := storage.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	if _, err := db.BackfillStoryKeys(ctx, feeds.StoryKeys(cfg.Dedup.TrackingParams)); err != nil {
		db.Close()
		return nil, err
	}
	a := &app{cfg: cfg, logger: logger, db: db}
	if err := a.setSources(ctx, cfg); err != nil {
		db.Close()
		return nil, err
	}
	fetcher := feeds.NewFetcher(cfg.UserAgent)
	fetcher.SetPerHostLimit(cfg.PerHost)
	a.poller = &feeds.Poller{Fetcher: fetcher, Store: db, Logger: logger}
	return a, nil
}

// setSources makes cfg's sources the ones polled, recording them in the
// database (a source that left the config keeps its items there).
func (a *app) setSources(ctx context.Context, cfg *config.Config) error {
	sources, infos := setup.Sources(cfg)
	if err := a.db.SyncSources(ctx, infos); err != nil {
		return err
	}
	a.mu.Lock()
	a.cfg, a.sources = cfg, sources
	a.mu.Unlock()
	return nil
}

func runPoll(ctx context.Context, cfg *config.Config, only string, stdout, stderr io.Writer) int {
	level := cfg.Log.Level
	if level == "info" {
		// The summary on stdout says what the info lines would.
		level = "warn"
	}
	logger := newLogger(cfg.Log.Format, level, stderr)
	a, err := newApp(ctx, cfg, logger)
	if err != nil {
		fmt.Fprintln(stderr, "feedrelay:", err)
		return exitFailed
	}
	defer a.db.Close()
	sources := a.sources
	if only != "" {
		sources = nil
		for _, s := range a.sources {
			if s.Slug == only {
				sources = append(sources, s)
			}
		}
		if len(sources) == 0 {
			fmt.Fprintf(stderr, "feedrelay: %s has no source %q\n", cfg.Path, only)
			return exitUsage
		}
	}
	results := make([]*feeds.Result, len(sources))
	sem := make(chan struct{}, cfg.Concurrency)
	var wg sync.WaitGroup
	prog := newProgress(stderr, len(sources))
	for i, src := range sources {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = a.poller.Poll(ctx, src)
			prog.done(results[i].Err != nil)
		}()
	}
	wg.Wait()
	prog.finish()
	// The search index of what was stored is left to serve, which builds
	// it in the background (it alone answers /search).
	a.prune(ctx)
	code := exitOK
	for i, r := range results {
		if r.Err != nil {
			// When a running daemon would try again.
			r.NextPoll = feeds.NextPoll(sources[i], r, r.Failures, time.Now().In(cfg.Location))
		}
		fmt.Fprintf(stdout, "%s (%s): %s\n", sources[i].Slug, sources[i].Name, r.Summary())
		if r.Err != nil {
			code = exitFailed
		}
	}
	return code
}

func runServe(ctx context.Context, cfg *config.Config, stderr io.Writer) int {
	logger := newLogger(cfg.Log.Format, cfg.Log.Level, stderr)
	a, err := newApp(ctx, cfg, logger)
	if err != nil {
		logger.Error("start", slog.String("error", err.Error()))
		return exitFailed
	}
	defer a.db.Close()

	web := setup.NewWeb(a.db, logger, cfg)
	srv, m, httpSrv := web.Server, web.Metrics, web.HTTP
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		logger.Error("listen", slog.String("addr", cfg.Listen), slog.String("error", err.Error()))
		return exitFailed
	}
	logger.Info("serving", slog.String("addr", ln.Addr().String()), slog.String("base_url", cfg.BaseURL),
		slog.String("database", cfg.Database), slog.Int("sources", len(a.sources)))

	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	// Housekeeping beside the polls: retention, and the search index of
	// what the polls stored.
	bgCtx, stopBackground := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	bg.Add(2)
	go func() { defer bg.Done(); a.pruneEvery(bgCtx, pruneInterval) }()
	go func() {
		defer bg.Done()
		a.db.RunIndexer(bgCtx, func(err error) { logger.Warn("search index", slog.String("error", err.Error())) })
	}()
	defer func() { stopBackground(); bg.Wait() }()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	// The scheduler runs until shutdown or a config reload; a reload
	// restarts it on the new sources, each keeping when it is next due.
	var due map[string]time.Time
	code := exitOK
	for running := true; running; {
		pollCtx, stopPolls := context.WithCancel(context.Background())
		sched := &feeds.Scheduler{Poller: a.poller, Concurrency: a.cfg.Concurrency, Due: due,
			OnResult: web.Polled}
		stopped := make(chan map[string]time.Time, 1)
		sources := a.sources
		go func() { stopped <- sched.Run(pollCtx, sources) }()
		srv.SetReady(true)
		var next *config.Config // a reloaded config, once valid
		for running && next == nil {
			select {
			case <-ctx.Done():
				logger.Info("shutting down")
				running = false
			case err := <-serveErr:
				logger.Error("http server stopped", slog.String("error", err.Error()))
				code, running = exitFailed, false
			case <-hup:
				var err error
				next, err = a.reload(ctx)
				m.Reload(err)
				if err != nil {
					logger.Error("config reload failed: keeping the running config",
						slog.String("config", a.cfg.Path), slog.String("error", err.Error()))
				}
			}
		}
		// Cancel polls in flight: their transactions roll back, nothing
		// is half-written, and each source is due again at once.
		srv.SetReady(false)
		stopPolls()
		due = <-stopped
		if next != nil {
			a.apply(next, srv)
			m.Forget(func(slug string) bool {
				return slices.ContainsFunc(a.sources, func(s feeds.Source) bool { return s.Slug == slug })
			})
		}
	}
	// Stop taking requests and let those in flight finish; the database
	// closes after.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("http shutdown", slog.String("error", err.Error()))
	}
	return code
}

// reload reads the config file again. Settings that need a restart (listen,
// database) are kept as they are, with a warning.
func (a *app) reload(ctx context.Context) (*config.Config, error) {
	next, err := config.Load(a.cfg.Path)
	if err != nil {
		return nil, err
	}
	if next.Listen != a.cfg.Listen || next.Database != a.cfg.Database {
		a.logger.Warn("config reload: listen and database take effect at the next restart",
			slog.String("listen", a.cfg.Listen), slog.String("database", a.cfg.Database))
	}
	return next, nil
}

// apply swaps in a reloaded config: sources, published feeds, logging.
func (a *app) apply(next *config.Config, srv *server.Server) {
	if err := a.setSources(context.Background(), next); err != nil {
		a.logger.Error("config reload: recording sources", slog.String("error", err.Error()))
		return
	}
	srv.SetOptions(setup.ServerOptions(next))
	a.logger.Info("config reloaded", slog.String("config", next.Path), slog.Int("sources", len(next.Sources)),
		slog.Int("categories", len(next.Categories)))
}

// progress shows a one-shot poll's progress on a terminal (sources done of
// total, failures so far) and stays quiet in a pipe or a log.
type progress struct {
	mu           sync.Mutex
	w            io.Writer // nil when not a terminal
	n, total     int
	failed       int
	lastRendered time.Time
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{total: total}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.w = w
		}
	}
	return p
}

func (p *progress) done(failed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if failed {
		p.failed++
	}
	if p.w != nil && (p.n == p.total || time.Since(p.lastRendered) > 100*time.Millisecond) {
		p.lastRendered = time.Now()
		fmt.Fprintf(p.w, "\rpolled %d/%d sources, %d failed", p.n, p.total, p.failed)
	}
}

// finish clears the progress line before the summary is printed.
func (p *progress) finish() {
	if p.w != nil {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// pruneInterval is how often serve applies retention.
const pruneInterval = time.Hour

// pruneEvery applies retention now and then every interval until ctx ends.
func (a *app) pruneEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		a.prune(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// prune applies each source's retention: items first seen more than days
// ago go, except the source's newest min_items.
func (a *app) prune(ctx context.Context) {
	a.mu.Lock()
	cfg := a.cfg
	a.mu.Unlock()
	for _, s := range cfg.Sources {
		if s.Retention.Days == 0 || ctx.Err() != nil {
			continue
		}
		cutoff := time.Now().AddDate(0, 0, -s.Retention.Days)
		n, err := a.db.Prune(ctx, s.Slug, cutoff, s.Retention.MinItems)
		switch {
		case err != nil && ctx.Err() == nil:
			a.logger.Warn("retention", slog.String("source", s.Slug), slog.String("error", err.Error()))
		case n > 0:
			a.logger.Info("retention", slog.String("source", s.Slug), slog.Int("pruned", n),
				slog.Int("days", s.Retention.Days), slog.Int("min_items", s.Retention.MinItems))
		}
	}
}
