package server

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
	"golang.org/x/net/html"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/htmltext"
	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/storage"
	"github.com/feedrelay/feedrelay/xmlchar"
)

// The tests of this file are what leaves feedrelay, whatever was stored:
// only http(s) links, titles that read as their source's, no character XML
// 1.0 forbids, and bad queries refused with a 400.

// outputServer serves one category "mix" of the given sources, all three
// formats and the HTML pages, with the default attribution line.
func outputServer(t *testing.T, logger *slog.Logger, cat publish.Category, srcs ...storage.SourceInfo) (*Server, func(src string, f *feeds.Feed)) {
	t.Helper()
	db := openTestDB(t, srcs...)
	clock := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	save := func(src string, f *feeds.Feed) {
		t.Helper()
		clock = clock.Add(time.Minute)
		db.Now = func() time.Time { return clock }
		for i := range f.Items {
			it := &f.Items[i]
			if it.Identity == "" {
				it.Identity = it.GUID
			}
			it.Hash = it.Identity + it.Title + it.Content
		}
		(&feeds.Source{Slug: src, TagAuthority: "relay.example.org"}).Identify(f, clock) // as the poller does
		if _, err := db.Save(context.Background(), &feeds.Result{Source: src, Attempted: clock, StatusCode: 200, Feed: f}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.IndexAll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	opts := &Options{Options: publish.Options{
		BaseURL: "https://relay.example.org/", Title: "feedrelay", PageSize: 50, TitleWindow: 48 * time.Hour,
		Attribution: template.Must(template.New("a").Parse(
			`<p>（文章来源：{{.Source}}）{{with .Link}}<br>原文链接：<a href="{{.}}">{{.}}</a>{{end}}</p>`)),
		Categories: []publish.Category{cat},
	}}
	for _, s := range srcs {
		opts.Sources = append(opts.Sources, publish.Source{Slug: s.Slug, Name: s.Name, URL: s.URL})
	}
	return New(db, nil, logger, opts), save
}

// parseFeed reads a response body as a feed reader would.
func parseFeed(t *testing.T, path string, body []byte) *gofeed.Feed {
	t.Helper()
	f, err := gofeed.NewParser().Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: gofeed cannot read it: %v\n%s", path, err, body)
	}
	return f
}

func itemByID(f *gofeed.Feed, id string) *gofeed.Item {
	for _, it := range f.Items {
		if it.GUID == id {
			return it
		}
	}
	return nil
}

// Item 8: an item, its source and a copy of its story stored with
// javascript:, data: and vbscript: links (by a version that let them
// through) are published in every format with those links dropped, each
// entry still there under its id.
func TestOutput_OnlyWebLinks(t *testing.T) {
	srv, save := outputServer(t, nil,
		publish.Category{Slug: "mix", Title: "混合", Sources: []string{"good", "evil"}, DedupTitles: true},
		storage.SourceInfo{Slug: "good", Name: "正常源", URL: "https://good.example/feed.xml"},
		storage.SourceInfo{Slug: "evil", Name: "恶意源", URL: "vbscript:msgbox(1)"})
	save("good", &feeds.Feed{ID: "tag:good.example,2026:feed", Title: "正常源", SiteURL: "https://good.example/",
		Items: []feeds.Item{{GUID: "tag:good.example,2026:1", Title: "央行开展逆回购操作", Link: "https://good.example/1",
			Content: "<p>正文</p>", Published: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}}})
	save("evil", &feeds.Feed{ID: "tag:evil.example,2026:feed", Title: "恶意源", SiteURL: "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
		Items: []feeds.Item{
			// A copy of the good story (same title): folded into it, its link
			// would be the entry's rel=related and the "also reported by" link.
			{GUID: "tag:evil.example,2026:copy", Title: "央行开展逆回购操作", Link: "JavaScript:alert('copy')",
				Published: time.Date(2026, 11, 26, 0, 1, 0, 0, time.UTC)},
			{GUID: "tag:evil.example,2026:own", Title: "恶意链接", Link: "javascript:alert(document.cookie)",
				Content: "<p>正文</p>", Published: time.Date(2026, 11, 26, 0, 2, 0, 0, time.UTC)},
		}})
	unsafe := regexp.MustCompile(`(?i)(javascript|vbscript|data):`)
	for _, path := range []string{"/feeds/mix.atom", "/feeds/mix.rss", "/feeds/mix.json", "/sources/evil.atom", "/sources/evil.rss", "/sources/evil.json", "/c/mix"} {
		rec := get(t, srv, path)
		body := rec.Body.Bytes()
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", path, rec.Code)
		}
		if m := unsafe.Find(body); m != nil {
			t.Errorf("%s publishes a %s link:\n%s", path, m, body)
		}
		if path == "/c/mix" {
			if !bytes.Contains(body, []byte("恶意链接")) || !bytes.Contains(body, []byte(`href="https://good.example/1"`)) {
				t.Errorf("%s lost an entry or the good link:\n%s", path, body)
			}
			continue
		}
		f := parseFeed(t, path, body)
		own := itemByID(f, "tag:evil.example,2026:own")
		if own == nil {
			t.Fatalf("%s: the entry with the unsafe link is gone (it should stay, without its link):\n%s", path, body)
		}
		if own.Link != "" || len(own.Links) != 0 {
			t.Errorf("%s: the unsafe entry links to %q %q", path, own.Link, own.Links)
		}
		if strings.HasPrefix(path, "/feeds/") {
			good := itemByID(f, "tag:good.example,2026:1")
			if good == nil || good.Link != "https://good.example/1" {
				t.Fatalf("%s: the good entry or its link is gone: %+v", path, good)
			}
			if html := good.Content + good.Description; !strings.Contains(html, "恶意源") || strings.Contains(html, `href=""`) {
				t.Errorf("%s: the folded copy is not named in the good entry, or named with an empty link: %q", path, html)
			}
		}
	}
}

// Item 9: titles are text end to end. Each source title below is parsed
// the way a poll parses it, stored, published, and read back by gofeed
// from every format (and by feedparser from RSS, where readers guess
// whether a title is HTML): the reader sees the source's text.
func TestOutput_TitlesRoundTrip(t *testing.T) {
	atomSource := `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title type="text">&amp;lt;源&amp;gt; A&amp;amp;B</title>
<id>tag:a.example,2026:feed</id><link href="https://a.example/"/><updated>2026-11-26T00:00:00Z</updated>
<entry><title type="text">&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt; 解读</title><id>tag:a.example,2026:1</id>
<link href="https://a.example/1"/><updated>2026-11-26T00:01:00Z</updated><content type="html">&lt;p&gt;一&lt;/p&gt;</content></entry>
<entry><title type="html">&lt;b&gt;粗体&lt;/b&gt; &amp;amp; 细节</title><id>tag:a.example,2026:2</id>
<link href="https://a.example/2"/><updated>2026-11-26T00:02:00Z</updated><content type="html">&lt;p&gt;二&lt;/p&gt;</content></entry>
<entry><title>AT&amp;T &lt;3 Go</title><id>tag:a.example,2026:3</id>
<link href="https://a.example/3"/><updated>2026-11-26T00:03:00Z</updated><content type="html">&lt;p&gt;三&lt;/p&gt;</content></entry>
<entry><title type="text">Vec&lt;String&gt; in Rust</title><id>tag:a.example,2026:5</id>
<link href="https://a.example/5"/><updated>2026-11-26T00:05:00Z</updated><content type="html">&lt;p&gt;五&lt;/p&gt;</content></entry>
<entry><title type="text">Use the &lt;script&gt; tag in HTML</title><id>tag:a.example,2026:6</id>
<link href="https://a.example/6"/><updated>2026-11-26T00:06:00Z</updated><content type="html">&lt;p&gt;六&lt;/p&gt;</content></entry>
</feed>`
	rssSource := `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>B 源</title><link>https://b.example/</link>
<item><title>&amp;lt;b&amp;gt;不是粗体&amp;lt;/b&amp;gt;</title><guid>https://b.example/1</guid><link>https://b.example/1</link>
<pubDate>Thu, 26 Nov 2026 08:04:00 +0800</pubDate><description>四</description></item>
<item><title>&lt;b&gt;</title><guid>https://b.example/7</guid><link>https://b.example/7</link>
<pubDate>Thu, 26 Nov 2026 08:07:00 +0800</pubDate><description>七</description></item>
</channel></rss>`
	// The text of each title, as the source means it (a type="text" title
	// is its characters; a type="html" one the text of its markup).
	want := map[string]string{
		"tag:a.example,2026:1": "&lt;script&gt;alert(1)&lt;/script&gt; 解读",
		"tag:a.example,2026:2": "粗体 & 细节",
		"tag:a.example,2026:3": "AT&T <3 Go",
		"https://b.example/1":  "&lt;b&gt;不是粗体&lt;/b&gt;",
		// Text that mentions tags is not HTML (it has no closing tag).
		"tag:a.example,2026:5": "Vec<String> in Rust",
		"tag:a.example,2026:6": "Use the <script> tag in HTML",
		"https://b.example/7":  "<b>",
	}
	// gofeed agrees on what the text titles say.
	for _, src := range []string{atomSource, rssSource} {
		for _, it := range parseFeed(t, "source", []byte(src)).Items {
			if w := want[it.GUID]; it.GUID != "tag:a.example,2026:2" && it.Title != w {
				t.Fatalf("gofeed reads the source title %q, the test expects %q", it.Title, w)
			}
		}
	}
	const catTitle, srcName = `<b>市场</b> & 行情`, `<i>A</i> 源`
	srv, save := outputServer(t, nil,
		publish.Category{Slug: "mix", Title: catTitle, Sources: []string{"a", "b"}},
		storage.SourceInfo{Slug: "a", Name: srcName, URL: "https://a.example/feed.atom"},
		storage.SourceInfo{Slug: "b", Name: "B", URL: "https://b.example/rss.xml"})
	for slug, body := range map[string]string{"a": atomSource, "b": rssSource} {
		f, err := feeds.Parse([]byte(body), "application/xml", "", "https://"+slug+".example/feed", time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		save(slug, f)
	}
	for _, path := range []string{"/feeds/mix.atom", "/feeds/mix.rss", "/feeds/mix.json"} {
		body := get(t, srv, path).Body.Bytes()
		f := parseFeed(t, path, body)
		if len(f.Items) != len(want) {
			t.Fatalf("%s: %d items, want %d", path, len(f.Items), len(want))
		}
		for _, it := range f.Items {
			if it.Title != want[it.GUID] {
				t.Errorf("%s: a reader sees the title %q, the source says %q", path, it.Title, want[it.GUID])
			}
		}
		if path != "/feeds/mix.json" && !strings.Contains(string(body), `>&amp;lt;源&amp;gt; A&amp;amp;B</`) {
			t.Errorf("%s: the source feed's title is not its text:\n%s", path, body)
		}
	}
	// The RSS channel description is HTML: the titles it repeats are
	// escaped there, so a reader shows them as text, not as markup.
	for path, title := range map[string]string{"/feeds/mix.rss": catTitle, "/sources/a.rss": srcName} {
		f := parseFeed(t, path, get(t, srv, path).Body.Bytes())
		if f.Title != title || strings.Contains(f.Description, "<") || htmltext.Plain(f.Description) != title {
			t.Errorf("%s: title %q, description %q (as HTML: %q), want %q as text", path, f.Title, f.Description, htmltext.Plain(f.Description), title)
		}
	}
	// And the HTML page escapes the title once.
	page := get(t, srv, "/c/mix").Body.String()
	for _, w := range []string{`>&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt; 解读</a>`, `>AT&amp;T &lt;3 Go</a>`,
		`>Vec&lt;String&gt; in Rust</a>`, `>Use the &lt;script&gt; tag in HTML</a>`, `>&lt;b&gt;</a>`} {
		if !strings.Contains(page, w) {
			t.Errorf("/c/mix lacks %s:\n%s", w, page)
		}
	}

	// feedparser, which guesses whether an RSS title is HTML, sees the same.
	cmd := exec.Command(feedparserPython, "-c", `import sys, json, feedparser
d = feedparser.parse(sys.stdin.buffer.read())
print(json.dumps({e.id: e.title for e in d.entries}))`)
	cmd.Stdin = bytes.NewReader(get(t, srv, "/feeds/mix.rss").Body.Bytes())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("feedparser: %v\n%s", err, out)
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("feedparser output %q: %v", out, err)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("feedparser reads the title of %s as %q, the source says %q", id, got[id], w)
		}
	}
}

// feedparserPython is Debian's Python, which has python3-feedparser
// (scripts/install-test-deps); the python3 first on PATH may be another.
const feedparserPython = "/usr/bin/python3"

// Item 10: an item whose every text holds characters XML 1.0 forbids
// (stored by a version that let them through) leaves in no format with
// one, raw or escaped; the rest of the text stays.
func TestOutput_NoForbiddenCharacters(t *testing.T) {
	// mix puts the forbidden characters between a and b and after b.
	mix := func(a, b string) string { return a + "\x00\x01" + b + "\x08\x1f\uFFFE" + "\uFFFF" }
	// Names from the config hold them too (YAML's "\x01"), but for NUL:
	// html/template writes U+FFFD for it, which XML allows.
	conf := func(a, b string) string { return strings.ReplaceAll(mix(a, b), "\x00", "") }
	srv, save := outputServer(t, nil,
		publish.Category{Slug: "mix", Title: conf("分", "类"), Sources: []string{"ctl"}},
		storage.SourceInfo{Slug: "ctl", Name: conf("控制", "源"), URL: "https://ctl.example/feed.xml"})
	save("ctl", &feeds.Feed{ID: mix("tag:ctl.example,2026:", "feed"), Title: mix("源", "标题"), SiteURL: "https://ctl.example/",
		Items: []feeds.Item{{GUID: "tag:ctl.example,2026:1", Title: mix("两市收涨", "title"), Link: "https://ctl.example/1",
			Author: mix("记", "者"), Content: "<p>" + mix("正文", "content") + "</p>", Summary: "<p>" + mix("摘", "要") + "</p>",
			Categories: []string{mix("财", "经")}, Published: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}}})
	// JSON escapes control characters: \u0000 is one too.
	jsonEscape := regexp.MustCompile(`(?i)\\u(00[01][0-9a-f]|fff[ef]|d[89a-f][0-9a-f]{2})`)
	for _, path := range []string{"/feeds/mix.atom", "/feeds/mix.rss", "/feeds/mix.json", "/sources/ctl.atom", "/sources/ctl.rss", "/sources/ctl.json",
		"/c/mix", "/", "/opml", "/search?q=两市收涨"} {
		rec := get(t, srv, path)
		body := rec.Body.String()
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", path, rec.Code, body)
		}
		if xmlchar.Clean(body) != body {
			t.Errorf("%s carries a character XML 1.0 forbids: %q", path, body)
		}
		for _, m := range jsonEscape.FindAllString(body, -1) {
			if m != `\u0009` && m != `\u000a` && m != `\u000d` && m != `\u000A` && m != `\u000D` {
				t.Errorf("%s carries %s", path, m)
			}
		}
		if strings.Contains(body, "\uFFFD") {
			t.Errorf("%s replaced a forbidden character with U+FFFD instead of dropping it", path)
		}
		switch {
		case strings.HasPrefix(path, "/feeds/"), strings.HasPrefix(path, "/sources/"), strings.HasPrefix(path, "/search"):
			f := parseFeed(t, path, rec.Body.Bytes())
			if len(f.Items) != 1 {
				t.Fatalf("%s: %d items, want 1", path, len(f.Items))
			}
			it := f.Items[0]
			if it.Title != "两市收涨title" {
				t.Errorf("%s: title %q, want the title without the forbidden characters", path, it.Title)
			}
			var authors []string
			for _, a := range it.Authors {
				authors = append(authors, a.Name)
			}
			if !strings.Contains(it.Content+it.Description, "正文content") || !slices.Contains(authors, "记者") {
				t.Errorf("%s: content %q, authors %q: text lost with the forbidden characters", path, it.Content+it.Description, authors)
			}
		case path == "/c/mix":
			if !strings.Contains(body, "两市收涨title") || !strings.Contains(body, "控制源") || !strings.Contains(body, "分类") {
				t.Errorf("%s lost text with the forbidden characters:\n%s", path, body)
			}
		}
	}
}

// Item 11: bad input is a 400 with a short message, never a 500 (and an
// ERROR line anyone could make), and never the first page served in place
// of the page asked for.
func TestOutput_BadQueries(t *testing.T) {
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, nil))
	srv, save := outputServer(t, logger,
		publish.Category{Slug: "mix", Title: "混合", Sources: []string{"s"}},
		storage.SourceInfo{Slug: "s", Name: "源", URL: "https://s.example/feed.xml"})
	f := &feeds.Feed{Title: "源"}
	for i := range 60 {
		id := "https://s.example/" + strings.Repeat("x", i+1)
		f.Items = append(f.Items, feeds.Item{GUID: id, Link: id, Title: "abc 两市 " + id,
			Published: time.Date(2026, 11, 26, 0, i, 0, 0, time.UTC)})
	}
	save("s", f)
	first := getAtomPage(t, srv, "https://relay.example.org/feeds/mix.atom")
	cursor := strings.SplitN(first.link("next"), "?", 2)[1] // before=…
	many := strings.Repeat("x=1&", 10_001)
	for _, path := range []string{
		"/search?q=abc%00def",
		"/search?q=abc%01def",
		"/search?q=abc%EF%BF%BEdef", // U+FFFE
		"/search?q=abc&q=def",
		"/search?q=abc&category=mix&category=all",
		"/search?" + many + "q=abc",
		"/search?q=abc&" + many + cursor,
		"/feeds/mix.atom?" + many + cursor,
		"/feeds/mix.json?" + cursor + "&" + many,
		"/c/mix?" + many + cursor,
		"/feeds/mix.atom?before=%zz",
		"/feeds/mix.atom?" + cursor + ";x=1",
		"/feeds/mix.atom?" + cursor + "&" + cursor,
		"/feeds/mix.atom?before=",
		"/feeds/mix.atom?after=",
		"/c/mix?before=1.x",
		"/c/mix?after=" + strings.TrimPrefix(cursor, "before="),
	} {
		rec := get(t, srv, path)
		short := path
		if len(short) > 80 {
			short = short[:40] + "…" + short[len(short)-30:]
		}
		msg := strings.TrimSpace(rec.Body.String())
		if rec.Code != http.StatusBadRequest || msg == "" || len(msg) > 200 {
			t.Errorf("%s: status %d, body %.300q; want 400 with a short message", short, rec.Code, msg)
		}
	}
	if strings.Contains(log.String(), "level=ERROR") {
		t.Errorf("bad input logged as an error:\n%s", log.String())
	}
	// The same queries, well formed, are served.
	for _, path := range []string{"/search?q=abc", "/search?q=abc&" + cursor, "/feeds/mix.atom?" + cursor, "/c/mix?" + cursor} {
		if rec := get(t, srv, path); rec.Code != http.StatusOK {
			t.Errorf("%s: status %d: %s", path, rec.Code, rec.Body.String())
		}
	}
}

// Item 14: one page, one cursor spelling, one cache entry. Other spellings
// of a cursor are refused with the canonical one; parameters feeds do not
// know are ignored and make no cache entry of their own.
func TestOutput_CanonicalCursors(t *testing.T) {
	plain, db := newTestServer(t)
	addItems(t, db, "stcn", 0, 60, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	store := &countingStore{DB: db}
	srv := New(store, nil, nil, plain.opts.Load())
	first := getAtomPage(t, srv, "https://relay.example.org/sources/stcn.atom")
	cursor := strings.SplitN(first.link("next"), "?before=", 2)[1] // "{secs}.{id}"
	secs, id, _ := strings.Cut(cursor, ".")
	for _, other := range []string{"000" + secs + "." + id, "+" + secs + "." + id, secs + ".0" + id, secs + ".+" + id} {
		rec := get(t, srv, "/sources/stcn.atom?before="+url.QueryEscape(other))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"`+cursor+`"`) {
			t.Errorf("before=%s: status %d %q; want 400 naming %q", other, rec.Code, rec.Body.String(), cursor)
		}
	}
	for _, pair := range [][2]string{
		{"/sources/stcn.atom", "/sources/stcn.atom?utm_source=reader&x=1"},
		{"/sources/stcn.atom?before=" + cursor, "/sources/stcn.atom?utm_medium=feed&before=" + cursor + "&fbclid=y"},
	} {
		get(t, srv, pair[0])
		queries := store.queries.Load()
		rec := get(t, srv, pair[1])
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", pair[1], rec.Code)
		}
		if n := store.queries.Load() - queries; n != 0 {
			t.Errorf("%s was rendered again (%d queries): unknown parameters made a cache entry of their own", pair[1], n)
		}
		p := getAtomPage(t, srv, "https://relay.example.org"+pair[1])
		if self := p.link("self"); self != "https://relay.example.org"+pair[0] {
			t.Errorf("%s: self link %q, want the canonical %q", pair[1], self, pair[0])
		}
	}
}

// An entry whose link was dropped (a javascript: link is never published)
// is shown on the category and source pages as a title without a link:
// href="" would link to the page itself.
func TestPages_EntryWithoutLinkIsNotALink(t *testing.T) {
	srv, save := outputServer(t, nil, publish.Category{Slug: "mix", Title: "混合", Sources: []string{"evil"}},
		storage.SourceInfo{Slug: "evil", Name: "恶意源", URL: "https://evil.example/feed.xml"})
	save("evil", &feeds.Feed{ID: "tag:evil.example,2026:feed", Title: "恶意源", Items: []feeds.Item{
		{GUID: "tag:evil.example,2026:1", Title: "恶意链接", Link: "javascript:alert(1)", Content: "<p>正文</p>",
			Published: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)},
		{GUID: "tag:evil.example,2026:2", Title: "正常链接", Link: "https://evil.example/2", Content: "<p>正文</p>",
			Published: time.Date(2026, 11, 26, 0, 1, 0, 0, time.UTC)},
	}})
	for _, path := range []string{"/c/mix", "/s/evil"} {
		rec := get(t, srv, path)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", path, rec.Code)
		}
		doc := dom(t, rec.Body.String())
		titles := map[string]string{} // title → the element showing it
		for _, n := range findAll(doc, "ul", "entries") {
			for d := range n.Descendants() {
				if d.Type == html.ElementNode && hasClass(d, "title") {
					titles[text(d)] = d.Data
					if d.Data == "a" && attr(d, "href") == "" {
						t.Errorf("%s: the title %q links to %q", path, text(d), attr(d, "href"))
					}
				}
			}
		}
		if titles["恶意链接"] != "span" || titles["正常链接"] != "a" {
			t.Errorf("%s: titles shown as %v; want the one without a link as text (span), the other a link", path, titles)
		}
		if strings.Contains(rec.Body.String(), `href=""`) {
			t.Errorf("%s has an empty link", path)
		}
	}
}

// An item's summary beside its content is in every format that has a
// place for one: Atom's <summary>, JSON Feed's summary (plain text).
func TestOutput_SummaryInAtomAndJSON(t *testing.T) {
	srv, save := outputServer(t, nil,
		publish.Category{Slug: "c", Title: "分类", Sources: []string{"s"}},
		storage.SourceInfo{Slug: "s", Name: "源", URL: "https://s.example/feed.xml"})
	save("s", &feeds.Feed{Title: "源", Items: []feeds.Item{{GUID: "tag:s.example,2026:1", Title: "两市收涨", Link: "https://s.example/1",
		Content: "<p>正文</p>", Summary: "<p>摘要：<b>两市</b>收涨</p>", Published: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)}}})
	for path, want := range map[string]string{"/feeds/c.atom": "<p>摘要：<b>两市</b>收涨</p>", "/feeds/c.json": "摘要：两市收涨"} {
		rec := get(t, srv, path)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", path, rec.Code)
		}
		if got := parseFeed(t, path, rec.Body.Bytes()).Items[0].Description; got != want {
			t.Errorf("%s: summary %q, want %q", path, got, want)
		}
	}
}
