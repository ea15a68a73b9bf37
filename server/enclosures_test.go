package server

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/storage"
)

// The enclosures of a podcast (RSS) and of a talks feed (Atom), served
// over HTTP, polled and stored as a poll does, leave in every format
// feedrelay publishes — the category's, the source's and the search feed —
// as real readers read them: gofeed, Debian's feedparser (RSS and Atom),
// sfeed (RSS and Atom; it keeps the first enclosure of an entry). RSS
// carries an item's first enclosure, with length 0 when its source did
// not say; Atom and JSON Feed all of them; an unknown type is
// application/octet-stream in all three.
// javascript: enclosures and those on a private address the source may not
// reach are published nowhere. A changed enclosure changes the bytes and
// the ETag.
func TestEnclosures_PollServeReaders(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	bodies := map[string]string{
		"/pod.rss": `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>财经播客</title><link>https://pod.example/</link>
<item><title>第一集：两市成交额突破万亿</title><guid isPermaLink="false">tag:pod.example,2026:ep1</guid><link>https://pod.example/ep1</link>
<pubDate>Thu, 26 Nov 2026 09:00:00 +0800</pubDate><description>本期节目</description>
<enclosure url="https://cdn.example.org/ep1.mp3" length="12345678" type="audio/mpeg"/>
<enclosure url="https://cdn.example.org/ep1.ogg" length="9000000" type="audio/ogg"/></item>
<item><title>第二集：央行逆回购</title><guid isPermaLink="false">tag:pod.example,2026:ep2</guid><link>https://pod.example/ep2</link>
<pubDate>Thu, 26 Nov 2026 08:00:00 +0800</pubDate><description>本期节目</description>
<enclosure url="javascript:alert(document.cookie)" length="1" type="audio/mpeg"/>
<enclosure url="http://169.254.169.254/latest/meta-data/" length="1" type="audio/mpeg"/>
<enclosure url="/media/ep2.mp3" length="" type=""/></item>
</channel></rss>`,
		"/talks.atom": `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Talks</title><id>tag:talks.example,2026:feed</id>
<link href="https://talks.example/"/><updated>2026-11-26T00:00:00Z</updated>
<entry><title>Keynote 两市</title><id>tag:talks.example,2026:1</id><updated>2026-11-26T00:30:00Z</updated>
<link rel="alternate" href="https://talks.example/1"/>
<link rel="enclosure" href="https://cdn.example.org/keynote.mp4" type="video/mp4" length="3000000000"/>
<link rel="enclosure" href="https://cdn.example.org/keynote.pdf" type="application/pdf"/>
<link rel="enclosure" href="vbscript:msgbox(1)" type="video/mp4" length="1"/>
<content type="html">&lt;p&gt;slides&lt;/p&gt;</content></entry>
</feed>`,
	}
	feedSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		body, ok := bodies[r.URL.Path]
		mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(body))
	}))
	defer feedSrv.Close()

	sources := []storage.SourceInfo{
		{Slug: "pod", Name: "财经播客", URL: feedSrv.URL + "/pod.rss"},
		{Slug: "talks", Name: "Talks", URL: feedSrv.URL + "/talks.atom"},
	}
	db := openTestDB(t, sources...)
	poller := &feeds.Poller{Fetcher: feeds.NewFetcher(""), Store: db}
	poll := func(slug string) feeds.Counts {
		t.Helper()
		r := poller.Poll(ctx, feeds.Source{Slug: slug, URL: feedSrv.URL + "/" + map[string]string{"pod": "pod.rss", "talks": "talks.atom"}[slug],
			Timeout: 5 * time.Second, TagAuthority: "relay.example.org"})
		if r.Err != nil {
			t.Fatalf("poll %s: %v", slug, r.Err)
		}
		if _, err := db.IndexAll(ctx); err != nil {
			t.Fatal(err)
		}
		return r.Counts
	}
	poll("pod")
	poll("talks")
	opts := &Options{Options: publish.Options{
		BaseURL: "https://relay.example.org/", Title: "feedrelay", PageSize: 50,
		Attribution: template.Must(template.New("a").Parse(`<p>（文章来源：{{.Source}}）</p>`)),
		Categories:  []publish.Category{{Slug: "media", Title: "音视频", Sources: []string{"pod", "talks"}}},
	}}
	for _, s := range sources {
		opts.Sources = append(opts.Sources, publish.Source{Slug: s.Slug, Name: s.Name, URL: s.URL})
	}
	srv := New(db, nil, nil, opts)

	ep1 := []enc{{"https://cdn.example.org/ep1.mp3", "12345678", "audio/mpeg"}, {"https://cdn.example.org/ep1.ogg", "9000000", "audio/ogg"}}
	// Relative, resolved against the feed's address (the one its source
	// names); the source said neither length nor type.
	ep2 := []enc{{feedSrv.URL + "/media/ep2.mp3", "", "application/octet-stream"}}
	keynote := []enc{{"https://cdn.example.org/keynote.mp4", "3000000000", "video/mp4"}, {"https://cdn.example.org/keynote.pdf", "", "application/pdf"}}
	// want is what a reader of format ext sees of each entry: an unknown
	// type is application/octet-stream; RSS has room for one enclosure,
	// and requires its length (0: unknown).
	want := func(ext string) map[string][]enc {
		m := map[string][]enc{"tag:pod.example,2026:ep1": ep1, "tag:pod.example,2026:ep2": ep2, "tag:talks.example,2026:1": keynote}
		if ext == "rss" {
			for id, es := range m {
				first := es[0]
				if first.Length == "" {
					first.Length = "0"
				}
				m[id] = []enc{first}
			}
		}
		return m
	}
	paths := map[string][]string{ // path → the entries it shows
		"/feeds/media.atom": {"tag:pod.example,2026:ep1", "tag:pod.example,2026:ep2", "tag:talks.example,2026:1"}, "/feeds/media.rss": {"tag:pod.example,2026:ep1", "tag:pod.example,2026:ep2", "tag:talks.example,2026:1"},
		"/feeds/media.json": {"tag:pod.example,2026:ep1", "tag:pod.example,2026:ep2", "tag:talks.example,2026:1"},
		"/sources/pod.atom": {"tag:pod.example,2026:ep1", "tag:pod.example,2026:ep2"}, "/sources/pod.rss": {"tag:pod.example,2026:ep1", "tag:pod.example,2026:ep2"}, "/sources/pod.json": {"tag:pod.example,2026:ep1", "tag:pod.example,2026:ep2"},
		"/sources/talks.atom": {"tag:talks.example,2026:1"}, "/sources/talks.rss": {"tag:talks.example,2026:1"},
		"/feeds/all.json": {"tag:pod.example,2026:ep1", "tag:pod.example,2026:ep2", "tag:talks.example,2026:1"},
		"/search?q=两市":    {"tag:pod.example,2026:ep1", "tag:talks.example,2026:1"},
	}
	formatOf := func(path string) string {
		switch {
		case strings.Contains(path, ".rss"):
			return "rss"
		case strings.Contains(path, ".json"):
			return "json"
		}
		return "atom"
	}
	for path, ids := range paths {
		rec := get(t, srv, path)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", path, rec.Code)
		}
		body := rec.Body.Bytes()
		for _, bad := range []string{"javascript:", "vbscript:", "169.254.169.254", `"/media/ep2.mp3"`} {
			if bytes.Contains(body, []byte(bad)) {
				t.Errorf("%s publishes %s:\n%s", path, bad, body)
			}
		}
		w := want(formatOf(path))
		f := parseFeed(t, path, body)
		got := map[string][]enc{}
		for _, it := range f.Items {
			for _, e := range it.Enclosures {
				got[it.GUID] = append(got[it.GUID], enc{e.URL, e.Length, e.Type})
			}
		}
		for _, id := range ids {
			if !reflect.DeepEqual(got[id], w[id]) {
				t.Errorf("%s: gofeed reads the enclosures of %s as %+v, want %+v", path, id, got[id], w[id])
			}
		}
		if len(got) != len(ids) {
			t.Errorf("%s: enclosures on %d entries, want %d: %+v", path, len(got), len(ids), got)
		}
		if formatOf(path) == "json" && !bytes.Contains(body, []byte(`"size_in_bytes": 12345678`)) && strings.Contains(path, "pod") {
			t.Errorf("%s: no JSON Feed size_in_bytes:\n%s", path, body)
		}
	}

	// Real readers, on the category's Atom and RSS.
	for _, ext := range []string{"atom", "rss"} {
		body := get(t, srv, "/feeds/media."+ext).Body.Bytes()
		w := want(ext)
		if got := feedparserEnclosures(t, body); !reflect.DeepEqual(got, toFeedparser(w)) {
			t.Errorf("feedparser reads the enclosures of media.%s as\n%+v\nwant\n%+v", ext, got, toFeedparser(w))
		}
		first := map[string]string{}
		for id, es := range w {
			first[id] = es[0].URL
		}
		if got := sfeedEnclosures(t, body); !reflect.DeepEqual(got, first) {
			t.Errorf("sfeed reads the first enclosures of media.%s as %q, want %q", ext, got, first)
		}
	}

	// The pages for people link each file, as a podcast's site does.
	for _, path := range []string{"/c/media", "/s/pod"} {
		body := get(t, srv, path).Body.String()
		for _, link := range []string{`<a href="https://cdn.example.org/ep1.mp3" type="audio/mpeg">audio/mpeg</a>`,
			`<a href="https://cdn.example.org/ep1.ogg" type="audio/ogg">audio/ogg</a>`, `<a href="` + feedSrv.URL + `/media/ep2.mp3">file</a>`} {
			if !strings.Contains(body, link) {
				t.Errorf("%s does not link %s:\n%s", path, link, body)
			}
		}
		if strings.Contains(body, "javascript:") || strings.Contains(body, "169.254.169.254") {
			t.Errorf("%s links an enclosure that is not published", path)
		}
	}

	// The podcast corrects the length of episode 1: the item is updated,
	// its feeds' bytes and ETags change.
	before := map[string]string{}
	for _, path := range []string{"/feeds/media.atom", "/feeds/media.rss", "/feeds/media.json"} {
		before[path] = get(t, srv, path).Header().Get("ETag")
	}
	mu.Lock()
	bodies["/pod.rss"] = strings.Replace(bodies["/pod.rss"], `length="12345678"`, `length="12345999"`, 1)
	mu.Unlock()
	if c := poll("pod"); c != (feeds.Counts{Updated: 1, Unchanged: 1}) {
		t.Fatalf("poll after the length changed: %+v, want episode 1 updated", c)
	}
	for path, etag := range before {
		rec := get(t, srv, path, "If-None-Match", etag)
		if rec.Code != http.StatusOK || rec.Header().Get("ETag") == etag {
			t.Errorf("%s after the enclosure changed: status %d, ETag %s (was %s); want the new bytes", path, rec.Code, rec.Header().Get("ETag"), etag)
		}
		f := parseFeed(t, path, rec.Body.Bytes())
		if it := itemByID(f, "tag:pod.example,2026:ep1"); it == nil || len(it.Enclosures) == 0 || it.Enclosures[0].Length != "12345999" {
			t.Errorf("%s: episode 1 does not carry the new length: %+v", path, it)
		}
	}
}

// fpEnclosure is an enclosure as feedparser reports it.
type fpEnclosure struct {
	Href   string `json:"href"`
	Length string `json:"length"`
	Type   string `json:"type"`
}

// enc is an enclosure as a reader reads it: its length and type as the
// text they are in the document ("" when absent).
type enc struct{ URL, Length, Type string }

func toFeedparser(m map[string][]enc) map[string][]fpEnclosure {
	out := map[string][]fpEnclosure{}
	for id, es := range m {
		for _, e := range es {
			out[id] = append(out[id], fpEnclosure{Href: e.URL, Length: e.Length, Type: e.Type})
		}
	}
	return out
}

// feedparserEnclosures reads body with Debian's feedparser and returns
// each entry's enclosures, by id.
func feedparserEnclosures(t *testing.T, body []byte) map[string][]fpEnclosure {
	t.Helper()
	cmd := exec.Command(feedparserPython, "-c", `import sys, json, feedparser
d = feedparser.parse(sys.stdin.buffer.read())
if d.bozo: sys.exit("bozo: %s" % d.bozo_exception)
print(json.dumps({e.id: [{"href": x.get("href", ""), "length": x.get("length", ""), "type": x.get("type", "")}
  for x in e.get("enclosures", [])] for e in d.entries if e.get("enclosures")}))`)
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("feedparser (%s; scripts/install-test-deps installs it): %v\n%s", feedparserPython, err, out)
	}
	var got map[string][]fpEnclosure
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("feedparser output %q: %v", out, err)
	}
	return got
}

// sfeedEnclosures reads body with sfeed and returns the enclosure field
// of each entry that has one, by id (sfeed's 8th field; its 6th is the id).
func sfeedEnclosures(t *testing.T, body []byte) map[string]string {
	t.Helper()
	bin, err := exec.LookPath("sfeed")
	if err != nil {
		t.Fatalf("sfeed is not installed (%v); run scripts/install-test-deps", err)
	}
	cmd := exec.Command(bin)
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sfeed: %v", err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 8 {
			t.Fatalf("sfeed line has %d fields, want 9: %q", len(f), line)
		}
		if f[7] != "" {
			got[f[5]] = f[7]
		}
	}
	return got
}

// An item stored with enclosures no feedrelay should have kept (by a
// version that let them through, or written to the database by hand) is
// published with those left out: only http(s) enclosures leave, with no
// character XML 1.0 forbids in their type.
func TestOutput_OnlyWebEnclosures(t *testing.T) {
	srv, save := outputServer(t, nil, publish.Category{Slug: "mix", Title: "混合", Sources: []string{"evil"}},
		storage.SourceInfo{Slug: "evil", Name: "恶意源", URL: "https://evil.example/feed.xml"})
	save("evil", &feeds.Feed{ID: "tag:evil.example,2026:feed", Title: "恶意源", Items: []feeds.Item{{
		GUID: "tag:evil.example,2026:1", Title: "节目", Link: "https://evil.example/1", Content: "<p>正文</p>",
		Published: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC),
		Enclosures: []feeds.Enclosure{
			{URL: "javascript:alert(1)", Type: "audio/mpeg"},
			{URL: "data:audio/mpeg;base64,AAAA", Type: "audio/mpeg"},
			{URL: "/relative.mp3", Type: "audio/mpeg"},
			{URL: "https://cdn.example.org/ok.mp3", Length: 7, Type: "audio/\x01mpeg"},
		},
	}}})
	for _, path := range []string{"/feeds/mix.atom", "/feeds/mix.rss", "/feeds/mix.json"} {
		body := get(t, srv, path).Body.Bytes()
		for _, bad := range []string{"javascript:", "data:", "relative.mp3"} {
			if bytes.Contains(body, []byte(bad)) {
				t.Errorf("%s publishes %s:\n%s", path, bad, body)
			}
		}
		it := itemByID(parseFeed(t, path, body), "tag:evil.example,2026:1")
		if it == nil || len(it.Enclosures) != 1 || *it.Enclosures[0] != (gofeed.Enclosure{URL: "https://cdn.example.org/ok.mp3", Length: "7", Type: "audio/mpeg"}) {
			t.Errorf("%s: want the entry with its one web enclosure, got %+v", path, it)
		}
	}
}
