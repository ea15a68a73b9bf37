package app

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/feedrelay/feedrelay/export"
	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/server"
	"github.com/feedrelay/feedrelay/websub"
)

// ExportJekyll writes the running config's posts and category pages into
// the Jekyll site at dir (see export.Jekyll).
func (a *App) ExportJekyll(ctx context.Context, dir string, o export.JekyllOptions) (*export.Result, error) {
	cfg := a.Config()
	opts := PublishOptions(cfg)
	j := &export.Jekyll{Publisher: publish.New(a.DB, opts), Categories: opts.Categories, BaseURL: cfg.BaseURL, Location: cfg.Location}
	return j.Export(ctx, dir, o)
}

// ExportStatic writes every published feed, page and the OPML into dir as
// a static site (see export.Static): the bytes of a server like the
// daemon's, with file links, dated where nothing else dates them (an empty
// feed, the OPML) by the config file's modification time, so that a second
// export of an unchanged database writes nothing.
func (a *App) ExportStatic(ctx context.Context, dir string) (*export.Result, error) {
	cfg := a.Config()
	opts := ServerOptions(cfg)
	opts.Links = publish.FileLinks
	if st, err := os.Stat(cfg.Path); err == nil {
		opts.Epoch = st.ModTime().Truncate(time.Second)
	} else {
		opts.Epoch = time.Unix(0, 0)
	}
	s := &export.Static{Handler: server.New(a.DB, nil, a.Logger, opts), Store: a.DB, Options: &opts.Options}
	return s.Export(ctx, dir)
}

// changes collects the sources whose polls stored something, for the
// goroutine that acts on them (watchChanges): polls only add to it.
type changes struct {
	mu      sync.Mutex
	sources []string
	wake    chan struct{} // a token when sources were added
}

func newChanges() *changes { return &changes{wake: make(chan struct{}, 1)} }

// add records that source changed; it never blocks.
func (c *changes) add(source string) {
	c.mu.Lock()
	if !slices.Contains(c.sources, source) {
		c.sources = append(c.sources, source)
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *changes) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sources
	c.sources = nil
	return s
}

// changeSettle is how long after a poll stored something the feeds are
// looked at, so that the polls of one round (a category's sources are
// often due together) make one ping, not one per source. WebSub's pings
// leave within this and the time to read the feeds' first pages.
const changeSettle = time.Second

// watchChanges acts on what the polls stored until ctx ends: it tells the
// WebSub hubs of every feed whose first page changed, and has the Jekyll
// folder (if configured) brought up to date. It never blocks a poll.
func (a *App) watchChanges(ctx context.Context, jekyll chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.changes.wake:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(changeSettle):
		}
		sources := a.changes.take()
		if len(sources) == 0 {
			continue
		}
		if a.Config().Export.Jekyll != "" {
			select {
			case jekyll <- struct{}{}:
			default: // one is due already; it will see these changes
			}
		}
		if len(a.Config().WebSub.Hubs) > 0 {
			a.feedsChanged(ctx, sources)
		}
	}
}

// feedsChanged pings the hubs with the feeds of sources whose first page
// changed (every feed: nil sources, which only remembers them).
func (a *App) feedsChanged(ctx context.Context, sources []string) {
	pub := publish.New(a.DB, PublishOptions(a.Config()))
	changed, err := a.feedChanges.Changed(ctx, pub, sources)
	if err != nil && ctx.Err() == nil {
		a.Logger.Warn("websub: what the feeds show", slog.String("error", err.Error()))
	}
	var topics []string
	for _, f := range changed {
		topics = append(topics, websub.Topics(f)...)
	}
	a.Pinger.Publish(topics)
}

// keepJekyll exports into the configured Jekyll folder once at start and
// then at each value of due, until ctx ends. An export in progress delays
// the next one, never a poll.
func (a *App) keepJekyll(ctx context.Context, due <-chan struct{}) {
	run := func() {
		cfg := a.Config()
		if cfg.Export.Jekyll == "" {
			return
		}
		start := time.Now()
		res, err := a.ExportJekyll(ctx, cfg.Export.Jekyll, export.JekyllOptions{Prune: cfg.Export.Prune})
		if err != nil {
			if ctx.Err() == nil {
				a.Logger.Error("jekyll export", slog.String("dir", cfg.Export.Jekyll), slog.String("error", err.Error()))
			}
			return
		}
		level := slog.LevelDebug
		if res.Changed() {
			level = slog.LevelInfo
		}
		a.Logger.Log(ctx, level, "jekyll export", slog.String("dir", cfg.Export.Jekyll), slog.Int("written", len(res.Written)),
			slog.Int("unchanged", res.Unchanged), slog.Int("removed", len(res.Removed)), slog.Duration("took", time.Since(start)))
	}
	run()
	for {
		select {
		case <-ctx.Done():
			return
		case <-due:
			run()
		}
	}
}

// changedSomething reports whether a poll stored anything.
func changedSomething(r *feeds.Result) bool {
	return r.Err == nil && r.Counts.New+r.Counts.Updated > 0
}
