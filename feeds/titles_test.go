package feeds_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/feeds/scrape"
	"github.com/feedrelay/feedrelay/storage"
)

// Titles that mention tags are text: an Atom type="text" title (Atom's
// default), an RSS title and a scraped element's text keep every
// character through a poll into storage; a title that is HTML (Atom
// type="html"/"xhtml", RSS in CDATA) is stored as the text of its markup.
func TestPoll_TitlesThatMentionTagsAreText(t *testing.T) {
	const atomFeed = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id><updated>2026-11-26T00:00:00Z</updated>
<entry><title type="text">Vec&lt;String&gt; in Rust</title><id>urn:a:1</id><link href="https://a.example/1"/><updated>2026-11-26T00:01:00Z</updated></entry>
<entry><title type="text">Use the &lt;script&gt; tag in HTML</title><id>urn:a:2</id><link href="https://a.example/2"/><updated>2026-11-26T00:02:00Z</updated></entry>
<entry><title>Option&lt;T&gt; &amp;amp; Result&lt;T, E&gt;</title><id>urn:a:3</id><link href="https://a.example/3"/><updated>2026-11-26T00:03:00Z</updated></entry>
<entry><title type="html">&lt;b&gt;Breaking&lt;/b&gt;: news &amp;amp; views</title><id>urn:a:4</id><link href="https://a.example/4"/><updated>2026-11-26T00:04:00Z</updated></entry>
<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><i>Nature</i> &amp; <b>Science</b></div></title><id>urn:a:5</id><link href="https://a.example/5"/><updated>2026-11-26T00:05:00Z</updated></entry>
</feed>`
	const rssFeed = `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>R</title><link>https://r.example/</link><description>r</description>
<item><title>&lt;b&gt;</title><link>https://r.example/1</link></item>
<item><title>a &lt; b &gt; c</title><link>https://r.example/2</link></item>
<item><title>Vec&lt;String&gt; in Rust</title><link>https://r.example/3</link></item>
<item><title><![CDATA[<b>两市</b>收涨 &amp; 北向资金流入]]></title><link>https://r.example/4</link></item>
<item><title>&lt;em&gt;Rust&lt;/em&gt; 1.80 released</title><link>https://r.example/5</link></item>
</channel></rss>`
	const page = `<html><head><title>P</title></head><body><ul>
<li><a href="/1">Vec&lt;String&gt; in Rust</a></li>
<li><a href="/2">Use the &lt;script&gt; tag in HTML</a></li>
<li><a href="/3"><b>两市</b>收涨</a></li>
</ul></body></html>`
	want := map[string]string{
		"https://a.example/1": "Vec<String> in Rust",
		"https://a.example/2": "Use the <script> tag in HTML",
		"https://a.example/3": "Option<T> &amp; Result<T, E>",
		"https://a.example/4": "Breaking: news & views",
		"https://a.example/5": "Nature & Science",
		"https://r.example/1": "<b>",
		"https://r.example/2": "a < b > c",
		"https://r.example/3": "Vec<String> in Rust",
		"https://r.example/4": "两市收涨 & 北向资金流入",
		"https://r.example/5": "Rust 1.80 released", // RSS has no type: HTML by its look
	}
	mux := http.NewServeMux()
	serve := func(path, contentType, body string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", contentType)
			w.Write([]byte(body))
		})
	}
	serve("/a.atom", "application/atom+xml", atomFeed)
	serve("/r.xml", "application/rss+xml", rssFeed)
	serve("/p.html", "text/html; charset=utf-8", page)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	for i, path := range []string{"/1", "/2", "/3"} {
		want[ts.URL+path] = []string{"Vec<String> in Rust", "Use the <script> tag in HTML", "两市收涨"}[i]
	}

	scraper, err := scrape.Compile(scrape.Spec{Kind: scrape.HTML, Items: "li", Fields: map[string]string{"title": "a", "link": "a @href"}})
	if err != nil {
		t.Fatal(err)
	}
	p, db := newPoller(t, "a", "r", "p")
	ctx := context.Background()
	for _, src := range []feeds.Source{
		{Slug: "a", URL: ts.URL + "/a.atom", Timeout: 5 * time.Second},
		{Slug: "r", URL: ts.URL + "/r.xml", Timeout: 5 * time.Second},
		{Slug: "p", URL: ts.URL + "/p.html", Timeout: 5 * time.Second, Scraper: scraper},
	} {
		if r := p.Poll(ctx, src); r.Err != nil {
			t.Fatalf("poll %s: %s", src.Slug, r.Summary())
		}
	}
	es, err := db.Entries(ctx, storage.EntryQuery{Sources: []string{"a", "r", "p"}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != len(want) {
		t.Errorf("%d entries stored, want %d", len(es), len(want))
	}
	for _, e := range es {
		w, ok := want[e.Link]
		if !ok {
			t.Errorf("unexpected entry %q (%s)", e.Title, e.Link)
			continue
		}
		if e.Title != w {
			t.Errorf("%s (%s): stored title %q, want %q", e.Link, e.Source.Slug, e.Title, w)
		}
	}
}
