package server

import (
	"context"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/export"
	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/storage"
)

// staticSite is one database served by serve (query links) and exported
// as a static site (file links), with archive pages in every feed and in
// the category page: page size 2, three items per source.
func staticSite(t *testing.T) (serve *Server, exported string) {
	t.Helper()
	srv, save := outputServer(t, nil, publish.Category{Slug: "markets", Title: "市场", Sources: []string{"a", "b"}},
		storage.SourceInfo{Slug: "a", Name: "A 源", URL: "https://a.example/feed.xml"},
		storage.SourceInfo{Slug: "b", Name: "B 源", URL: "https://b.example/feed.xml"})
	for _, src := range []string{"a", "b"} {
		f := &feeds.Feed{ID: "tag:" + src + ".example,2026:feed", Title: src, SiteURL: "https://" + src + ".example/"}
		for i := range 3 {
			n := string(rune('1' + i))
			f.Items = append(f.Items, feeds.Item{GUID: "tag:" + src + ".example,2026:" + n, Title: src + " 第" + n + "条",
				Link: "https://" + src + ".example/" + n, Content: "<p>正文</p>",
				Published: time.Date(2026, 11, 26, i, 0, 0, 0, time.UTC)})
		}
		save(src, f)
	}
	opts := *srv.opts.Load()
	opts.PageSize = 2
	srv.SetOptions(&opts)
	fileOpts := opts
	fileOpts.Links = publish.FileLinks
	fileOpts.Epoch = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	dir := t.TempDir()
	st := &export.Static{Handler: New(srv.store, nil, nil, &fileOpts), Store: srv.store, Options: &fileOpts.Options}
	if _, err := st.Export(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	return srv, dir
}

// exportedFiles are the files of a static export, by slash path.
func exportedFiles(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		names = append(names, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// siteLinks are the addresses on the site (under base) that body links
// to: in HTML and XML attributes (href, htmlUrl, xmlUrl), Atom and RSS
// <link>/<id>-free elements, and JSON Feed's URLs.
func siteLinks(body []byte, base string) []string {
	quoted := regexp.QuoteMeta(base)
	var out []string
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?:href|htmlUrl|xmlUrl)="(` + quoted + `[^"]*)"`),
		regexp.MustCompile(`<link>(` + quoted + `[^<]*)</link>`),
		regexp.MustCompile(`"(?:home_page_url|feed_url|next_url)": *"(` + quoted + `[^"]*)"`),
	} {
		for _, m := range re.FindAllSubmatch(body, -1) {
			u := strings.ReplaceAll(string(m[1]), "&amp;", "&")
			if !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	return out
}

// A static export is served by a plain static web server (Go's
// http.FileServer, which maps /c/x/ to c/x/index.html and types files by
// extension, as nginx and python's http.server do): every link of every
// exported page, feed and OPML names a file it answers 200 for, without a
// redirect; the OPML is opml.xml, served as XML.
func TestStaticExport_EveryLinkIsAFile(t *testing.T) {
	_, dir := staticSite(t)
	const base = "https://relay.example.org/"
	host := http.FileServer(http.Dir(dir))
	files := exportedFiles(t, dir)
	for _, want := range []string{"opml.xml", "c/markets/index.html", "s/a/index.html"} {
		if !slices.Contains(files, want) {
			t.Errorf("the export has no %s: %q", want, files)
		}
	}
	if slices.Contains(files, "opml") {
		t.Error("the export still writes the OPML as opml, a file a static host serves as application/octet-stream")
	}
	rec := get(t, host, "/opml.xml")
	if ct := rec.Header().Get("Content-Type"); rec.Code != http.StatusOK || !strings.HasPrefix(ct, "text/xml") {
		t.Errorf("a static server answers the exported OPML %d, %q; want 200, text/xml", rec.Code, ct)
	}
	seen := map[string]bool{}
	for _, name := range files {
		body, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, link := range siteLinks(body, base) {
			seen[link] = true
			u, err := url.Parse(link)
			if err != nil {
				t.Errorf("%s links to %q: %v", name, link, err)
				continue
			}
			if u.RawQuery != "" {
				t.Errorf("%s links to %s: a static host ignores the query", name, link)
			}
			if rec := get(t, host, u.Path); rec.Code != http.StatusOK {
				t.Errorf("%s links to %s, which a static server answers %d (Location %q)", name, link, rec.Code, rec.Header().Get("Location"))
			}
		}
	}
	// What the user sees: the pages link to the folders and the OPML file.
	for _, want := range []string{base + "c/markets/", base + "s/a/", base + "opml.xml", base + "c/markets/before-"} {
		found := false
		for l := range seen {
			found = found || l == want || strings.HasSuffix(want, "-") && strings.HasPrefix(l, want)
		}
		if !found {
			t.Errorf("no exported file links to %s", want)
		}
	}
}

// Moving from static hosting to serve: every path of the static export,
// asked of serve, answers 200, or 301 to serve's own address of the same
// page, which answers 200 with the same entries.
func TestStaticExport_ServeAnswersEveryExportedPath(t *testing.T) {
	srv, dir := staticSite(t)
	host := http.FileServer(http.Dir(dir))
	for _, name := range exportedFiles(t, dir) {
		paths := []string{"/" + name}
		if folder, ok := strings.CutSuffix(name, "index.html"); ok {
			paths = append(paths, "/"+folder) // how the pages link to it
		}
		for _, path := range paths {
			rec := get(t, srv, path)
			target := path
			if rec.Code == http.StatusMovedPermanently {
				target = rec.Header().Get("Location")
				if !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") {
					t.Errorf("%s: redirected off the site, to %q", path, target)
					continue
				}
				rec = get(t, srv, target)
			}
			if rec.Code != http.StatusOK {
				t.Errorf("serve answers the exported %s (via %s) %d", path, target, rec.Code)
				continue
			}
			if !strings.HasSuffix(name, ".atom") {
				continue
			}
			// The same page: the same entries as the file.
			static := get(t, host, path)
			if a, b := entryIDs(t, static.Body.Bytes()), entryIDs(t, rec.Body.Bytes()); !slices.Equal(a, b) || len(a) == 0 {
				t.Errorf("%s on serve (%s) has the entries %q, the exported file %q", path, target, b, a)
			}
		}
	}
}

func entryIDs(t *testing.T, body []byte) []string {
	t.Helper()
	var ids []string
	for _, it := range parseFeed(t, "page", body).Items {
		ids = append(ids, it.GUID)
	}
	return ids
}

// The addresses of a static export, asked of serve, redirect permanently
// to serve's own, the query (a cursor, a tracker's parameters) kept;
// what names nothing here (an unknown slug, a bad cursor) is 404, and no
// path, however crafted, redirects to another site.
func TestStaticPaths_RedirectPermanently(t *testing.T) {
	srv, _ := newTestServer(t)
	const cursor = "1764118800.42"
	for path, want := range map[string]string{
		"/c/markets/":                                              "/c/markets",
		"/c/markets/?before=" + cursor:                             "/c/markets?before=" + cursor,
		"/c/markets/index.html":                                    "/c/markets",
		"/c/markets/before-" + cursor + ".html":                    "/c/markets?before=" + cursor,
		"/s/stcn/":                                                 "/s/stcn",
		"/s/stcn/?utm_source=x":                                    "/s/stcn?utm_source=x",
		"/s/stcn/index.html":                                       "/s/stcn",
		"/feeds/markets/before-" + cursor + ".atom":                "/feeds/markets.atom?before=" + cursor,
		"/feeds/all/before-" + cursor + ".json":                    "/feeds/all.json?before=" + cursor,
		"/sources/stcn/before-" + cursor + ".rss":                  "/sources/stcn.rss?before=" + cursor,
		"/sources/stcn/before-" + cursor + ".atom?utm_medium=feed": "/sources/stcn.atom?before=" + cursor + "&utm_medium=feed",
		// The file's cursor is the page's: another in the query is dropped.
		"/feeds/markets/before-" + cursor + ".atom?before=1764118800.43&after=1": "/feeds/markets.atom?before=" + cursor,
		"/index.html":                   "/",
		"/opml.xml":                     "/opml",
		"/opml/":                        "/opml",
		"/search/?q=%E4%B8%A4%E5%B8%82": "/search?q=%E4%B8%A4%E5%B8%82",
	} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			req := httptest.NewRequest(method, path, nil)
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != want {
				t.Errorf("%s %s: %d, Location %q; want 301 to %s", method, path, rec.Code, rec.Header().Get("Location"), want)
			}
		}
		if rec := get(t, srv, want); rec.Code != http.StatusOK {
			t.Errorf("%s redirects to %s, which answers %d", path, want, rec.Code)
		}
	}
	for _, path := range []string{
		"/c/nope/", "/c/nope/index.html", "/s/nope/", "/feeds/nope/before-" + cursor + ".atom",
		"/sources/nope/before-" + cursor + ".atom", "/sources/markets/before-" + cursor + ".atom", // a category is no source
		"/c/markets/before-0001764118800.42.html", "/c/markets/before-x.html", "/c/markets/after-" + cursor + ".html",
		"/feeds/markets/before-" + cursor + ".xml", "/feeds/markets/before-" + cursor, "/c/markets/other.html",
		"/c/%2F%2Fevil.example/", "/s/%2F%2Fevil.example/", "/c/%5C%5Cevil.example/",
	} {
		if rec := get(t, srv, path); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d (Location %q), want 404", path, rec.Code, rec.Header().Get("Location"))
		}
	}
	// Paths a client crafts to be sent elsewhere stay on this site:
	// whatever answers them, a Location is a path of ours.
	for _, path := range []string{"//evil.example/", "//evil.example/c/markets/", "/c//evil.example/", "/%2F%2Fevil.example/",
		"/c/markets/..%2F..%2F%2Fevil.example/", "///evil.example/opml.xml", "/\\evil.example/"} {
		rec := get(t, srv, path)
		loc := rec.Header().Get("Location")
		if loc == "" {
			continue
		}
		if u, err := (&url.URL{Scheme: "http", Host: "relay.example.org", Path: path}).Parse(loc); err != nil || u.Host != "relay.example.org" {
			t.Errorf("%s: %d to %q, off the site", path, rec.Code, loc)
		}
	}
}

// Behind a proxy that serves the site under base_url's path, the
// redirects lead there.
func TestStaticPaths_RedirectUnderBasePath(t *testing.T) {
	srv, _ := newTestServer(t)
	opts := *srv.opts.Load()
	opts.BaseURL = "https://relay.example.org/news/"
	srv.SetOptions(&opts)
	for path, want := range map[string]string{
		"/c/markets/": "/news/c/markets",
		"/opml.xml":   "/news/opml",
		"/index.html": "/news/",
	} {
		if rec := get(t, srv, path); rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != want {
			t.Errorf("%s: %d to %q, want 301 to %s", path, rec.Code, rec.Header().Get("Location"), want)
		}
	}
	odd := opts
	odd.BaseURL = "https://relay.example.org//evil.example/" // a Location must never start with "//"
	srv.SetOptions(&odd)
	if loc := get(t, srv, "/opml.xml").Header().Get("Location"); loc != "/evil.example/opml" {
		t.Errorf("base_url with a path of two slashes: Location %q", loc)
	}
}
