// Package server publishes what feedrelay stores: per-category, per-source
// and combined Atom feeds, an HTML index with each source's health, and a
// health check. It renders with gorilla/feeds and never fetches anything.
package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/storage"
)

// Store is what the server reads.
type Store interface {
	Entries(ctx context.Context, q storage.EntryQuery) ([]storage.Entry, error)
	Sources(ctx context.Context) ([]storage.SourceState, error)
	Ping(ctx context.Context) error
}

// PollHistory tells the last poll of a source since the process started.
type PollHistory interface {
	Last(source string) (feeds.Result, bool)
}

// Category is a published category and the sources it gathers.
type Category struct {
	Slug    string
	Title   string
	Sources []string // slugs
}

// Source is a published source.
type Source struct {
	Slug string
	Name string
	URL  string
}

// Options is the part of the config the server publishes. It can be swapped
// whole while serving (see SetOptions).
type Options struct {
	BaseURL     string // absolute, ending in "/"
	Title       string
	Language    string
	PageSize    int
	Attribution *template.Template
	Categories  []Category
	Sources     []Source
}

// Server is the HTTP face of feedrelay. It is safe for concurrent use.
type Server struct {
	store   Store
	history PollHistory
	logger  *slog.Logger
	opts    atomic.Pointer[Options]
	started time.Time
	mux     *http.ServeMux
}

// New returns a Server reading from store. history may be nil.
func New(store Store, history PollHistory, logger *slog.Logger, opts *Options) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{store: store, history: history, logger: logger, started: time.Now()}
	s.opts.Store(opts)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /{$}", s.handleIndex)
	s.mux.HandleFunc("GET /feeds/{file}", s.handleCategoryFeed)
	s.mux.HandleFunc("GET /sources/{file}", s.handleSourceFeed)
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	return s
}

// SetOptions replaces what is published, e.g. after a config reload.
func (s *Server) SetOptions(opts *Options) { s.opts.Store(opts) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) handleCategoryFeed(w http.ResponseWriter, r *http.Request) {
	opts := s.opts.Load()
	slug, ok := strings.CutSuffix(r.PathValue("file"), ".atom")
	if !ok {
		http.NotFound(w, r)
		return
	}
	p := page{Lang: opts.Language, HTMLURL: opts.BaseURL, SelfURL: opts.BaseURL + "feeds/" + slug + ".atom"}
	var sources []string
	if slug == "all" {
		p.ID = tagURI(opts.BaseURL, "feeds/all")
		p.Title = opts.Title
		for _, src := range opts.Sources {
			sources = append(sources, src.Slug)
		}
	} else {
		cat := findCategory(opts, slug)
		if cat == nil {
			http.NotFound(w, r)
			return
		}
		p.ID = tagURI(opts.BaseURL, "feeds/"+slug)
		p.Title = cat.Title
		sources = cat.Sources
	}
	s.serveFeed(w, r, opts, p, sources)
}

func (s *Server) handleSourceFeed(w http.ResponseWriter, r *http.Request) {
	opts := s.opts.Load()
	slug, ok := strings.CutSuffix(r.PathValue("file"), ".atom")
	src := findSource(opts, slug)
	if !ok || src == nil {
		http.NotFound(w, r)
		return
	}
	p := page{
		ID:      tagURI(opts.BaseURL, "sources/"+slug),
		Title:   src.Name,
		Lang:    opts.Language,
		SelfURL: opts.BaseURL + "sources/" + slug + ".atom",
		HTMLURL: opts.BaseURL,
	}
	s.serveFeed(w, r, opts, p, []string{slug})
}

func (s *Server) serveFeed(w http.ResponseWriter, r *http.Request, opts *Options, p page, sources []string) {
	entries, err := s.store.Entries(r.Context(), storage.EntryQuery{Sources: sources, Limit: opts.PageSize})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	p.Entries = entries
	body, err := renderAtom(p, opts.Attribution, s.started)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	var modified time.Time
	for _, e := range entries {
		if e.Updated.After(modified) {
			modified = e.Updated
		}
	}
	sum := sha256.Sum256(body)
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	// ServeContent answers If-None-Match and If-Modified-Since with 304,
	// and HEAD without a body.
	http.ServeContent(w, r, "", modified, bytes.NewReader(body))
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.logger.Error("health check: database does not answer", slog.String("error", err.Error()))
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// internalError logs err and tells the client only that something failed.
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	s.logger.Error("request failed", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	http.Error(w, "internal error", http.StatusInternalServerError)
}

func findCategory(opts *Options, slug string) *Category {
	for i := range opts.Categories {
		if opts.Categories[i].Slug == slug {
			return &opts.Categories[i]
		}
	}
	return nil
}

func findSource(opts *Options, slug string) *Source {
	for i := range opts.Sources {
		if opts.Sources[i].Slug == slug {
			return &opts.Sources[i]
		}
	}
	return nil
}

// tagURI is the stable id of one of our feeds (RFC 4151): from the host of
// base_url, a fixed date, and the feed's path.
func tagURI(baseURL, path string) string {
	host := "feedrelay.invalid"
	if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	return "tag:" + host + ",2026:" + path
}
