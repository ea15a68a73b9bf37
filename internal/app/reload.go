package app

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"

	"github.com/feedrelay/feedrelay/config"
	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/storage"
)

// reloadable says, for every top-level key of the config file, how a reload
// applies it. A key missing here fails TestEveryKeyHasAReloadRule, so that
// no setting is silently left out of a reload.
var reloadable = map[string]string{
	"listen":   "restart", // the listener is open; warned about
	"database": "restart", // the database is open; warned about
	// base_url: links and feed ids follow it at once; the authority of
	// new tag: entry ids stays the one at start (warned about).
	"base_url":             "server options",
	"timezone":             "sources and server options",
	"user_agent":           "sources (each carries its user agent): the next fetch of each",
	"page_size":            "server options",
	"cache_max_age":        "server options",
	"shutdown_timeout":     "read when shutting down",
	"concurrency":          "scheduler (SetConcurrency): new polls",
	"per_host_concurrency": "a new fetcher for new fetches (SetPoller); on PostgreSQL the next claim (SetPerHost)",
	"attribution":          "server options",
	"language":             "server options",
	"log":                  "Logging.Set: level and format at once",
	"dedup":                "sources (tracking_params) and server options (title_window)",
	"defaults":             "folded into each source by config",
	"categories":           "server options",
	"sources":              "scheduler (SetSources) and server options; retention read at each pass",
	// allow_private_networks is folded into each source by config.
	"allow_private_networks": "sources (each carries it): the next fetch of each",
	"export":                 "read at each Jekyll export (the next poll that changes something)",
	"websub":                 "server options (hub links) and the Pinger (SetHubs): the next ping",
}

// Reload reads the config file again and swaps it in whole, without
// cancelling any poll in flight: added sources start polling, removed ones
// stop, changed ones are polled with their new settings from their next
// poll (a changed interval from their next schedule). A file whose bytes are
// unchanged is skipped. A file that does not load, or whose sources cannot
// be recorded, is refused and the running config stays. Settings that need
// a restart (listen, database) are warned about and kept as they run. The
// reload metrics are set once the outcome is known. It is safe to call from
// any goroutine.
func (a *App) Reload(ctx context.Context) error {
	a.reloading.Lock()
	defer a.reloading.Unlock()
	path := a.Config().Path
	data, err := os.ReadFile(path)
	if err != nil {
		err = fmt.Errorf("read config: %w", err)
		a.Metrics.Reload(err)
		return err
	}
	sum := sha256.Sum256(data)
	if sum == a.sum {
		a.Metrics.ReloadSkipped()
		a.Logger.Info("config unchanged: reload skipped", slog.String("config", path))
		return nil
	}
	next, err := config.Parse(path, data)
	if err == nil {
		err = a.apply(ctx, next)
	}
	a.Metrics.Reload(err)
	if err != nil {
		return err
	}
	a.sum = sum
	a.Logger.Info("config reloaded", slog.String("config", path), slog.Int("sources", len(next.Sources)),
		slog.Int("categories", len(next.Categories)))
	return nil
}

// apply swaps next in: what can fail (recording the sources) first, then
// every part, none of which can fail.
func (a *App) apply(ctx context.Context, next *config.Config) error {
	prev := a.Config()
	sources, infos := a.sourcesOf(next)
	changes, err := a.DB.SyncSourcesReport(ctx, infos)
	if err != nil {
		return fmt.Errorf("record the sources of %s: %w", next.Path, err)
	}
	a.logSourceChanges(changes)
	a.keepRestartSettings(prev, next)
	a.logging.Set(next.Log.Format, next.Log.Level)
	a.mu.Lock()
	poller := a.poller
	if next.PerHost != prev.PerHost {
		poller = a.newPoller(next)
	}
	a.cfg, a.sources, a.poller = next, sources, poller
	a.mu.Unlock()
	a.sched.SetPoller(poller)
	a.sched.SetConcurrency(next.Concurrency)
	a.sched.SetPerHost(next.PerHost)
	a.sched.SetSources(sources)
	a.Server.SetOptions(ServerOptions(next))
	a.Pinger.SetHubs(next.WebSub.Hubs)
	a.forgetRemoved(sources)
	return nil
}

// keepRestartSettings warns about the settings of next that take effect
// only at a restart and keeps them as they run, so that the running config
// says what runs.
func (a *App) keepRestartSettings(prev, next *config.Config) {
	if next.Listen != prev.Listen {
		a.Logger.Warn("config reload: listen takes effect at the next restart",
			slog.String("running", prev.Listen), slog.String("file", next.Listen))
		next.Listen = prev.Listen
	}
	if next.Database != prev.Database {
		a.Logger.Warn("config reload: database takes effect at the next restart",
			slog.String("running", Redacted(prev.Database)), slog.String("file", Redacted(next.Database)))
		next.Database = prev.Database
	}
	if was, now := a.authority, feeds.TagAuthority(next.BaseURL); was != now {
		a.Logger.Warn("config reload: base_url's host becomes the authority of new tag: entry ids at the next restart",
			slog.String("running", was), slog.String("file", now))
	}
}

// ReloadRules says, for every top-level config key, how a reload applies
// it (for tests and docs).
func ReloadRules() map[string]string { return reloadable }

// logSourceChanges logs what recording the config's sources did to stored
// sources besides their names and URLs: a rename at INFO (the source, its
// items and entry ids are the same; its old addresses redirect), an
// archive at WARN (the config gave a slug to another feed; the old feed's
// items are no longer published, nor credited to the new one).
func (a *App) logSourceChanges(changes []storage.SourceChange) {
	for _, c := range changes {
		switch c.Kind {
		case storage.SourceRenamed:
			a.Logger.Info("source renamed (same url): its items, entry ids and history follow it, its old addresses redirect",
				slog.String("from", c.From), slog.String("to", c.To), slog.String("name", c.Name), slog.String("url", c.URL))
		case storage.SourceArchived:
			a.Logger.Warn("source slug given to a different feed: the old feed's items stay stored, unpublished, until its url is configured again",
				slog.String("slug", c.From), slog.String("archived_as", c.To),
				slog.String("old_name", c.Name), slog.String("old_url", c.URL),
				slog.String("name", c.By.Name), slog.String("url", c.By.URL))
		}
	}
}
