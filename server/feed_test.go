package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/opml"
	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/storage"
)

// addItems stores n more items in source src, one minute apart from start.
func addItems(t *testing.T, db *storage.DB, src string, from, n int, start time.Time) {
	t.Helper()
	f := &feeds.Feed{Title: src}
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("%s-%05d", src, i)
		f.Items = append(f.Items, feeds.Item{Identity: id, GUID: id, Title: id, Hash: id,
			Link:      "https://example.org/" + id,
			Published: start.Add(time.Duration(i) * time.Minute)})
		f.Items[len(f.Items)-1].EntryID = (&feeds.Source{Slug: src}).EntryID(&f.Items[len(f.Items)-1], start)
	}
	if _, err := db.Save(context.Background(), &feeds.Result{Source: src, Attempted: time.Now(), StatusCode: 200, Feed: f}); err != nil {
		t.Fatal(err)
	}
}

type atomPage struct {
	Links []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"link"`
	Entries []struct {
		ID string `xml:"id"`
	} `xml:"entry"`
}

func (p *atomPage) link(rel string) string {
	for _, l := range p.Links {
		if l.Rel == rel {
			return l.Href
		}
	}
	return ""
}

func getAtomPage(t *testing.T, h http.Handler, abs string) atomPage {
	t.Helper()
	u, err := url.Parse(abs)
	if err != nil {
		t.Fatal(err)
	}
	rec := get(t, h, u.RequestURI())
	if rec.Code != http.StatusOK {
		t.Fatalf("%s: status %d: %s", abs, rec.Code, rec.Body)
	}
	var p atomPage
	if err := xml.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// A source with thousands of items is reachable to the last one through
// rel="next", and pages do not shift when new items arrive meanwhile.
func TestFeed_PagingReachesTheWholeArchive(t *testing.T) {
	srv, db := newTestServer(t)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	addItems(t, db, "cnstock", 0, 2000, start)
	want := 2001 // and the one newTestServer stored

	seen := map[string]bool{}
	next := "https://relay.example.org/sources/cnstock.atom"
	var second, newest string
	pages := 0
	for next != "" {
		p := getAtomPage(t, srv, next)
		pages++
		if pages == 1 {
			newest = p.Entries[0].ID
		}
		if pages == 2 {
			second = next
			// New items arriving now must not shift the older pages.
			addItems(t, db, "cnstock", 5000, 3, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
		}
		if len(p.Entries) > 50 {
			t.Fatalf("page %d holds %d entries, want at most page_size 50", pages, len(p.Entries))
		}
		if p.link("first") != "https://relay.example.org/sources/cnstock.atom" {
			t.Errorf("page %d: first link %q", pages, p.link("first"))
		}
		if (pages > 1) != (p.link("previous") != "") {
			t.Errorf("page %d: previous link %q", pages, p.link("previous"))
		}
		for _, e := range p.Entries {
			if seen[e.ID] {
				t.Fatalf("entry %s on two pages", e.ID)
			}
			seen[e.ID] = true
		}
		next = p.link("next")
		if pages > 100 {
			t.Fatal("more than 100 pages for 2001 entries")
		}
	}
	if len(seen) != want || pages != 41 {
		t.Errorf("walked %d pages and %d entries, want 41 and %d", pages, len(seen), want)
	}

	// Previous from the second page is the first page as it was: 50 entries,
	// the newest of which is the newest of the 2001.
	p2 := getAtomPage(t, srv, second)
	prev := getAtomPage(t, srv, p2.link("previous"))
	if len(prev.Entries) != 50 || prev.Entries[0].ID != newest {
		t.Errorf("previous page: %d entries starting at %v", len(prev.Entries), prev.Entries[:1])
	}
	// ... and it now has a previous page itself: the three new entries.
	if prev.link("previous") == "" {
		t.Error("the page before page 2 has no previous link although 3 newer entries arrived")
	}
}

func TestFeed_BadCursor(t *testing.T) {
	srv, _ := newTestServer(t)
	for _, q := range []string{"before=x", "after=1.y", "before=1.2&after=1.2", "before=0.0", "before=1.-7", "after=1764118800.0"} {
		if rec := get(t, srv, "/feeds/markets.atom?"+q); rec.Code != http.StatusBadRequest {
			t.Errorf("?%s: status %d, want 400", q, rec.Code)
		}
	}
}

// JSON Feed paging is next_url.
func TestFeed_JSONNextURL(t *testing.T) {
	srv, db := newTestServer(t)
	addItems(t, db, "stcn", 0, 60, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	rec := get(t, srv, "/sources/stcn.json")
	var f struct {
		FeedURL string `json:"feed_url"`
		NextURL string `json:"next_url"`
		Items   []struct{ ID string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Items) != 50 || f.NextURL == "" || f.FeedURL != "https://relay.example.org/sources/stcn.json" {
		t.Fatalf("first page: %d items, next_url %q, feed_url %q", len(f.Items), f.NextURL, f.FeedURL)
	}
	u, _ := url.Parse(f.NextURL)
	rec = get(t, srv, u.RequestURI())
	f.NextURL, f.Items = "", nil
	json.Unmarshal(rec.Body.Bytes(), &f)
	if len(f.Items) != 11 || f.NextURL != "" {
		t.Errorf("second page: %d items, next_url %q; want 11 and none", len(f.Items), f.NextURL)
	}
}

// Feeds go compressed to clients that accept gzip, with their own strong
// ETag, Vary and Cache-Control; both validators give 304; HEAD has no body.
func TestFeed_HTTP(t *testing.T) {
	srv, _ := newTestServer(t)
	srv.SetOptions(func() *Options { o := *srv.opts.Load(); o.MaxAge = 5 * time.Minute; return &o }())
	plain := get(t, srv, "/feeds/markets.rss")
	zipped := get(t, srv, "/feeds/markets.rss", "Accept-Encoding", "gzip, deflate, br")
	// Whole bodies go in one piece with their length, gzipped ones too
	// (not chunked), and ranges are still served.
	for _, rec := range []*httptest.ResponseRecorder{plain, zipped} {
		if rec.Header().Get("Content-Length") != strconv.Itoa(rec.Body.Len()) || rec.Header().Get("Last-Modified") == "" {
			t.Errorf("Content-Length %q for %d bytes, Last-Modified %q", rec.Header().Get("Content-Length"), rec.Body.Len(), rec.Header().Get("Last-Modified"))
		}
	}
	if rec := get(t, srv, "/feeds/markets.rss", "Range", "bytes=0-9"); rec.Code != http.StatusPartialContent || rec.Body.Len() != 10 {
		t.Errorf("Range: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	if zipped.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("Accept-Encoding gzip: Content-Encoding %q", zipped.Header().Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	if !bytes.Equal(unzipped, plain.Body.Bytes()) {
		t.Error("the gzipped body is not the plain one")
	}
	if zipped.Body.Len() >= plain.Body.Len() {
		t.Errorf("gzip body %d bytes, plain %d", zipped.Body.Len(), plain.Body.Len())
	}
	if plain.Header().Get("ETag") == zipped.Header().Get("ETag") {
		t.Error("the gzip and identity representations share an ETag")
	}
	for _, rec := range []*httptest.ResponseRecorder{plain, zipped} {
		if rec.Header().Get("Vary") != "Accept-Encoding" || rec.Header().Get("Cache-Control") != "public, max-age=300" {
			t.Errorf("Vary %q Cache-Control %q", rec.Header().Get("Vary"), rec.Header().Get("Cache-Control"))
		}
	}
	if got := get(t, srv, "/feeds/markets.rss", "Accept-Encoding", "gzip;q=0").Header().Get("Content-Encoding"); got != "" {
		t.Errorf("gzip;q=0 got Content-Encoding %q", got)
	}
	if rec := get(t, srv, "/feeds/markets.rss", "Accept-Encoding", "gzip", "If-None-Match", zipped.Header().Get("ETag")); rec.Code != http.StatusNotModified {
		t.Errorf("If-None-Match with the gzip ETag: %d", rec.Code)
	}
	if rec := get(t, srv, "/feeds/markets.json", "If-Modified-Since", plain.Header().Get("Last-Modified")); rec.Code != http.StatusNotModified {
		t.Errorf("If-Modified-Since: %d", rec.Code)
	}
	req := httptest.NewRequest(http.MethodHead, "/feeds/markets.json", nil)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD: %d, %d body bytes, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
}

// Rendered once per change: a new item shows at once, an unchanged feed is
// served from memory.
func TestFeed_RenderedOncePerChange(t *testing.T) {
	plain, db := newTestServer(t)
	store := &countingStore{DB: db}
	srv := New(store, nil, nil, plain.opts.Load())
	a := get(t, srv, "/feeds/markets.atom").Body.String()
	queries := store.queries.Load()
	b := get(t, srv, "/feeds/markets.atom", "Accept-Encoding", "gzip")
	b2 := get(t, srv, "/feeds/markets.atom").Body.String()
	if a != b2 {
		t.Fatal("two renderings of an unchanged feed differ")
	}
	if queries == 0 || store.queries.Load() != queries || b.Code != http.StatusOK {
		t.Errorf("the database was asked %d times for the first request and %d more for two repeats, want 0 more",
			queries, store.queries.Load()-queries)
	}
	addItems(t, db, "stcn", 0, 1, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
	c := get(t, srv, "/feeds/markets.atom").Body.String()
	if !bytes.Contains([]byte(c), []byte("stcn-00000")) {
		t.Error("a new item is not in the feed served right after it was stored")
	}
}

// A full page of a category takes two queries, whatever its size: its
// entries, and the copies of their stories (not one query per entry).
func TestFeed_PageQueries(t *testing.T) {
	plain, db := newTestServer(t)
	addItems(t, db, "stcn", 0, 120, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	store := &countingStore{DB: db}
	srv := New(store, nil, nil, plain.opts.Load())
	var f atomPage
	if err := xml.Unmarshal(get(t, srv, "/feeds/markets.atom").Body.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Entries) != 50 || store.queries.Load() != 2 {
		t.Errorf("a first page of %d entries took %d queries, want 50 entries in 2", len(f.Entries), store.queries.Load())
	}
}

// countingStore counts the queries for entries the server makes.
type countingStore struct {
	*storage.DB
	queries atomic.Int32
}

func (s *countingStore) Entries(ctx context.Context, q storage.EntryQuery) ([]storage.Entry, error) {
	s.queries.Add(1)
	return s.DB.Entries(ctx, q)
}

func (s *countingStore) CopiesOf(ctx context.Context, sources []string, entries []storage.Entry, titleWindow time.Duration) (map[int64][]storage.Entry, error) {
	s.queries.Add(1)
	return s.DB.CopiesOf(ctx, sources, entries, titleWindow)
}

func (s *countingStore) Search(ctx context.Context, q storage.SearchQuery) ([]storage.Entry, error) {
	s.queries.Add(1)
	return s.DB.Search(ctx, q)
}

// /c/{slug} is a category's newest entries for people: title linking to
// the original, source, time in the configured zone, and subscribe links.
func TestCategoryPage(t *testing.T) {
	srv, db := newTestServer(t)
	o := *srv.opts.Load()
	o.Location, o.PageSize = time.FixedZone("CST", 8*3600), 2
	srv.SetOptions(&o)
	rec := get(t, srv, "/c/markets")
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	for _, want := range []string{
		`<title>市场综合</title>`,
		`<link rel="alternate" type="application/atom+xml" title="市场综合" href="https://relay.example.org/feeds/markets.atom">`,
		`<a class="title" href="https://www.stcn.com/article/detail/1000001.html">A股三大指数集体高开</a>`,
		`证券时报网 · 证券时报记者 王一 · <time datetime="2026-11-26T01:30:00Z">11-26 09:30</time>`,
		`<a href="https://relay.example.org/feeds/markets.rss" type="application/rss+xml">rss</a>`,
	} {
		if !bytes.Contains([]byte(body), []byte(want)) {
			t.Errorf("category page lacks %s", want)
		}
	}
	if bytes.Contains([]byte(body), []byte("Older entries")) {
		t.Error("an older-entries link with only 2 entries and page size 2")
	}
	addItems(t, db, "stcn", 0, 3, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if body := get(t, srv, "/c/markets").Body.String(); !bytes.Contains([]byte(body), []byte(`rel="next">Older entries`)) {
		t.Error("no older-entries link with 5 entries and page size 2")
	}
	if rec := get(t, srv, "/c/nope"); rec.Code != http.StatusNotFound {
		t.Errorf("unknown category page: %d", rec.Code)
	}
}

// /opml lists every published feed with absolute URLs, and reads back.
func TestOPML(t *testing.T) {
	srv, _ := newTestServer(t)
	rec := get(t, srv, "/opml")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/x-opml; charset=utf-8" {
		t.Fatalf("/opml: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	fs, err := opml.Parse(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, site := map[string]string{}, map[string]string{}
	for _, f := range fs {
		got[f.XMLURL], site[f.XMLURL] = f.Title, f.HTMLURL
	}
	// htmlUrl is where a reader's "visit website" goes: a category's page,
	// a source's own site (what its feed names as its link).
	for url, want := range map[string]string{
		"https://relay.example.org/feeds/all.atom":       "https://relay.example.org/",
		"https://relay.example.org/feeds/markets.atom":   "https://relay.example.org/c/markets",
		"https://relay.example.org/sources/stcn.atom":    "https://www.stcn.com/",
		"https://relay.example.org/sources/cnstock.atom": "https://news.cnstock.com/",
	} {
		if site[url] != want {
			t.Errorf("%s: htmlUrl %q, want %q", url, site[url], want)
		}
	}
	for url, title := range map[string]string{
		"https://relay.example.org/feeds/all.atom":                 "feedrelay · 全部",
		"https://relay.example.org/feeds/markets.atom":             "市场综合",
		"https://relay.example.org/feeds/zhengquanshibaowang.atom": "证券时报网",
		"https://relay.example.org/sources/stcn.atom":              "证券时报网",
		"https://relay.example.org/sources/cnstock.atom":           "中国证券网",
	} {
		if got[url] != title {
			t.Errorf("%s: title %q, want %q", url, got[url], title)
		}
	}
	if len(fs) != 5 {
		t.Errorf("%d feeds in the OPML, want 5", len(fs))
	}
	// Cached like the pages: a reader that has it is told it is unchanged.
	if etag := rec.Header().Get("ETag"); etag == "" {
		t.Error("/opml has no ETag")
	} else if again := get(t, srv, "/opml", "If-None-Match", etag); again.Code != http.StatusNotModified {
		t.Errorf("/opml with its ETag: %d, want 304", again.Code)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                     false,
		"gzip":                 true,
		"gzip, deflate, br":    true,
		"br;q=1.0, gzip;q=0.8": true,
		"gzip;q=0":             false,
		"gzip;Q=0":             false,
		"gzip;level=1;q=0":     false,
		"*":                    true,
		"*, gzip;q=0":          false,
		"*;q=0, gzip":          true,
		"*;q=0":                false,
		"identity":             false,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

// A source whose site is unknown (not polled yet) or not a web address
// (a data: link its feed gave) has its page here as its OPML htmlUrl;
// in a static export, the folder of that page.
func TestOPML_SourceWithoutSite(t *testing.T) {
	srv, save := outputServer(t, nil, publish.Category{Slug: "mix", Title: "混合", Sources: []string{"evil", "fresh"}},
		storage.SourceInfo{Slug: "evil", Name: "恶意源", URL: "https://evil.example/feed.xml"},
		storage.SourceInfo{Slug: "fresh", Name: "新源", URL: "https://fresh.example/feed.xml"})
	save("evil", &feeds.Feed{ID: "tag:evil.example,2026:feed", Title: "恶意源", SiteURL: "data:text/html;base64,PHNjcmlwdD4=",
		Items: []feeds.Item{{GUID: "tag:evil.example,2026:1", Title: "一", Link: "https://evil.example/1",
			Published: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}}})
	fileOpts := *srv.opts.Load()
	fileOpts.Links = publish.FileLinks
	static := New(srv.store, nil, nil, &fileOpts)
	for _, c := range []struct {
		h    http.Handler
		want map[string]string
	}{
		{srv, map[string]string{"evil": "https://relay.example.org/s/evil", "fresh": "https://relay.example.org/s/fresh"}},
		{static, map[string]string{"evil": "https://relay.example.org/s/evil/", "fresh": "https://relay.example.org/s/fresh/"}},
	} {
		rec := get(t, c.h, "/opml")
		fs, err := opml.Parse(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			slug, ok := strings.CutPrefix(f.XMLURL, "https://relay.example.org/sources/")
			if !ok {
				continue
			}
			slug = strings.TrimSuffix(slug, ".atom")
			if f.HTMLURL != c.want[slug] {
				t.Errorf("%s: htmlUrl %q, want %q", f.XMLURL, f.HTMLURL, c.want[slug])
			}
			delete(c.want, slug)
		}
		if len(c.want) > 0 {
			t.Errorf("the OPML lacks the sources %v", c.want)
		}
	}
}

// The OPML's dateCreated is in the config's zone, not the machine's: a
// static export from a cron job in UTC and one from a shell in +0800
// write the same bytes.
func TestOPML_DateInTheConfigsZone(t *testing.T) {
	srv, _ := newTestServer(t)
	opts := *srv.opts.Load()
	opts.Epoch = time.Date(2026, 12, 1, 22, 52, 8, 0, time.UTC)
	opts.Location = shanghai
	srv.SetOptions(&opts)
	if body := get(t, srv, "/opml").Body.String(); !strings.Contains(body, "<dateCreated>Wed, 02 Dec 2026 06:52:08 +0800</dateCreated>") {
		t.Errorf("/opml's dateCreated is not in the config's zone (Asia/Shanghai):\n%s", body)
	}
}
