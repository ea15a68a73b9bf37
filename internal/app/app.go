// Package app is feedrelay assembled from one config file: the database and
// its tag authority, the sources recorded in it, the fetcher, poller and
// scheduler, the web face (server, /metrics, metrics middleware), the search
// indexer and the pruner; it runs them, reloads the config into them and
// closes them. `feedrelay serve` and `poll`, the benchmark harness and the
// end-to-end tests all run feedrelay through it, so that it is wired once.
package app

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/feedrelay/feedrelay/config"
	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/metrics"
	"github.com/feedrelay/feedrelay/server"
	"github.com/feedrelay/feedrelay/storage"
	"github.com/feedrelay/feedrelay/websub"
)

// Config is a config file as loaded: the config and the checksum of the
// bytes it was parsed from, so that a reload of the same bytes is skipped.
type Config struct {
	*config.Config
	sum [sha256.Size]byte
}

// LoadConfig reads and validates the config file at path.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	cfg, err := config.Parse(path, data)
	if err != nil {
		return Config{}, err
	}
	return Config{Config: cfg, sum: sha256.Sum256(data)}, nil
}

// Options are what an App takes besides its config.
type Options struct {
	// Logging is where the App logs; nil: the config's format and level,
	// on standard error.
	Logging *Logging
	// OnPoll, if set, is called after each scheduled poll (Run), once the
	// index and the metrics have recorded it, from the scheduling goroutine:
	// it must not block.
	OnPoll func(*feeds.Result)
	// Now is the clock of polls and of the database (tests move it to
	// make retries due); nil: time.Now.
	Now func() time.Time
}

// App is feedrelay wired from one config. Its exported fields are set by
// Open and never replaced; a reload changes what they do, not what they are.
type App struct {
	DB      *storage.DB
	Logger  *slog.Logger
	Metrics *metrics.Metrics
	Server  *server.Server
	HTTP    *http.Server // serves Server and /metrics; Run serves it on a listener
	Health  *feeds.Health
	Pinger  *websub.Pinger // tells the config's WebSub hubs of changed feeds (Run)

	logging *Logging
	onPoll  func(*feeds.Result)
	now     func() time.Time
	sched   *feeds.Scheduler
	// authority is the authority of the tag: URIs minted for entries
	// without an id of their own: the host of base_url at start, for as
	// long as the process runs (a reload that changes it is warned about).
	authority string
	// changes are the sources whose polls stored something, and
	// feedChanges what each feed showed, for WebSub and the Jekyll export.
	changes     *changes
	feedChanges websub.Changes

	reloading sync.Mutex        // one reload at a time; guards sum
	sum       [sha256.Size]byte // of the running config's file

	mu      sync.Mutex // guards the running config and what it made
	cfg     *config.Config
	sources []feeds.Source
	poller  *feeds.Poller
}

// Open opens c's database and records c's sources in it, and builds every
// part of feedrelay on them. Close it when done.
func Open(ctx context.Context, c Config, o Options) (*App, error) {
	cfg := c.Config
	if o.Logging == nil {
		o.Logging = NewLogging(os.Stderr, cfg.Log.Format, cfg.Log.Level)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	a := &App{logging: o.Logging, Logger: o.Logging.Logger(), onPoll: o.OnPoll, now: o.Now, sum: c.sum, cfg: cfg,
		authority: feeds.TagAuthority(cfg.BaseURL), changes: newChanges()}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return nil, err
	}
	db.Now = o.Now
	a.DB = db
	sources, infos := a.sourcesOf(cfg)
	changes, err := db.SyncSourcesReport(ctx, infos)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("record the sources of %s in %s: %w", cfg.Path, Redacted(cfg.Database), err)
	}
	a.logSourceChanges(changes)
	a.sources = sources
	a.poller = a.newPoller(cfg)
	a.sched = &feeds.Scheduler{Poller: a.poller, Concurrency: cfg.Concurrency, OnResult: a.polled}
	if db.Shared() {
		// Several instances share the database: each polls the sources it
		// claims, per-host limits counted across all of them.
		a.sched.Leases, a.sched.PerHost = db, cfg.PerHost
	}

	a.Health = &feeds.Health{}
	a.Metrics = metrics.New(prometheus.NewRegistry(), db.Size)
	a.Pinger = websub.NewPinger(a.Metrics.Registerer(), a.Logger)
	a.Pinger.SetHubs(cfg.WebSub.Hubs)
	a.Server = server.New(db, a.Health, a.Logger, ServerOptions(cfg))
	root := http.NewServeMux()
	root.Handle("GET /metrics", a.Metrics.Handler())
	root.Handle("/", a.Server)
	a.HTTP = newHTTPServer(a.Metrics.Middleware(root), a.Logger)
	return a, nil
}

// openDB opens cfg's database and keys the items stored before story keys
// existed (migration 0004 queued them), before anything polls.
func openDB(ctx context.Context, cfg *config.Config) (*storage.DB, error) {
	db, err := storage.Open(ctx, cfg.Database)
	if err != nil {
		return nil, err
	}
	if _, err := db.BackfillStoryKeys(ctx, feeds.StoryKeys(cfg.Dedup.TrackingParams)); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Redacted is the config's database as logs and errors may show it: a
// PostgreSQL URL's password replaced by xxxxx.
func Redacted(database string) string {
	if u, err := url.Parse(database); err == nil && u.Scheme != "" && u.User != nil {
		return u.Redacted()
	}
	return database
}

// sourcesOf is Sources(cfg) under the running tag authority.
func (a *App) sourcesOf(cfg *config.Config) ([]feeds.Source, []storage.SourceInfo) {
	sources, infos := Sources(cfg)
	for i := range sources {
		sources[i].TagAuthority = a.authority
	}
	return sources, infos
}

// newPoller builds the fetcher and poller cfg asks for. Each source carries
// its own user agent (config fills in the global one), so the fetcher's
// default is only for sources that name none.
func (a *App) newPoller(cfg *config.Config) *feeds.Poller {
	fetcher := feeds.NewFetcher("")
	fetcher.SetPerHostLimit(cfg.PerHost)
	return &feeds.Poller{Fetcher: fetcher, Store: a.DB, Logger: a.Logger, Now: a.now}
}

// newHTTPServer is the http.Server around feedrelay's handler h: every
// limit on what a client may cost the server is set here.
func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// Close closes the database.
func (a *App) Close() error { return a.DB.Close() }

// Config returns the running config.
func (a *App) Config() *config.Config {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

// Sources returns the running config's sources as the poller knows them
// (shared: not to be modified).
func (a *App) Sources() []feeds.Source {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sources
}

// polled records a scheduled poll for the index and the metrics.
func (a *App) polled(r *feeds.Result) {
	a.Health.Record(r)
	a.Metrics.Poll(r)
	if changedSomething(r) {
		a.changes.add(r.Source)
	}
	if a.onPoll != nil {
		a.onPoll(r)
	}
}

// PollOnce polls sources once, the config's concurrency at a time, and
// returns their results in order; done, if set, is called after each poll
// (from several goroutines at once).
//
// A poll waiting for the database's writer does not count against the
// concurrency: its slot goes to the next source's fetch, and up to twice
// the concurrency of polls may wait to be stored besides the group being
// written. On SQLite the waiting Saves are committed together (storage's
// group commit), so the more wait, the fewer transactions, and the fewer
// times each index page is written. The group being written holds its
// slots until it commits: with room for only 2×concurrency (16, a whole
// group), every fetcher of a cold poll blocked in Save while the writer
// committed, one core idle (a sixth of the wall time in a trace).
func (a *App) PollOnce(ctx context.Context, sources []feeds.Source, done func(*feeds.Result)) []*feeds.Result {
	a.mu.Lock()
	cfg, poller := a.cfg, a.poller
	a.mu.Unlock()
	n := max(cfg.Concurrency, 1)
	store := newSlotStore(poller.Store, n, a.DB.GroupSaves(), len(sources))
	p := *poller
	p.Store = store
	results := make([]*feeds.Result, len(sources))
	var wg sync.WaitGroup
	for i, src := range sources {
		store.fetching <- struct{}{}
		wg.Go(func() {
			r := p.Poll(ctx, src) // a poll's failure is in its Result
			if _, saved := store.released.LoadAndDelete(r); !saved {
				<-store.fetching
				store.left.Add(-1)
			}
			results[i] = r
			if done != nil {
				done(r)
			}
		})
	}
	wg.Wait()
	return results
}

// slotStore is PollOnce's store: a Save gives up its poll's fetch slot
// while it waits for the writer, and no more than cap(saving) wait (a
// bound on the parsed polls held in memory).
type slotStore struct {
	feeds.Store
	fetching, saving chan struct{}
	released         sync.Map // *feeds.Result whose fetch slot Save gave up
	// left counts the polls neither saving nor done: a Save that finds
	// some left tells the writer more are coming (storage.MoreSaves); the
	// last one's group is committed without waiting for others.
	left atomic.Int64
}

// newSlotStore is the slotStore of polls polls, n fetching at once, over
// store whose group commit takes up to group Saves at once.
func newSlotStore(store feeds.Store, n, group, polls int) *slotStore {
	s := &slotStore{Store: store, fetching: make(chan struct{}, n), saving: make(chan struct{}, 2*n+group)}
	s.left.Store(int64(polls))
	return s
}

func (s *slotStore) Save(ctx context.Context, r *feeds.Result) (feeds.Saved, error) {
	if s.left.Add(-1) > 0 {
		ctx = storage.MoreSaves(ctx)
	}
	s.saving <- struct{}{}
	<-s.fetching
	s.released.Store(r, true)
	defer func() { <-s.saving }()
	return s.Store.Save(ctx, r)
}

// Prune applies each source's retention: items first seen more than its
// days ago go, except the source's newest min_items. It goes through every
// source, and returns how many items went and what failed.
func (a *App) Prune(ctx context.Context) (int, error) {
	var errs []error
	total := 0
	for _, s := range a.Config().Sources {
		if s.Retention.Days == 0 || ctx.Err() != nil {
			continue
		}
		cutoff := time.Now().AddDate(0, 0, -s.Retention.Days)
		n, err := a.DB.Prune(ctx, s.Slug, cutoff, s.Retention.MinItems)
		if err != nil {
			errs = append(errs, fmt.Errorf("retention of %s: %w", s.Slug, err))
			continue
		}
		total += n
		if n > 0 {
			a.Logger.Info("retention", slog.String("source", s.Slug), slog.Int("pruned", n),
				slog.Int("days", s.Retention.Days), slog.Int("min_items", s.Retention.MinItems))
		}
	}
	return total, errors.Join(errs...)
}

// pruneInterval is how often Run applies retention.
const pruneInterval = time.Hour

// pruneEvery applies retention now and then every interval until ctx ends.
func (a *App) pruneEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := a.Prune(ctx); err != nil && ctx.Err() == nil {
			a.Logger.Warn("retention", slog.String("error", err.Error()))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Run is the daemon: it serves HTTP on ln, polls every source on its
// schedule, keeps the search index and applies retention, and reloads the
// config at each value from reload (SIGHUP), until ctx is done or the HTTP
// server fails. Then it cancels the polls in flight (their transactions roll
// back: nothing is half-written), lets the requests in flight finish within
// shutdown_timeout, and returns; the caller closes the App.
func (a *App) Run(ctx context.Context, ln net.Listener, reload <-chan os.Signal) error {
	cfg := a.Config()
	a.Logger.Info("serving", slog.String("addr", ln.Addr().String()), slog.String("base_url", cfg.BaseURL),
		slog.String("database", Redacted(cfg.Database)), slog.Int("sources", len(cfg.Sources)),
		slog.Bool("shared", a.DB.Shared()))
	serveErr := make(chan error, 1)
	go func() { serveErr <- a.HTTP.Serve(ln) }()

	// Housekeeping beside the polls: retention, and the search index of
	// what the polls stored.
	bgCtx, stopBackground := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	bg.Go(func() { a.pruneEvery(bgCtx, pruneInterval) })
	bg.Go(func() {
		a.DB.RunIndexer(bgCtx, func(err error) { a.Logger.Warn("search index", slog.String("error", err.Error())) })
	})
	// What the polls changed: WebSub pings and the Jekyll folder, each in
	// goroutines of their own, so that neither slows a poll.
	jekyll := make(chan struct{}, 1)
	if len(cfg.WebSub.Hubs) > 0 {
		// What every feed shows before the first poll, against which
		// the polls' changes are found.
		a.feedsChanged(ctx, nil)
	}
	bg.Go(func() { a.Pinger.Run(bgCtx) })
	bg.Go(func() { a.watchChanges(bgCtx, jekyll) })
	bg.Go(func() { a.keepJekyll(bgCtx, jekyll) })
	defer func() { stopBackground(); bg.Wait() }()

	pollCtx, stopPolls := context.WithCancel(context.Background())
	var polls sync.WaitGroup
	polls.Go(func() { a.sched.Run(pollCtx, a.Sources()) })
	a.Server.SetReady(true)

	var err error
	for running := true; running; {
		select {
		case <-ctx.Done():
			a.Logger.Info("shutting down")
			running = false
		case serr := <-serveErr:
			err = fmt.Errorf("http server: %w", serr)
			running = false
		case <-reload:
			if rerr := a.Reload(ctx); rerr != nil {
				a.Logger.Error("config reload failed: keeping the running config",
					slog.String("config", cfg.Path), slog.String("error", rerr.Error()))
			}
		}
	}
	a.Server.SetReady(false)
	stopPolls()
	polls.Wait()
	// Stop taking requests and let those in flight finish; the database
	// closes after.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.Config().ShutdownTimeout)
	defer cancel()
	if serr := a.HTTP.Shutdown(shutdownCtx); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		a.Logger.Warn("http shutdown", slog.String("error", serr.Error()))
	}
	return err
}

// forgetRemoved drops the sources no longer configured from the metrics.
func (a *App) forgetRemoved(sources []feeds.Source) {
	a.Metrics.Forget(func(slug string) bool {
		return slices.ContainsFunc(sources, func(s feeds.Source) bool { return s.Slug == slug })
	})
}
