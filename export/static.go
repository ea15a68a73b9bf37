package export

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/feedrelay/feedrelay/publish"
)

// Static writes feedrelay's whole HTTP face but its dynamic parts (search,
// health, metrics) as files, at the server's own paths, so that any static
// host serves it: the index (index.html), the OPML (opml.xml: a static
// server types a file by its extension, and one without any would be
// application/octet-stream), every feed in every format and every page of
// it, each category's HTML pages (c/{slug}/index.html, which the pages
// link to as c/{slug}/: every static server maps a folder's address to its
// index.html, and /c/{slug} finds it too on hosts that add the slash, as
// nginx, GitHub Pages and S3 do) and each source's page
// (s/{slug}/index.html, linked as s/{slug}/). The server's handler links
// to these names when its options have publish.FileLinks; serve answers
// each of them with a redirect to its own address, so a site can move from
// static hosting to serve without breaking a link.
//
// The bytes are the daemon's: each file is the body of a request to
// Handler, in-process. The Handler must publish Options, whose Links are
// publish.FileLinks: a static host ignores query strings, so a page's
// rel="next" must name the file of the next page
// (feeds/markets/before-1764118800.42.atom for ?before=1764118800.42).
//
// Files are written only when their bytes change. Archive pages are named
// by the position they start at, which moves when new entries arrive (as
// the daemon's do), so the files of a feed's earlier chain that no page
// names any more are removed; Static remembers what it wrote in
// .feedrelay-static and never removes anything else.
type Static struct {
	Handler http.Handler
	Store   publish.Store
	Options *publish.Options
}

// manifest lists, one a line, the files the last static export wrote.
const manifest = ".feedrelay-static"

// Export writes the site into dir.
func (s *Static) Export(ctx context.Context, dir string) (*Result, error) {
	if s.Options.Links != publish.FileLinks {
		return nil, errors.New("static export: the options must have publish.FileLinks")
	}
	files := publish.New(s.Store, s.Options)
	queryOpts := *s.Options
	queryOpts.Links = publish.QueryLinks
	paths := publish.New(s.Store, &queryOpts)
	base := s.Options.BaseURL

	res := &Result{}
	var made []string
	put := func(name, path string) (bool, error) {
		body, err := s.get(ctx, path)
		if err != nil {
			return false, err
		}
		wrote, err := writeFile(dir, name, body)
		if err != nil {
			return false, err
		}
		res.record(name, wrote)
		made = append(made, name)
		return wrote, nil
	}
	if _, err := put("index.html", "/"); err != nil {
		return res, err
	}
	if _, err := put("opml.xml", "/opml"); err != nil {
		return res, err
	}
	// Each source's page: /s/{slug}, a folder's index so that the links
	// the pages have to it find it.
	for _, src := range s.Options.Sources {
		if _, err := put("s/"+src.Slug+"/index.html", "/s/"+src.Slug); err != nil {
			return res, err
		}
	}
	fileFeeds, pathFeeds := files.Feeds(), paths.Feeds()
	for i, f := range fileFeeds {
		pf := pathFeeds[i]
		for cur := (publish.Cursor{}); ; {
			q := cur.String()
			for _, ext := range []string{".atom", ".rss", ".json"} {
				wrote, err := put(under(base, f.URL(ext, q)), under(base, pf.URL(ext, q)))
				if err != nil {
					return res, err
				}
				if wrote && q == "" {
					res.Topics = append(res.Topics, f.URL(ext, q))
				}
			}
			if page := f.PageURL(q); page != "" {
				name := under(base, page)
				if name == "" || strings.HasSuffix(name, "/") {
					name += "index.html"
				}
				if _, err := put(name, under(base, pf.PageURL(q))); err != nil {
					return res, err
				}
			}
			// The pages the files link to: the handler renders with the
			// same options, so its next links are these cursors.
			pg, err := files.Page(ctx, f, cur)
			if err != nil {
				return res, fmt.Errorf("static export of %s: %w", f.Path, err)
			}
			if pg.Next == nil {
				break
			}
			cur = *pg.Next
		}
	}
	if err := s.removeStale(dir, made, res); err != nil {
		return res, err
	}
	return res, nil
}

// under is u's path below base ("feeds/all.atom"), with its query, as a
// request path ("/feeds/all.atom?before=…") when u has one, else as a file
// name. Every URL here is built from base.
func under(base, u string) string {
	rest := strings.TrimPrefix(u, base)
	if strings.Contains(rest, "?") {
		return "/" + rest
	}
	return rest
}

// get is the body of a GET of path from the handler, which must answer 200.
func (s *Static) get(ctx context.Context, path string) ([]byte, error) {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, fmt.Errorf("static export of %s: %w", path, err)
	}
	w := &bodyWriter{header: http.Header{}}
	s.Handler.ServeHTTP(w, req)
	if w.code != 0 && w.code != http.StatusOK {
		return nil, fmt.Errorf("static export of %s: the server answered %d: %s", path, w.code, strings.TrimSpace(w.body.String()))
	}
	return w.body.Bytes(), nil
}

// bodyWriter is the http.ResponseWriter of an in-process request.
type bodyWriter struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (w *bodyWriter) Header() http.Header { return w.header }
func (w *bodyWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *bodyWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

// removeStale removes the files the previous export wrote and this one did
// not, then records what this one wrote.
func (s *Static) removeStale(dir string, made []string, res *Result) error {
	path := filepath.Join(dir, manifest)
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("static export: %w", err)
	}
	slices.Sort(made)
	sc := bufio.NewScanner(bytes.NewReader(old))
	for sc.Scan() {
		name := sc.Text()
		if _, found := slices.BinarySearch(made, name); found || !fs.ValidPath(name) || name == manifest {
			continue
		}
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("static export: %w", err)
		}
		res.Removed = append(res.Removed, name)
	}
	if _, err := writeFile(dir, manifest, []byte(strings.Join(made, "\n")+"\n")); err != nil {
		return err
	}
	return nil
}

// pendingPings lists, one a line, the feed URLs a static export changed
// whose WebSub ping has not gone out yet (`export static -ping`): the
// files are written before the hubs are told, and a hub that fails, or an
// export cut short, must not leave them untold once the next export finds
// the files unchanged.
const pendingPings = ".feedrelay-pings"

// PendingPings returns the topics a previous `export static -ping` into
// dir could not tell the hubs of.
func PendingPings(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, pendingPings))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pings still due: %w", err)
	}
	return strings.Fields(string(b)), nil
}

// KeepPendingPings records topics as not told yet (none: removes the
// record).
func KeepPendingPings(dir string, topics []string) error {
	if len(topics) == 0 {
		if err := os.Remove(filepath.Join(dir, pendingPings)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("pings still due: %w", err)
		}
		return nil
	}
	if _, err := writeFile(dir, pendingPings, []byte(strings.Join(topics, "\n")+"\n")); err != nil {
		return fmt.Errorf("pings still due: %w", err)
	}
	return nil
}
