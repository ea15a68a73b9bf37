package config

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/feedrelay/feedrelay/feeds/article"
	"github.com/feedrelay/feedrelay/feeds/charset"
	"github.com/feedrelay/feedrelay/feeds/scrape"
	"github.com/feedrelay/feedrelay/filter"
	"github.com/feedrelay/feedrelay/publish/attribution"
)

// Defaults for keys the file leaves out.
const (
	DefaultListen   = "127.0.0.1:8080"
	DefaultDatabase = "feedrelay.db"
	DefaultInterval = 15 * time.Minute
	// DefaultMaxInterval caps how far a feed's own freshness hints
	// (Cache-Control, Expires, <ttl>, sy:updatePeriod) stretch the interval.
	DefaultMaxInterval = 6 * time.Hour
	DefaultTimeout     = 30 * time.Second
	// DefaultIdleTimeout cuts a response that stops sending well before
	// the whole-fetch timeout would.
	DefaultIdleTimeout = 15 * time.Second
	DefaultMaxBodySize = 16 << 20
	DefaultPageSize    = 50
	// DefaultCacheMaxAge lets proxies and readers reuse a feed briefly;
	// conditional GETs make anything longer unnecessary.
	DefaultCacheMaxAge = 5 * time.Minute
	// Retention: every item is kept (the archive stays whole) unless the
	// config sets days; then each source keeps at least its newest 50.
	DefaultRetentionDays     = 0
	DefaultRetentionMinItems = 50
	// DefaultTitleWindow: the same title within 48 hours is one story.
	DefaultTitleWindow = 48 * time.Hour
	// DefaultShutdownTimeout is how long a stop waits for requests and
	// polls in flight.
	DefaultShutdownTimeout = 5 * time.Second
	DefaultConcurrency     = 8
	DefaultPerHost         = 2
	// DefaultAttribution ends every republished entry: a visible line naming
	// the source and linking to the original, for readers that hide
	// <source>. It is an html/template with .Source (the source we fetched),
	// .Origin (the original publisher the article names, if any), .Link and
	// .Author. .Link is empty when the original's is not http(s).
	DefaultAttribution = `<p>（文章来源：{{if .Origin}}{{.Origin}} · 经 {{end}}{{.Source}}）{{with .Link}}<br>原文链接：<a href="{{.}}">{{.}}</a>{{end}}</p>`
	MinInterval        = time.Second
)

type validator struct {
	file string
	w    *written
	errs Errors
}

// errorf reports a problem at path, unless its value could not be read:
// that error has been reported, and this one would follow from it.
func (v *validator) errorf(path, format string, args ...any) {
	if v.w.failed(path) {
		return
	}
	v.errs = append(v.errs, &Error{File: v.file, Line: v.w.line(path), Key: path, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) validate(c *Config) {
	dir := filepath.Dir(c.Path)

	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err == nil {
		_, err = net.LookupPort("tcp", port) // a number up to 65535, or a service name
	}
	if err != nil {
		v.errorf("listen", "%q is not host:port", c.Listen)
	} else if c.BaseURL == "" {
		// ":8080" and "0.0.0.0:8080" listen everywhere; a link needs a host.
		if host == "" || net.ParseIP(host).IsUnspecified() {
			host = "localhost"
		}
		c.BaseURL = "http://" + net.JoinHostPort(host, port) + "/"
	}
	// Still empty when listen is wrong: that error is enough.
	if c.BaseURL != "" {
		if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.errorf("base_url", "%q is not an absolute http(s) URL", c.BaseURL)
		} else if u.User != nil {
			// Every link published would carry them.
			v.errorf("base_url", "%q holds a user name or password: every published link would carry it", c.BaseURL)
		} else if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(c.BaseURL, "#") {
			// Paths are appended to it: "…/?q=1/feeds/x.atom".
			v.errorf("base_url", "%q has a query or fragment: the published paths are appended to it; write the address of the folder, e.g. https://news.example.org/feeds/", c.BaseURL)
		} else if !strings.HasSuffix(c.BaseURL, "/") {
			c.BaseURL += "/"
		}
	}
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	// A URL (postgres://…) names a server, not a file beside this one.
	if scheme, _, isURL := strings.Cut(c.Database, "://"); isURL {
		if s := strings.ToLower(scheme); s != "postgres" && s != "postgresql" {
			v.errorf("database", "%q: a URL must be postgres:// or postgresql://; anything else is a SQLite file's path", c.Database)
		}
	} else if !filepath.IsAbs(c.Database) {
		c.Database = filepath.Join(dir, c.Database)
	}
	c.Location = v.location("timezone", c.Timezone, time.UTC)
	if c.Timezone == "" {
		c.Timezone = "UTC"
	}
	v.count("page_size", &c.PageSize, DefaultPageSize, 1000)
	v.duration("cache_max_age", &c.CacheMaxAge, DefaultCacheMaxAge, 0)
	v.duration("shutdown_timeout", &c.ShutdownTimeout, DefaultShutdownTimeout, 100*time.Millisecond)
	v.count("concurrency", &c.Concurrency, DefaultConcurrency, 0)
	v.count("per_host_concurrency", &c.PerHost, DefaultPerHost, 0)
	if c.Attribution == "" {
		c.Attribution = DefaultAttribution
	}
	if _, err := attribution.Parse(c.Attribution); err != nil {
		v.errorf("attribution", "not a valid template: %v", err)
	}
	if !httpguts.ValidHeaderFieldValue(c.UserAgent) {
		v.errorf("user_agent", "%q cannot be sent in an HTTP header (a line break or control character)", c.UserAgent)
	}
	if c.Language == "" {
		c.Language = "zh-CN"
	}
	switch c.Log.Format {
	case "":
		c.Log.Format = "text"
	case "text", "json":
	default:
		v.errorf("log.format", "must be text or json, not %q", c.Log.Format)
	}
	switch c.Log.Level {
	case "":
		c.Log.Level = "info"
	case "debug", "info", "warn", "error":
	default:
		v.errorf("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}

	if c.Export.Jekyll != "" && !filepath.IsAbs(c.Export.Jekyll) {
		c.Export.Jekyll = filepath.Join(dir, c.Export.Jekyll)
	}
	if c.Export.Prune && c.Export.Jekyll == "" {
		v.errorf("export.prune", "prunes nothing without export.jekyll")
	}
	for i, h := range c.WebSub.Hubs {
		if u, err := url.Parse(h); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.errorf(fmt.Sprintf("websub.hubs[%d]", i), "%q is not an absolute http(s) URL", h)
		}
	}

	d := &c.Defaults
	v.duration("defaults.interval", &d.Interval, DefaultInterval, MinInterval)
	v.duration("defaults.max_interval", &d.MaxInterval, DefaultMaxInterval, MinInterval)
	v.duration("defaults.timeout", &d.Timeout, DefaultTimeout, time.Millisecond)
	v.duration("defaults.idle_timeout", &d.IdleTimeout, DefaultIdleTimeout, time.Millisecond)
	v.size("defaults.max_body_size", &d.MaxBodySize, DefaultMaxBodySize)
	v.retention("defaults.retention", &d.Retention, Retention{Days: DefaultRetentionDays, MinItems: DefaultRetentionMinItems})
	if c.Dedup.TitleWindow == 0 && !v.w.has("dedup.title_window") {
		c.Dedup.TitleWindow = DefaultTitleWindow
	}
	if c.Dedup.TitleWindow < 0 {
		v.errorf("dedup.title_window", "must not be negative")
	}

	catSeen := map[string]string{} // slug → path of its category
	// With a category that could not be read, the slugs are not all
	// known: a source's unknown category would be a guess.
	catsKnown := !v.w.failed("categories")
	for i := range c.Categories {
		cat := &c.Categories[i]
		p := fmt.Sprintf("categories[%d]", i)
		unread := v.w.failed(p+".slug") || v.w.failed(p+".title")
		if unread {
			catsKnown = false
		} else if cat.Title == "" && cat.Slug == "" {
			v.errorf(p, "a category needs a title or a slug")
			continue
		}
		derived := cat.Slug == ""
		if derived {
			cat.Slug = Slugify(cat.Title)
		}
		if cat.Title == "" {
			cat.Title = cat.Slug
		}
		switch {
		case unread:
			// A slug made of what could be read would be a guess.
		case derived && cat.Slug == "":
			v.errorf(p+".slug", "cannot make a slug of %q; set slug:", cat.Title)
		case !validSlug(cat.Slug):
			v.errorf(p+".slug", "%q is not a valid slug (use a-z, 0-9, - and _)", cat.Slug)
		case cat.Slug == "all":
			v.errorf(p+".slug", `"all" is reserved for the feed of every category`)
		case catSeen[cat.Slug] != "" && derived:
			v.errorf(p+".title", "its slug %q, made from the title, is also that of %s; set slug: to tell them apart", cat.Slug, v.at(catSeen[cat.Slug]))
		case catSeen[cat.Slug] != "":
			v.errorf(p+".slug", "duplicate category slug %q (also %s)", cat.Slug, v.at(catSeen[cat.Slug]))
		default:
			catSeen[cat.Slug] = p
		}
		v.filters(p+".filters", "category "+cat.Slug, &cat.Filters)
		if !v.w.has(p + ".dedup_titles") {
			cat.DedupTitles = true
		}
	}

	srcSeen, urlSeen := map[string]int{}, map[string]string{} // slug → index, URL → path
	for i := range c.Sources {
		s := &c.Sources[i]
		p := fmt.Sprintf("sources[%d]", i)
		if s.Name == "" && !v.w.failed(p+".name") {
			v.errorf(p, "a source needs a name")
		}
		derived := s.Slug == ""
		if derived {
			s.Slug = Slugify(s.Name)
		}
		first, dup := srcSeen[s.Slug]
		switch {
		case v.w.failed(p+".slug") || v.w.failed(p+".name"):
			// A slug made of what could be read would be a guess.
		case derived && s.Slug == "":
			if s.Name != "" { // else "a source needs a name" says it
				v.errorf(p+".slug", "cannot make a slug of %q; set slug:", s.Name)
			}
		case !validSlug(s.Slug):
			v.errorf(p+".slug", "%q is not a valid slug (use a-z, 0-9, - and _)", s.Slug)
		case dup && derived && c.Sources[first].Name == s.Name:
			v.errorf(p+".name", "duplicate source name %q (also %s); set slug: on one of them to tell them apart", s.Name, v.at(fmt.Sprintf("sources[%d]", first)))
		case dup && derived:
			v.errorf(p+".name", "its slug %q, made from the name, is also that of %s; set slug: to tell them apart", s.Slug, v.at(fmt.Sprintf("sources[%d]", first)))
		case dup:
			v.errorf(p+".slug", "duplicate source slug %q (also %s)", s.Slug, v.at(fmt.Sprintf("sources[%d]", first)))
		default:
			srcSeen[s.Slug] = i
		}
		if u, err := sourceURL(s.URL, dir); err != nil {
			v.errorf(p+".url", "%v", err)
		} else {
			s.URL = u
			if urlSeen[u] != "" {
				v.errorf(p+".url", "the same URL is already polled by %s", v.at(urlSeen[u]))
			}
			urlSeen[u] = p + ".url"
		}
		if s.SiteURL != "" {
			if u, err := url.Parse(s.SiteURL); err != nil || !u.IsAbs() {
				v.errorf(p+".site_url", "%q is not an absolute URL", s.SiteURL)
			}
		}
		for j, cs := range s.Categories {
			if catsKnown && catSeen[cs] == "" {
				v.errorf(fmt.Sprintf("%s.categories[%d]", p, j), "%s", unknownCategory(cs, catSeen))
			}
		}
		v.duration(p+".interval", &s.Interval, d.Interval, MinInterval)
		v.duration(p+".max_interval", &s.MaxInterval, d.MaxInterval, MinInterval)
		v.duration(p+".timeout", &s.Timeout, d.Timeout, time.Millisecond)
		v.duration(p+".idle_timeout", &s.IdleTimeout, d.IdleTimeout, time.Millisecond)
		v.size(p+".max_body_size", &s.MaxBodySize, d.MaxBodySize)
		s.Location = v.location(p+".timezone", s.Timezone, c.Location)
		if s.Charset != "" {
			if _, err := charset.Lookup(s.Charset); err != nil {
				v.errorf(p+".charset", "%v", err)
			}
		}
		if s.UserAgent == "" {
			s.UserAgent = c.UserAgent
		} else if !httpguts.ValidHeaderFieldValue(s.UserAgent) {
			v.errorf(p+".user_agent", "%q cannot be sent in an HTTP header (a line break or control character)", s.UserAgent)
		}
		for _, name := range slices.Sorted(maps.Keys(s.Headers)) {
			switch {
			case !httpguts.ValidHeaderFieldName(name):
				v.errorf(p+".headers."+name, "%q is not an HTTP header name (letters, digits and !#$%%&'*+-.^_`|~ only)", name)
			case !httpguts.ValidHeaderFieldValue(s.Headers[name]):
				v.errorf(p+".headers."+name, "%q cannot be sent in an HTTP header (a line break or control character)", s.Headers[name])
			}
		}
		v.filters(p+".filters", "source "+s.Slug, &s.Filters)
		v.retention(p+".retention", &s.Retention, d.Retention)
		if !v.w.has(p + ".allow_private_networks") {
			s.AllowPrivateNetworks = c.AllowPrivateNetworks
		}
		v.scrape(p, s)
	}
}

// scrape checks a source's kind, its selectors or paths, and its
// full_text, and compiles them (scrape.Compile, article.Compile). Each
// problem those report names its key (items, fields.link, full_text.remove[1]):
// it is reported at that key's line under the source.
func (v *validator) scrape(p string, s *Source) {
	switch s.Kind {
	case "":
		s.Kind = KindFeed
	case KindFeed, KindHTML, KindJSON:
	default:
		v.errorf(p+".kind", "must be feed, html or json, not %q", s.Kind)
		return
	}
	if s.Kind == KindFeed {
		for _, key := range []string{"items", "fields", "time_format"} {
			if v.w.has(p + "." + key) {
				v.errorf(p+"."+key, "only for kind: html or json (this source is kind: feed, its items are the feed's)")
			}
		}
	}
	ft := s.FullText
	if ft != nil {
		if ft.URL != "" && s.Kind == KindFeed {
			v.errorf(p+".full_text.url", "only for kind: json (a feed item's article is at its link)")
		}
		if ft.Path != "" && ft.URL == "" {
			v.errorf(p+".full_text.path", "needs full_text.url: path reads the JSON answer of that URL")
		}
		e, err := article.Compile(article.Spec{Selector: ft.Selector, Remove: ft.Remove, Path: ft.Path})
		v.fieldErrors(p, err)
		s.Extractor = e
	}
	if s.Kind == KindFeed || v.w.failed(p+".fields") {
		return
	}
	spec := scrape.Spec{Kind: scrape.Kind(s.Kind), Items: s.Items, Fields: s.Fields, TimeFormat: s.TimeFormat}
	if ft != nil {
		spec.FullTextURL = ft.URL
	}
	sc, err := scrape.Compile(spec)
	v.fieldErrors(p, err)
	s.Scraper = sc
}

// fieldErrors reports each *scrape.FieldError in err at its key under the
// source at p.
func (v *validator) fieldErrors(p string, err error) {
	if err == nil {
		return
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var fe *scrape.FieldError
		if !errors.As(e, &fe) {
			v.errorf(p, "%v", e)
			continue
		}
		if fe.Value == "" {
			v.errorf(p+"."+fe.Field, "%v", fe.Err)
		} else {
			v.errorf(p+"."+fe.Field, "%q: %v", fe.Value, fe.Err)
		}
	}
}

// at names where path was written: "sources[0] on line 3".
func (v *validator) at(path string) string {
	item, _, _ := strings.Cut(path, ".")
	if l := v.w.line(path); l > 0 {
		return fmt.Sprintf("%s on line %d", item, l)
	}
	return item
}

// unknownCategory explains a source's category that none is declared with:
// a category's title where its slug belongs, or a typo.
func unknownCategory(name string, slugs map[string]string) string {
	if s := Slugify(name); s != name && slugs[s] != "" {
		return fmt.Sprintf("unknown category %q; write its slug %q", name, s)
	}
	known := make([]string, 0, len(slugs))
	for s := range slugs {
		known = append(known, s)
	}
	sort.Strings(known)
	if s := didYouMean(name, known); s != "" {
		return fmt.Sprintf("unknown category %q; did you mean %q?", name, s)
	}
	return fmt.Sprintf("unknown category %q (declare it under categories:)", name)
}

// filters compiles a filters: block; each bad pattern is an error at its
// own line.
func (v *validator) filters(path, name string, f *Filters) {
	ok := true
	for kind, pats := range map[string][]string{"include": f.Include, "exclude": f.Exclude} {
		for j, pat := range pats {
			if _, err := regexp.Compile(pat); err != nil {
				v.errorf(fmt.Sprintf("%s.%s[%d]", path, kind, j), "bad regular expression: %v", err)
				ok = false
			}
		}
	}
	if ok && len(f.Include)+len(f.Exclude) > 0 {
		f.Rules, _ = filter.Compile(name, f.Include, f.Exclude)
	}
}

// retention defaults the unwritten fields of a retention: block.
func (v *validator) retention(path string, r *Retention, def Retention) {
	if r.Days == 0 && !v.w.has(path+".days") {
		r.Days = def.Days
	}
	if r.MinItems == 0 && !v.w.has(path+".min_items") {
		r.MinItems = def.MinItems
	}
	if r.Days < 0 {
		v.errorf(path+".days", "must not be negative (0 keeps everything)")
	}
	if r.MinItems < 0 {
		v.errorf(path+".min_items", "must not be negative")
	}
}

// count defaults an unwritten positive integer and checks a written one is
// at least 1 and, when max > 0, at most max.
func (v *validator) count(path string, n *int, def, max int) {
	switch {
	case *n == 0 && !v.w.has(path):
		*n = def
	case max > 0 && (*n < 1 || *n > max):
		v.errorf(path, "must be between 1 and %d, not %d", max, *n)
	case *n < 1:
		v.errorf(path, "must be at least 1, not %d", *n)
	}
}

func (v *validator) duration(path string, d *time.Duration, def, min time.Duration) {
	if *d == 0 && !v.w.has(path) {
		*d = def
		return
	}
	if *d < min {
		v.errorf(path, "%v is below the minimum of %v", *d, min)
	}
}

func (v *validator) size(path string, b *ByteSize, def ByteSize) {
	if *b == 0 && !v.w.has(path) {
		*b = def
		return
	}
	if *b < 1024 {
		v.errorf(path, "%d bytes is below the minimum of 1KiB", *b)
	}
}

func (v *validator) location(path, name string, def *time.Location) *time.Location {
	if name == "" {
		return def
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		v.errorf(path, "unknown time zone %q (use an IANA name such as Asia/Shanghai)", name)
		return def
	}
	return loc
}

// sourceURL checks a source URL and makes file: paths absolute. Besides
// http(s), a source may be file:///abs/path or file:rel/path (relative to the
// config file), for feeds written by a local scraper.
func sourceURL(raw, dir string) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("a source needs a url")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL: %v", raw, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return "", fmt.Errorf("%q has no host", raw)
		}
		return raw, nil
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			// file://feeds/x.xml would silently read /x.xml.
			return "", fmt.Errorf("%q names the host %q: write file:path (relative to this file) or file:///absolute/path", raw, u.Host)
		}
		p := u.Path
		if u.Opaque != "" {
			p = u.Opaque
		}
		if p == "" {
			return "", fmt.Errorf("%q has no path", raw)
		}
		if !filepath.IsAbs(p) {
			abs, err := filepath.Abs(filepath.Join(dir, p))
			if err != nil {
				return "", err
			}
			p = abs
		}
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String(), nil
	default:
		return "", fmt.Errorf("%q: scheme must be http, https or file", raw)
	}
}
