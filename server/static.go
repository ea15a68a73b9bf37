package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/feedrelay/feedrelay/publish"
)

// A static export (`feedrelay export static`, package export) writes the
// pages at paths a plain web server serves from files, which are not the
// daemon's: a folder's index.html for a page, a file per archive page for
// a cursor, an extension for the OPML. Its pages link there (see
// sourcePageURL and opmlURL below).
// A reader or a bookmark that kept such an address, once the site moves
// from static hosting to serve, is sent on to the daemon's own address by
// a permanent redirect (readers update a feed's URL on a 301), with the
// request's query kept:
//
//	/c/{slug}/, /c/{slug}/index.html     → /c/{slug}
//	/c/{slug}/before-{cursor}.html       → /c/{slug}?before={cursor}
//	/s/{slug}/, /s/{slug}/index.html     → /s/{slug}
//	/feeds/{slug}/before-{cursor}.atom   → /feeds/{slug}.atom?before={cursor} (.rss, .json too)
//	/sources/{slug}/before-{cursor}.atom → /sources/{slug}.atom?before={cursor}
//	/index.html                          → /
//	/opml.xml, /opml/                    → /opml
//	/search/                             → /search (not exported; the slash alone)
//
// A renamed source's former slug redirects from these forms too, straight
// to its current address (renamedSource).
//
// Only a configured slug and a cursor in its one spelling are redirected,
// so every redirect leads to a page that exists, and the Location is
// always a path on this site built from base_url's path and known names:
// of the request's path, only a configured slug and a canonical cursor
// reach it (no open redirect).
func (s *Server) routeStaticPaths() {
	s.mux.HandleFunc("GET /index.html", s.movedTo(func(*http.Request, *Options) (string, bool) { return "", true }))
	toOPML := s.movedTo(func(*http.Request, *Options) (string, bool) { return "opml", true })
	s.mux.HandleFunc("GET /opml.xml", toOPML)
	s.mux.HandleFunc("GET /opml/{$}", toOPML)
	s.mux.HandleFunc("GET /search/{$}", s.movedTo(func(*http.Request, *Options) (string, bool) { return "search", true }))
	categoryPage := s.pageMovedTo("c/", func(opts *Options, slug string) bool { return categoryOf(opts, slug) != nil })
	s.mux.HandleFunc("GET /c/{slug}/{$}", categoryPage)
	s.mux.HandleFunc("GET /c/{slug}/index.html", categoryPage)
	s.mux.HandleFunc("GET /c/{slug}/{page}", s.movedTo(func(r *http.Request, opts *Options) (string, bool) {
		slug := r.PathValue("slug")
		query, ok := pageFile(r.PathValue("page"), ".html")
		return "c/" + url.PathEscape(slug) + "?" + query, ok && categoryOf(opts, slug) != nil
	}))
	sourcePage := s.formerSlugFirst(s.pageMovedTo("s/", func(opts *Options, slug string) bool { return sourceOf(opts, slug) != nil }),
		func(_ *http.Request, current string) (string, bool) { return "s/" + url.PathEscape(current), true })
	s.mux.HandleFunc("GET /s/{slug}/{$}", sourcePage)
	s.mux.HandleFunc("GET /s/{slug}/index.html", sourcePage)
	s.mux.HandleFunc("GET /feeds/{slug}/{page}", s.movedTo(func(r *http.Request, opts *Options) (string, bool) {
		slug := r.PathValue("slug")
		return feedPageFile(r.PathValue("page"), "feeds/"+url.PathEscape(slug), slug == "all" || categoryOf(opts, slug) != nil)
	}))
	s.mux.HandleFunc("GET /sources/{slug}/{page}", s.formerSlugFirst(s.movedTo(func(r *http.Request, opts *Options) (string, bool) {
		slug := r.PathValue("slug")
		return feedPageFile(r.PathValue("page"), "sources/"+url.PathEscape(slug), sourceOf(opts, slug) != nil)
	}), func(r *http.Request, current string) (string, bool) {
		return feedPageFile(r.PathValue("page"), "sources/"+url.PathEscape(current), true)
	}))
}

// formerSlugFirst is h for a configured source slug; for any other, the
// static-export form of a renamed source's former slug redirects straight
// to its current address, to(current), when to says the rest of the path
// names a page (see renamedSource).
func (s *Server) formerSlugFirst(h http.HandlerFunc, to func(r *http.Request, current string) (string, bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		opts := s.opts.Load()
		slug := r.PathValue("slug")
		if sourceOf(opts, slug) != nil {
			h(w, r)
			return
		}
		if _, ok := to(r, slug); !ok {
			http.NotFound(w, r)
			return
		}
		s.renamedSource(w, r, opts, slug, func(current string) string { rel, _ := to(r, current); return rel })
	}
}

// pageMovedTo redirects a page's folder forms to the page prefix+{slug},
// if exists says the slug is configured.
func (s *Server) pageMovedTo(prefix string, exists func(*Options, string) bool) http.HandlerFunc {
	return s.movedTo(func(r *http.Request, opts *Options) (string, bool) {
		slug := r.PathValue("slug")
		return prefix + url.PathEscape(slug), exists(opts, slug)
	})
}

// movedTo answers with a 301 to the address target names under base_url
// (an escaped path below it, with a query when it has one), the request's
// query added; or with 404 when target says the request names nothing
// here.
func (s *Server) movedTo(target func(*http.Request, *Options) (string, bool)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		opts := s.opts.Load()
		rel, ok := target(r, opts)
		if !ok {
			http.NotFound(w, r)
			return
		}
		path, query, _ := strings.Cut(rel, "?")
		if extra := r.URL.RawQuery; extra != "" {
			if query != "" {
				// The file's name is the cursor: one in the query too
				// would make the page's address ask for two.
				q := r.URL.Query()
				q.Del("before")
				q.Del("after")
				extra = q.Encode()
			}
			query = strings.Trim(query+"&"+extra, "&")
		}
		loc := basePath(opts.BaseURL) + path
		if query != "" {
			loc += "?" + query
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusMovedPermanently)
	}
}

// basePath is the path of base_url, the site's root behind a proxy that
// serves it under a prefix: "/" or "/prefix/". It starts with exactly one
// slash, so that a Location made from it can never be read as another
// host ("//evil.example/").
func basePath(base string) string {
	p := "/"
	if u, err := url.Parse(base); err == nil {
		p = "/" + strings.TrimLeft(u.EscapedPath(), "/")
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// pageFile reads the file name a static export gives the page of a
// cursor ("before-1764118800.42" and ext, as publish.FileLinks writes it)
// as the query of that page ("before=1764118800.42"); ok is false for any
// other name, or a cursor not in its one spelling.
func pageFile(name, ext string) (query string, ok bool) {
	pos, found := strings.CutPrefix(name, "before-")
	if !found {
		return "", false
	}
	pos, found = strings.CutSuffix(pos, ext)
	if !found {
		return "", false
	}
	c, err := publish.ParseCursor(pos, "")
	if err != nil || c.Before == nil {
		return "", false
	}
	return c.String(), true
}

// feedPageFile is the address of the feed at path ("feeds/markets") whose
// archive page in some format the static file name names
// ("before-….atom"), if the feed exists.
func feedPageFile(name, path string, exists bool) (string, bool) {
	if !exists {
		return "", false
	}
	for _, f := range feedFormats {
		if query, ok := pageFile(name, f.ext); ok {
			return path + f.ext + "?" + query, true
		}
	}
	return "", false
}

// The addresses the pages link to that are not a feed's (publish's
// Feed.URL and HTMLURL are): in a static export (publish.FileLinks) the
// names export.Static writes them at, so that every link of an exported
// page names a file, on any static host, redirects or not.

// sourcePageURL is the address of source slug's page: /s/{slug}, or the
// folder s/{slug}/ whose index.html the static export writes.
func sourcePageURL(opts *Options, slug string) string {
	u := opts.BaseURL + "s/" + slug
	if opts.Links == publish.FileLinks {
		u += "/"
	}
	return u
}

// opmlURL is the address of the OPML: /opml, or the file opml.xml of the
// static export (a static server types a file by its extension: .xml is
// XML in every server's table, a name without one is
// application/octet-stream).
func opmlURL(opts *Options) string {
	if opts.Links == publish.FileLinks {
		return opts.BaseURL + "opml.xml"
	}
	return opts.BaseURL + "opml"
}

// categoryPageURL is the address of category slug's page, as its feed
// names it (c/{slug}, or the folder c/{slug}/ in a static export).
func (s *Server) categoryPageURL(opts *Options, slug string) string {
	if f := s.publisher(opts).Category(slug); f != nil {
		return f.HTMLURL
	}
	return ""
}

// categoryOf is the configured category slug, or nil.
func categoryOf(opts *Options, slug string) *publish.Category {
	for i := range opts.Categories {
		if opts.Categories[i].Slug == slug {
			return &opts.Categories[i]
		}
	}
	return nil
}
