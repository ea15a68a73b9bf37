package app

import (
	"html/template"

	"github.com/feedrelay/feedrelay/config"
	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/publish/attribution"
	"github.com/feedrelay/feedrelay/server"
	"github.com/feedrelay/feedrelay/storage"
)

// Sources are cfg's sources as the poller and storage know them.
func Sources(cfg *config.Config) ([]feeds.Source, []storage.SourceInfo) {
	sources := make([]feeds.Source, 0, len(cfg.Sources))
	infos := make([]storage.SourceInfo, 0, len(cfg.Sources))
	for _, s := range cfg.Sources {
		infos = append(infos, storage.SourceInfo{Slug: s.Slug, Name: s.Name, URL: s.URL})
		sources = append(sources, feeds.Source{
			Slug:           s.Slug,
			Name:           s.Name,
			URL:            s.URL,
			Interval:       s.Interval,
			MaxInterval:    s.MaxInterval,
			Timeout:        s.Timeout,
			IdleTimeout:    s.IdleTimeout,
			MaxBodySize:    int64(s.MaxBodySize),
			Location:       s.Location,
			Charset:        s.Charset,
			UserAgent:      s.UserAgent,
			Headers:        s.Headers,
			TrackingParams: cfg.Dedup.TrackingParams,
			TagAuthority:   feeds.TagAuthority(cfg.BaseURL),

			AllowPrivateNetworks: s.AllowPrivateNetworks,
			Scraper:              s.Scraper,
			Article:              s.Extractor,
		})
	}
	return sources, infos
}

// PublishOptions is what cfg publishes.
func PublishOptions(cfg *config.Config) *publish.Options {
	opts := &publish.Options{
		BaseURL:     cfg.BaseURL,
		Title:       "feedrelay",
		Language:    cfg.Language,
		PageSize:    cfg.PageSize,
		TitleWindow: cfg.Dedup.TitleWindow,
		// Validated by config.
		Attribution: template.Must(attribution.Parse(cfg.Attribution)),
	}
	for _, c := range cfg.Categories {
		pc := publish.Category{Slug: c.Slug, Title: c.Title, Rules: c.Filters.Rules, DedupTitles: c.DedupTitles}
		for _, s := range cfg.Sources {
			for _, in := range s.Categories {
				if in == c.Slug {
					pc.Sources = append(pc.Sources, s.Slug)
				}
			}
		}
		opts.Categories = append(opts.Categories, pc)
	}
	for _, s := range cfg.Sources {
		opts.Sources = append(opts.Sources, publish.Source{Slug: s.Slug, Name: s.Name, URL: s.URL, Rules: s.Filters.Rules})
	}
	return opts
}

// ServerOptions is what cfg publishes and how it is served.
func ServerOptions(cfg *config.Config) *server.Options {
	opts := &server.Options{Options: *PublishOptions(cfg), MaxAge: cfg.CacheMaxAge, Location: cfg.Location, Polling: map[string]server.Polling{},
		Hubs: cfg.WebSub.Hubs}
	for _, s := range cfg.Sources {
		opts.Polling[s.Slug] = server.Polling{Kind: s.Kind, Interval: s.Interval}
	}
	return opts
}
