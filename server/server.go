// Package server is feedrelay's HTTP face: per-category, per-source,
// combined and search feeds (Atom, RSS, JSON Feed), the HTML index with
// each source's health and the category pages, OPML, and health checks. It
// routes, caches each rendered page until the database changes, answers
// conditional GETs and compresses; what a page shows comes from package
// publish, rendered here with gorilla/feeds. It never fetches anything.
package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/storage"
)

// Store is what the server reads: what it publishes, and the health and
// version of the database.
type Store interface {
	publish.Store
	Sources(ctx context.Context) ([]storage.SourceState, error)
	Ping(ctx context.Context) error
	// Version changes whenever what Entries returns may have changed.
	Version(ctx context.Context) uint64
	// DataVersion changes whenever anything stored changed (polls too).
	DataVersion(ctx context.Context) uint64
	// For the pages' health charts (health.go).
	Polls(ctx context.Context, source string, limit int) ([]storage.Poll, error)
	RecentPolls(ctx context.Context, limit int) (map[string][]storage.Poll, error)
	NewItems(ctx context.Context, since time.Time) (map[string][]storage.HourCount, error)
	// FormerSlug is the slug a renamed source has now (renamed.go).
	FormerSlug(ctx context.Context, slug string) (current string, ok bool, err error)
}

// PollHistory tells the last poll of a source since the process started.
type PollHistory interface {
	Last(source string) (feeds.Result, bool)
}

// Options is the part of the config the server publishes. It can be swapped
// whole while serving (see SetOptions).
type Options struct {
	publish.Options                // what every feed and page shows
	MaxAge          time.Duration  // Cache-Control max-age of feeds; zero: none
	Location        *time.Location // for times shown to people
	// Polling is how each source is polled, by slug, for its page.
	Polling map[string]Polling
	// Hubs are the WebSub hubs (W3C WebSub §4) every feed names: as
	// <link rel="hub"> (RSS: atom:link, JSON Feed: hubs) and in a Link
	// header beside rel="self".
	Hubs []string
	// Epoch dates what has no date of its own: an empty feed's <updated>
	// and the OPML's dateCreated. Zero: when the server started. A static
	// export sets a fixed one, so that a second export of an unchanged
	// database writes the same bytes.
	Epoch time.Time
}

// Polling is how a source is polled.
type Polling struct {
	Kind     string // feed, html or json; empty: feed
	Interval time.Duration
}

// epoch is opts.Epoch, else when s started.
func (s *Server) epoch(opts *Options) time.Time {
	if !opts.Epoch.IsZero() {
		return opts.Epoch
	}
	return s.started
}

// Server is the HTTP face of feedrelay. It is safe for concurrent use.
type Server struct {
	store   Store
	history PollHistory
	logger  *slog.Logger
	opts    atomic.Pointer[Options]
	started time.Time
	now     func() time.Time // the clock of the pages' charts; tests set it
	mux     *http.ServeMux
	cache   renderCache
	ready   atomic.Bool
	// reloaded is when SetOptions last swapped the options in (unix
	// seconds; 0: never since New), the earliest Last-Modified of a feed
	// since (see lastModified).
	reloaded atomic.Int64
}

// New returns a Server reading from store. history may be nil.
func New(store Store, history PollHistory, logger *slog.Logger, opts *Options) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{store: store, history: history, logger: logger, started: time.Now(), now: time.Now}
	s.opts.Store(opts)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /{$}", s.handleIndex)
	s.mux.HandleFunc(categoryFeedRoute, s.handleCategoryFeed)
	s.mux.HandleFunc(sourceFeedRoute, s.handleSourceFeed)
	s.mux.HandleFunc("GET /c/{slug}", s.handleCategoryPage)
	s.mux.HandleFunc("GET /s/{slug}", s.handleSourcePage)
	s.mux.HandleFunc("GET /opml", s.handleOPML)
	s.mux.HandleFunc("GET /search", s.handleSearch)
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	s.routeStaticPaths()
	return s
}

// SetOptions replaces what is published, e.g. after a config reload.
func (s *Server) SetOptions(opts *Options) {
	s.reloaded.Store(time.Now().Unix())
	s.opts.Store(opts)
}

// lastModified is the Last-Modified of p: when what it shows last changed
// in the store (publish.Page.Changed: an entry stored or edited, a copy,
// a source's feed), never a date a source gave (one dated in the past but
// new to us must not be answered 304, one dated 2099 must not freeze the
// feed) and never later than now (RFC 9110 §8.8.2.1). It is the store's,
// so every instance of one database says the same, but after a config
// reload: a category's title, filters or attribution change its bytes and
// nothing stored, so a page is dated at least when this server took the
// new options in. Zero for an empty page: no Last-Modified (its ETag
// remains).
func (s *Server) lastModified(p *publish.Page) time.Time {
	t := p.Changed
	if t.IsZero() {
		return t
	}
	if r := time.Unix(s.reloaded.Load(), 0); s.reloaded.Load() != 0 && r.After(t) {
		t = r
	}
	if now := time.Now(); t.After(now) {
		t = now // stamped by an instance whose clock is ahead
	}
	return t
}

// The routes of feeds, which serveCached answers before routing.
const (
	categoryFeedRoute = "GET /feeds/{file}"
	sourceFeedRoute   = "GET /sources/{file}"
)

// ServeHTTP implements http.Handler. A feed's page in the render cache is
// answered before routing: it is the path of almost every request, and
// routing was a third of what answering it cost. Whatever is not in the
// cache (nothing is cached under a path the routes would not take to a
// feed handler) is routed as usual.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		route := ""
		switch {
		case strings.HasPrefix(r.URL.Path, "/feeds/"):
			route = categoryFeedRoute
		case strings.HasPrefix(r.URL.Path, "/sources/"):
			route = sourceFeedRoute
		}
		if route != "" && s.serveCached(w, r, s.opts.Load()) {
			r.Pattern = route // as routing would have: the metrics' label
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// feedFormat is one format every feed is published in.
type feedFormat struct {
	ext, mediaType string
	render         func(*feedPage) ([]byte, error)
}

var feedFormats = []feedFormat{
	{".atom", atomType, renderAtom},
	{".rss", rssType, renderRSS},
	{".json", jsonFeedType, renderJSON},
}

// splitFormat splits "markets.atom" into the slug and its format.
func splitFormat(file string) (string, *feedFormat) {
	for i := range feedFormats {
		if slug, ok := strings.CutSuffix(file, feedFormats[i].ext); ok && slug != "" {
			return slug, &feedFormats[i]
		}
	}
	return "", nil
}

// publisher publishes opts from the server's store. It keeps nothing, so
// one per request costs nothing.
func (s *Server) publisher(opts *Options) *publish.Publisher {
	return publish.New(s.store, &opts.Options)
}

func (s *Server) handleCategoryFeed(w http.ResponseWriter, r *http.Request) {
	opts := s.opts.Load()
	if s.serveCached(w, r, opts) {
		return
	}
	slug, f := splitFormat(r.PathValue("file"))
	if f == nil {
		http.NotFound(w, r)
		return
	}
	pub := s.publisher(opts)
	feed := pub.All()
	if slug != "all" {
		feed = pub.Category(slug)
	}
	if feed == nil {
		http.NotFound(w, r)
		return
	}
	s.serveFeed(w, r, opts, pub, feed, f)
}

func (s *Server) handleSourceFeed(w http.ResponseWriter, r *http.Request) {
	opts := s.opts.Load()
	if s.serveCached(w, r, opts) {
		return
	}
	slug, f := splitFormat(r.PathValue("file"))
	pub := s.publisher(opts)
	feed := pub.Source(slug)
	if f == nil {
		http.NotFound(w, r)
		return
	}
	if feed == nil {
		s.renamedSource(w, r, opts, slug, func(current string) string { return "sources/" + url.PathEscape(current) + f.ext })
		return
	}
	s.serveFeed(w, r, opts, pub, feed, f)
}

// renderTimeout bounds one rendering, which may serve several requests and
// so does not end with the request that started it.
const renderTimeout = 30 * time.Second

// cacheKey is the key of the page a feed request names: its path, and its
// canonical query when it has one.
func cacheKey(path, query string) string {
	if query == "" {
		return path
	}
	return path + "?" + query
}

// serveCached answers r from the render cache if the page it names is
// there, rendered at the store's version with opts, before anything is
// built for it: the path of almost every request for a feed. A page is
// cached only once it was found and rendered for these options, so a hit
// needs no other check. It reports whether it answered.
func (s *Server) serveCached(w http.ResponseWriter, r *http.Request, opts *Options) bool {
	query := ""
	if r.URL.RawQuery != "" {
		_, q, err := requestPage(r)
		if err != nil {
			return false // serveFeed says what is wrong with it
		}
		query = q
	}
	rd := s.cache.lookup(cacheKey(r.URL.Path, query), s.store.Version(r.Context()), opts)
	if rd == nil {
		return false
	}
	serveRendered(w, r, rd)
	return true
}

func (s *Server) serveFeed(w http.ResponseWriter, r *http.Request, opts *Options, pub *publish.Publisher, feed *publish.Feed, f *feedFormat) {
	cursor, query, err := requestPage(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	rd, err := s.cache.get(ctx, cacheKey(r.URL.Path, query), s.store.Version(ctx), opts, query != "", clientOf(r), func() (*rendered, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renderTimeout)
		defer cancel()
		p, err := s.page(ctx, opts, pub, feed, cursor, query)
		if err != nil {
			return nil, err
		}
		body, err := f.render(p)
		if err != nil {
			return nil, fmt.Errorf("render %s%s: %w", feed.Path, f.ext, err)
		}
		return &rendered{plain: representation{body: body}, modified: s.lastModified(p.Page), contentType: f.mediaType + "; charset=utf-8",
			link: linkHeader(opts.Hubs, p.URL(f.ext, query))}, nil
	})
	if err != nil {
		s.internalError(w, r, err) // or a client gone while its page waited for its turn
		return
	}
	serveRendered(w, r, rd)
}

// clientOf names the client of r for the render queue: its IP address
// (every connection of one address is one client).
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// page is the page of feed at cursor, named query in its links. An empty
// page is dated by the epoch: it has no entry to be dated by.
func (s *Server) page(ctx context.Context, opts *Options, pub *publish.Publisher, feed *publish.Feed, cursor publish.Cursor, query string) (*feedPage, error) {
	p, err := pub.Page(ctx, feed, cursor)
	if err != nil {
		return nil, err
	}
	if p.Updated.IsZero() {
		p.Updated = s.epoch(opts)
	}
	return &feedPage{Page: p, query: query, hubs: opts.Hubs}, nil
}

// linkHeader is the Link header (RFC 8288) of a feed with WebSub hubs: each
// hub and the feed's own URL (WebSub §4, for subscribers that read only
// headers); "" without hubs.
func linkHeader(hubs []string, self string) string {
	if len(hubs) == 0 {
		return ""
	}
	var b strings.Builder
	for _, h := range hubs {
		fmt.Fprintf(&b, "<%s>; rel=\"hub\", ", h)
	}
	fmt.Fprintf(&b, "<%s>; rel=\"self\"", self)
	return b.String()
}

// Header values every feed response carries, shared by all of them.
var (
	varyH         = []string{"Accept-Encoding"}
	gzipH         = []string{"gzip"}
	acceptRangesH = []string{"bytes"}
)

// serveRendered answers with rd, compressed if the client accepts gzip.
// ServeContent answers If-None-Match and If-Modified-Since with 304 (an
// If-None-Match decides alone, RFC 9110 §13.2.2), and HEAD without a body.
// The header values are rd's own, set without canonicalizing or formatting
// anything (the keys are canonical already).
//
// An If-Modified-Since later than now is ignored, as RFC 2616 §14.25 has it
// ("a date which is later than the server's current time is invalid"):
// no Last-Modified we send is, but feedrelay before 2026-12 sent a source's
// dates, a 2099 among them, and a client holding one would get 304 until
// then.
func serveRendered(w http.ResponseWriter, r *http.Request, rd *rendered) {
	h := w.Header()
	h["Content-Type"] = rd.contentTypeH
	h["Vary"] = varyH
	if rd.linkH != nil {
		h["Link"] = rd.linkH
	}
	if rd.cacheControlH != nil {
		h["Cache-Control"] = rd.cacheControlH
	}
	rep := &rd.plain
	if ae := r.Header["Accept-Encoding"]; len(ae) > 0 && acceptsGzip(ae[0]) {
		rep = &rd.gz
		h["Content-Encoding"] = gzipH
	}
	h["Etag"] = rep.etagH
	if isPlainGet(r) {
		// The common case, by far: the whole body in one Write with its
		// Content-Length. ServeContent would send a gzip body chunked
		// (it omits Content-Length under Content-Encoding) and copy it
		// through a fresh 32 KiB buffer: half nginx's rate (BENCHMARKS.md).
		h["Accept-Ranges"] = acceptRangesH
		if rd.lastModifiedH != nil {
			h["Last-Modified"] = rd.lastModifiedH
		}
		h["Content-Length"] = rep.lengthH
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			w.Write(rep.body)
		}
		return
	}
	if ims := r.Header["If-Modified-Since"]; len(ims) > 0 {
		if t, err := http.ParseTime(ims[0]); err == nil && t.After(time.Now()) {
			r = r.Clone(r.Context())
			r.Header.Del("If-Modified-Since")
		}
	}
	http.ServeContent(w, r, "", rd.modified, bytes.NewReader(rep.body))
}

// isPlainGet reports whether r asks for the whole body unconditionally.
// The keys are canonical, as net/http makes a request's: looked up as they
// are, they cost no canonicalization.
func isPlainGet(r *http.Request) bool {
	for _, k := range []string{"Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since"} {
		if v := r.Header[k]; len(v) > 0 && v[0] != "" {
			return false
		}
	}
	return true
}

// acceptsGzip reads an Accept-Encoding header (RFC 9110 §12.5.3): gzip is
// acceptable when listed with a non-zero weight, or when "*" is and gzip is
// not listed. It allocates nothing: every feed request reads one.
func acceptsGzip(header string) bool {
	gzip, star := -1.0, -1.0
	for header != "" {
		var part string
		part, header, _ = strings.Cut(header, ",")
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.TrimSpace(coding)
		q := 1.0
		for params != "" {
			var p string
			p, params, _ = strings.Cut(params, ";")
			k, v, _ := strings.Cut(p, "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		switch {
		case strings.EqualFold(coding, "gzip"), strings.EqualFold(coding, "x-gzip"):
			gzip = q
		case coding == "*":
			star = q
		}
	}
	if gzip >= 0 {
		return gzip > 0
	}
	return star > 0
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		if clientGone(r) {
			s.logger.Debug("client went away", slog.String("path", r.URL.Path))
			return
		}
		if errors.Is(err, storage.ErrCorrupt) {
			// The error names the file and how to restore it.
			s.logger.Error("health check: the database is corrupt", slog.String("error", err.Error()))
			http.Error(w, "database corrupt: restore it from a backup (the log says how)", http.StatusServiceUnavailable)
			return
		}
		s.logger.Error("health check: database does not answer", slog.String("error", err.Error()))
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// SetReady says whether the scheduler is running, for /readyz.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// handleReady is 200 when feedrelay does its job: the database answers and
// sources are being polled. /healthz only says the process is alive.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		http.Error(w, "scheduler not running", http.StatusServiceUnavailable)
		return
	}
	s.handleHealth(w, r)
}

// internalError logs err and tells the client only that something failed.
// A request whose client went away (its queries were canceled with it) is
// no failure of ours: it is logged at debug and answered with nothing, and
// the metrics count it apart (metrics.StatusClientClosed).
func (s *Server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	if clientGone(r) {
		s.logger.Debug("client went away", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		return
	}
	s.logger.Error("request failed", slog.String("path", r.URL.Path), slog.String("error", err.Error()))
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// clientGone reports whether r's client has gone: net/http cancels a
// request's context when its connection closes, and nothing else cancels it.
func clientGone(r *http.Request) bool { return r.Context().Err() != nil }
