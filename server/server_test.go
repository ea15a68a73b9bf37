package server

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"flag"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/storage"
)

var update = flag.Bool("update", false, "rewrite golden files")

const defaultAttribution = `<p>（文章来源：{{.Source}}）<br>原文链接：<a href="{{.Link}}">{{.Link}}</a></p>`

// newTestServer stores two sources' items in a real SQLite file and serves
// them the way feedrelay serve does.
func newTestServer(t testing.TB) (*Server, *storage.DB) {
	t.Helper()
	ctx := context.Background()
	db := openTestDB(t,
		storage.SourceInfo{Slug: "stcn", Name: "证券时报网", URL: "https://rsshub.example/stcn/yw"},
		storage.SourceInfo{Slug: "cnstock", Name: "中国证券网", URL: "https://news.cnstock.example/feed.atom"})
	db.Now = func() time.Time { return time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC) }
	shanghai := time.FixedZone("CST", 8*3600)
	save := func(src string, f *feeds.Feed) {
		t.Helper()
		for i := range f.Items {
			f.Items[i].Hash = f.Items[i].Title
			f.Items[i].EntryID = (&feeds.Source{Slug: src, TagAuthority: "relay.example.org"}).EntryID(&f.Items[i], db.Now())
		}
		if _, err := db.Save(ctx, &feeds.Result{Source: src, Attempted: db.Now(), StatusCode: 200, Feed: f}); err != nil {
			t.Fatal(err)
		}
	}
	save("stcn", &feeds.Feed{
		ID: "https://www.stcn.com/article/list/yw.html", Title: "证券时报网-要闻", SiteURL: "https://www.stcn.com/",
		Items: []feeds.Item{{
			Identity: "stcn-1000001", GUID: "stcn-1000001", Title: "A股三大指数集体高开",
			Link:      "https://www.stcn.com/article/detail/1000001.html",
			Author:    "证券时报记者 王一",
			Content:   `<p>早盘三大指数集体高开 &amp; 放量。</p>`,
			Published: time.Date(2026, 11, 26, 9, 30, 0, 0, shanghai),
		}},
	})
	save("cnstock", &feeds.Feed{
		ID: "tag:cnstock.com,2026:news", Title: "上海证券报·中国证券网", SiteURL: "https://news.cnstock.com/",
		Updated: time.Date(2026, 11, 26, 10, 0, 0, 0, shanghai),
		Items: []feeds.Item{{
			Identity: "https://news.cnstock.com/news,yw-5500001.htm", GUID: "https://news.cnstock.com/news,yw-5500001.htm",
			Title: "科创板新增上市公司超百家", Link: "https://news.cnstock.com/news,yw-5500001.htm",
			Content: "<p>募资总额创新高。</p>", Summary: "<p>摘要</p>", Categories: []string{"科创板"},
			Published: time.Date(2026, 11, 26, 8, 0, 0, 0, shanghai),
			Updated:   time.Date(2026, 11, 26, 8, 5, 0, 0, shanghai),
		}},
	})
	opts := &Options{Options: publish.Options{
		BaseURL: "https://relay.example.org/", Title: "feedrelay", Language: "zh-CN", PageSize: 50,
		Attribution: template.Must(template.New("a").Parse(defaultAttribution)),
		Categories: []publish.Category{
			{Slug: "zhengquanshibaowang", Title: "证券时报网", Sources: []string{"stcn"}},
			{Slug: "markets", Title: "市场综合", Sources: []string{"stcn", "cnstock"}},
		},
		Sources: []publish.Source{
			{Slug: "stcn", Name: "证券时报网", URL: "https://rsshub.example/stcn/yw"},
			{Slug: "cnstock", Name: "中国证券网", URL: "https://news.cnstock.example/feed.atom"},
		},
	}}
	// As the daemon's indexer does after polls.
	if _, err := db.IndexAll(ctx); err != nil {
		t.Fatal(err)
	}
	return New(db, nil, nil, opts), db
}

// openTestDB opens a real SQLite file that knows sources.
func openTestDB(t testing.TB, sources ...storage.SourceInfo) *storage.DB {
	t.Helper()
	db, err := storage.Open(context.Background(), filepath.Join(t.TempDir(), "feedrelay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.SyncSources(context.Background(), sources); err != nil {
		t.Fatal(err)
	}
	return db
}

func get(t *testing.T, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestCategoryFeed_Golden(t *testing.T) {
	srv, _ := newTestServer(t)
	types := map[string]string{".atom": "application/atom+xml", ".rss": "application/rss+xml", ".json": "application/feed+json"}
	for _, path := range []string{"/feeds/markets.atom", "/sources/stcn.atom", "/feeds/markets.rss", "/feeds/markets.json", "/sources/cnstock.rss", "/sources/cnstock.json"} {
		rec := get(t, srv, path)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", path, rec.Code)
		}
		if ct, want := rec.Header().Get("Content-Type"), types[filepath.Ext(path)]+"; charset=utf-8"; ct != want {
			t.Errorf("%s: Content-Type %q, want %q", path, ct, want)
		}
		golden := filepath.Join("testdata", strings.NewReplacer("/", "_").Replace(strings.TrimPrefix(path, "/"))+".golden")
		if *update {
			if err := os.WriteFile(golden, rec.Body.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rec.Body.Bytes(), want) {
			t.Errorf("%s differs from %s (run go test -update to accept):\n%s", path, golden, rec.Body.String())
		}
	}
}

// wire mirrors the Atom we publish closely enough to check each entry.
type wireEntry struct {
	ID        string `xml:"id"`
	Title     string `xml:"title"`
	Updated   string `xml:"updated"`
	Published string `xml:"published"`
	Links     []struct {
		Href string `xml:"href,attr"`
		Rel  string `xml:"rel,attr"`
	} `xml:"link"`
	Author  string `xml:"author>name"`
	Content struct {
		Type string `xml:"type,attr"`
		Text string `xml:",chardata"`
	} `xml:"content"`
	Categories []struct {
		Term string `xml:"term,attr"`
	} `xml:"category"`
	Source struct {
		ID      string `xml:"id"`
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
		Links   []struct {
			Href string `xml:"href,attr"`
			Rel  string `xml:"rel,attr"`
		} `xml:"link"`
	} `xml:"source"`
}

func TestCategoryFeed_Attribution(t *testing.T) {
	srv, _ := newTestServer(t)
	body := get(t, srv, "/feeds/markets.atom").Body.Bytes()

	var feed struct {
		ID      string      `xml:"id"`
		Entries []wireEntry `xml:"entry"`
		Links   []struct {
			Href string `xml:"href,attr"`
			Rel  string `xml:"rel,attr"`
		} `xml:"link"`
	}
	if err := xml.Unmarshal(body, &feed); err != nil {
		t.Fatal(err)
	}
	if feed.ID != "tag:relay.example.org,2026:feeds/markets" {
		t.Errorf("feed id %q", feed.ID)
	}
	if len(feed.Links) == 0 || feed.Links[0].Rel != "self" || feed.Links[0].Href != "https://relay.example.org/feeds/markets.atom" {
		t.Errorf("feed links %+v, want an absolute rel=self first", feed.Links)
	}
	if len(feed.Entries) != 2 {
		t.Fatalf("%d entries, want 2", len(feed.Entries))
	}
	byTitle := map[string]wireEntry{}
	for _, e := range feed.Entries {
		byTitle[e.Title] = e
	}
	stcn := byTitle["A股三大指数集体高开"]
	if !strings.HasPrefix(stcn.ID, "tag:relay.example.org,2026-11-26:stcn/") {
		t.Errorf("stcn entry id %q: want a tag: URI (its guid is not an IRI)", stcn.ID)
	}
	if stcn.Author != "证券时报记者 王一" {
		t.Errorf("author %q", stcn.Author)
	}
	if !strings.HasSuffix(stcn.Content.Text, `<p>（文章来源：证券时报网）<br>原文链接：<a href="https://www.stcn.com/article/detail/1000001.html">https://www.stcn.com/article/detail/1000001.html</a></p>`) {
		t.Errorf("content does not end with the attribution line: %q", stcn.Content.Text)
	}
	if stcn.Source.ID != "https://www.stcn.com/article/list/yw.html" || stcn.Source.Title != "证券时报网-要闻" {
		t.Errorf("source %+v", stcn.Source)
	}
	var self, alt string
	for _, l := range stcn.Source.Links {
		switch l.Rel {
		case "self":
			self = l.Href
		case "alternate":
			alt = l.Href
		}
	}
	if self != "https://rsshub.example/stcn/yw" || alt != "https://www.stcn.com/" {
		t.Errorf("source links self=%q alternate=%q", self, alt)
	}
	// The source feed gave no date: its updated is when its content changed,
	// not the time of the request.
	if stcn.Source.Updated != "2026-11-26T03:00:00Z" {
		t.Errorf("source updated %q", stcn.Source.Updated)
	}

	cn := byTitle["科创板新增上市公司超百家"]
	if cn.ID != "https://news.cnstock.com/news,yw-5500001.htm" {
		t.Errorf("absolute original id not kept: %q", cn.ID)
	}
	if cn.Author != "中国证券网" {
		t.Errorf("author without an original author = %q, want the source's name", cn.Author)
	}
	if cn.Published != "2026-11-26T00:00:00Z" || cn.Updated != "2026-11-26T00:05:00Z" {
		t.Errorf("published %q updated %q", cn.Published, cn.Updated)
	}
	if len(cn.Categories) != 1 || cn.Categories[0].Term != "科创板" {
		t.Errorf("categories %+v", cn.Categories)
	}
	if cn.Source.Updated != "2026-11-26T02:00:00Z" {
		t.Errorf("source updated %q, want the feed's own updated", cn.Source.Updated)
	}

	// <source> is the last child of every entry.
	dec := xml.NewDecoder(bytes.NewReader(body))
	depth, last := 0, ""
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 3 {
				last = tok.Name.Local
			}
		case xml.EndElement:
			if depth == 2 && tok.Name.Local == "entry" && last != "source" {
				t.Errorf("last child of an entry is <%s>, want <source>", last)
			}
			depth--
		}
	}
}

func TestFeed_ConditionalGET(t *testing.T) {
	srv, _ := newTestServer(t)
	first := get(t, srv, "/feeds/markets.atom")
	etag, lastMod := first.Header().Get("ETag"), first.Header().Get("Last-Modified")
	// Last-Modified is when the newest entry was stored (db.Now), not the
	// date its source gave it (01:30).
	if etag == "" || strings.HasPrefix(etag, "W/") || lastMod != "Thu, 26 Nov 2026 03:00:00 GMT" {
		t.Fatalf("ETag %q Last-Modified %q", etag, lastMod)
	}
	if rec := get(t, srv, "/feeds/markets.atom", "If-None-Match", etag); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("If-None-Match: %d with %d bytes, want 304 and no body", rec.Code, rec.Body.Len())
	}
	if rec := get(t, srv, "/feeds/markets.atom", "If-Modified-Since", lastMod); rec.Code != http.StatusNotModified {
		t.Errorf("If-Modified-Since: %d, want 304", rec.Code)
	}
	if rec := get(t, srv, "/feeds/markets.atom", "If-None-Match", `"stale"`); rec.Code != http.StatusOK {
		t.Errorf("stale If-None-Match: %d, want 200", rec.Code)
	}
	// The same data renders the same bytes: the ETag is stable.
	if again := get(t, srv, "/feeds/markets.atom"); again.Header().Get("ETag") != etag {
		t.Errorf("ETag changed between two requests with no new data")
	}
}

func TestNotFound(t *testing.T) {
	srv, _ := newTestServer(t)
	for _, path := range []string{"/feeds/nope.atom", "/sources/nope.atom", "/feeds/markets.xml", "/feeds/", "/nothing"} {
		if rec := get(t, srv, path); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, rec.Code)
		}
	}
	if rec := get(t, srv, "/feeds/all.atom"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "科创板新增上市公司超百家") {
		t.Errorf("/feeds/all.atom: %d", rec.Code)
	}
}

type fakeHistory map[string]feeds.Result

func (h fakeHistory) Last(s string) (feeds.Result, bool) { r, ok := h[s]; return r, ok }

func TestIndex_ShowsFeedsAndHealth(t *testing.T) {
	srv, db := newTestServer(t)
	if _, err := db.Save(context.Background(), &feeds.Result{Source: "cnstock", Attempted: time.Now(), StatusCode: 429,
		Err: errors.New("fetch: HTTP 429 Too Many Requests")}); err != nil {
		t.Fatal(err)
	}
	srv.history = fakeHistory{"stcn": {Source: "stcn", Attempted: time.Date(2026, 11, 26, 3, 4, 5, 0, time.UTC),
		NextPoll: time.Date(2026, 11, 26, 3, 9, 5, 0, time.UTC), MovedTo: "https://rsshub.example/stcn/new",
		ReadWarnings: []string{"charset not declared; read as gb18030 (detected, confidence 100%)"},
		UnreadDates:  []feeds.UnreadDates{{Field: "published", Count: 2, Examples: []string{"上周三"}}}}}
	rec := get(t, srv, "/")
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("index: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, want := range []string{
		`<link rel="alternate" type="application/atom+xml" title="市场综合" href="https://relay.example.org/feeds/markets.atom">`,
		`<link rel="alternate" type="application/atom+xml" title="证券时报网" href="https://relay.example.org/sources/stcn.atom">`,
		`href="https://relay.example.org/feeds/zhengquanshibaowang.atom"`,
		`class="source failing"`,
		`fetch: HTTP 429 Too Many Requests`,
		`Moved permanently to <span class="url">https://rsshub.example/stcn/new</span>`,
		`charset not declared; read as gb18030 (detected, confidence 100%); fields.published: 2 dates not read (&#34;上周三&#34;, …), dated when first seen (time_format can give the page&#39;s layout)`,
		time.Date(2026, 11, 26, 3, 9, 5, 0, time.UTC).Local().Format("2006-01-02 15:04:05"),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("index lacks %s", want)
		}
	}
	if strings.Count(body, `class="source failing"`) != 1 {
		t.Errorf("want exactly one failing source on the index")
	}
}

func TestHealthz(t *testing.T) {
	srv, db := newTestServer(t)
	if rec := get(t, srv, "/healthz"); rec.Code != http.StatusOK {
		t.Errorf("healthz: %d", rec.Code)
	}
	db.Close()
	if rec := get(t, srv, "/healthz"); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("healthz with the database closed: %d, want 503", rec.Code)
	}
}

// A feed answered from the render cache, before routing, is the same
// answer as a routed one, and carries its route for the metrics (they label
// requests by r.Pattern): first request (rendered), then cached, plain,
// gzip, conditional and HEAD, for a category, a source and an archive page.
func TestFeed_CachedAnswerAsRouted(t *testing.T) {
	srv, _ := newTestServer(t)
	for _, c := range []struct{ path, route string }{
		{"/feeds/markets.atom", "GET /feeds/{file}"},
		{"/feeds/markets.rss", "GET /feeds/{file}"},
		{"/sources/stcn.atom", "GET /sources/{file}"},
		{"/feeds/all.atom?before=1795687620.50", "GET /feeds/{file}"},
	} {
		var first *httptest.ResponseRecorder
		for i, h := range [][]string{nil, nil, {"Accept-Encoding", "gzip"}, {"If-None-Match", "x"}} {
			req := httptest.NewRequest(http.MethodGet, c.path, nil)
			for j := 0; j+1 < len(h); j += 2 {
				req.Header.Set(h[j], h[j+1])
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if req.Pattern != c.route {
				t.Errorf("%s, request %d %v: r.Pattern %q, want %q", c.path, i, h, req.Pattern, c.route)
			}
			if rec.Code != http.StatusOK {
				t.Errorf("%s, request %d %v: %d", c.path, i, h, rec.Code)
			}
			if i == 0 {
				first = rec
			} else if len(h) == 0 && (rec.Body.String() != first.Body.String() || rec.Header().Get("ETag") != first.Header().Get("ETag")) {
				t.Errorf("%s: the cached answer differs from the first", c.path)
			}
		}
		head := httptest.NewRequest(http.MethodHead, c.path, nil)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, head)
		if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") != first.Header().Get("Content-Length") {
			t.Errorf("HEAD %s: %d, %d bytes, Content-Length %q", c.path, rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
		}
	}
	// What no route takes to a feed is not answered from the cache.
	for _, path := range []string{"/feeds//markets.atom", "/feeds/markets.atom/x"} {
		if rec := get(t, srv, path); rec.Code == http.StatusOK {
			t.Errorf("%s: 200", path)
		}
	}
}
