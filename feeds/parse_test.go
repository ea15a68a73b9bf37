package feeds

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Shanghai without relying on the host's zoneinfo
	"unicode/utf8"
)

// Fixtures live in testdata (see testdata/gen.py); stcn.xml, cnstock.atom and
// eastmoney.json are copies of examples/feeds.

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func shanghai(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustParse(t *testing.T, body []byte, contentType, override, feedURL string, loc *time.Location) *Feed {
	t.Helper()
	f, err := Parse(body, contentType, override, feedURL, loc)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if f == nil {
		t.Fatal("Parse returned a nil feed and no error")
	}
	return f
}

func itemByTitle(t *testing.T, f *Feed, title string) Item {
	t.Helper()
	for _, it := range f.Items {
		if it.Title == title {
			return it
		}
	}
	var titles []string
	for _, it := range f.Items {
		titles = append(titles, it.Title)
	}
	t.Fatalf("no item titled %q; have %q", title, titles)
	return Item{}
}

// noMojibake fails when any user-visible text holds U+FFFD.
func noMojibake(t *testing.T, f *Feed) {
	t.Helper()
	check := func(what, s string) {
		if strings.ContainsRune(s, utf8.RuneError) || !utf8.ValidString(s) {
			t.Errorf("%s is garbled: %q", what, s)
		}
	}
	check("feed title", f.Title)
	for _, it := range f.Items {
		check("title", it.Title)
		check("content", it.Content)
		check("summary", it.Summary)
		check("author", it.Author)
	}
}

const stcnURL = "https://www.stcn.com/rss/yw.xml"

var stcnTitles = []string{
	"A股三大指数集体高开 沪指涨0.35%",
	"央行开展2000亿元逆回购操作",
	"北向资金午后加速流入",
}

func TestParseGBKFeed(t *testing.T) {
	cases := []struct {
		name, file, contentType, override string
	}{
		{"declaration only", "stcn.xml", "", ""},
		{"declaration, generic content type", "stcn.xml", "application/rss+xml", ""},
		{"server default utf-8 in front of GBK", "stcn.xml", "text/xml; charset=utf-8", ""},
		{"no declaration, HTTP charset", "stcn_nodecl.xml", "text/xml; charset=GBK", ""},
		{"no declaration, operator override", "stcn_nodecl.xml", "application/xml", "gbk"},
		{"override beats a wrong HTTP charset", "stcn.xml", "text/xml; charset=iso-8859-1", "gb18030"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := mustParse(t, readFixture(t, c.file), c.contentType, c.override, stcnURL, shanghai(t))
			noMojibake(t, f)
			if f.Title != "证券时报网-要闻" {
				t.Errorf("feed title = %q", f.Title)
			}
			if len(f.Items) != len(stcnTitles) {
				t.Fatalf("%d items, want %d", len(f.Items), len(stcnTitles))
			}
			for i, want := range stcnTitles {
				if f.Items[i].Title != want {
					t.Errorf("item %d title = %q, want %q", i, f.Items[i].Title, want)
				}
			}
			if a := f.Items[0].Author; a != "证券时报记者 王一" {
				t.Errorf("author = %q", a)
			}
			if c := f.Items[1].Content; !strings.Contains(c, "生僻字测试：䶮") {
				t.Errorf("rare character lost: %q", c)
			}
			if f.Language != "zh-cn" {
				t.Errorf("language = %q", f.Language)
			}
		})
	}
	// Without any charset information the GBK bytes are detected as
	// GB18030 (its superset: the rare character too), and the feed says
	// that its charset was guessed.
	f := mustParse(t, readFixture(t, "stcn_nodecl.xml"), "", "", stcnURL, shanghai(t))
	noMojibake(t, f)
	if f.Title != "证券时报网-要闻" || len(f.Items) != len(stcnTitles) || f.Items[0].Title != stcnTitles[0] ||
		!strings.Contains(f.Items[1].Content, "生僻字测试：䶮") {
		t.Errorf("undeclared GBK: title %q, %d items", f.Title, len(f.Items))
	}
	if want := "charset not declared; read as gb18030 (detected, confidence 100%)"; len(f.Warnings) != 1 || f.Warnings[0] != want {
		t.Errorf("undeclared GBK: warnings %q, want [%q]", f.Warnings, want)
	}
}

func TestParseUnknownCharsetOverride(t *testing.T) {
	_, err := Parse(readFixture(t, "stcn.xml"), "", "big-5-ish", stcnURL, shanghai(t))
	if err == nil || !strings.Contains(err.Error(), "big-5-ish") {
		t.Errorf("err = %v, want an error naming the charset", err)
	}
}

func TestParseZonelessDatesInSourceZone(t *testing.T) {
	f := mustParse(t, readFixture(t, "stcn.xml"), "", "", stcnURL, shanghai(t))
	want := []time.Time{
		time.Date(2026, 11, 26, 1, 30, 0, 0, time.UTC), // 2026-11-26 09:30:00
		time.Date(2026, 11, 26, 1, 15, 0, 0, time.UTC), // 2026-11-26 09:15:00
		time.Date(2026, 11, 25, 6, 5, 0, 0, time.UTC),  // 2026年11月25日 14:05
	}
	for i, w := range want {
		if got := f.Items[i].Published; !got.Equal(w) {
			t.Errorf("item %d published %v, want %v", i, got.UTC(), w)
		}
	}
	// The same feed from a source configured in UTC reads the wall
	// clock as UTC: the source's zone is what moves the instant.
	f = mustParse(t, readFixture(t, "stcn.xml"), "", "", stcnURL, time.UTC)
	if got, w := f.Items[0].Published, time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC); !got.Equal(w) {
		t.Errorf("in UTC: published %v, want %v", got, w)
	}
}

func rssWithDate(raw string) []byte {
	return []byte(`<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>` +
		`<lastBuildDate>` + raw + `</lastBuildDate>` +
		`<item><title>x</title><guid>g</guid><pubDate>` + raw + `</pubDate></item></channel></rss>`)
}

func TestParseDates(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	sh := shanghai(t)
	at0130 := time.Date(2026, 11, 26, 1, 30, 0, 0, time.UTC) // 09:30 in Shanghai
	cases := []struct {
		raw  string
		loc  *time.Location
		want time.Time
	}{
		{"2026-11-26 09:30:00", sh, at0130},
		{"2026-11-26 09:30", sh, at0130},
		{"2026-11-26T09:30:00", sh, at0130},
		{"2026/11/26 09:30", sh, at0130},
		{"2026/11/26 09:30:00", sh, at0130},
		{"2026年11月26日 09:30", sh, at0130},
		{"2026年11月26日 09:30:00", sh, at0130},
		{"2026年11月26日09:30", sh, at0130},
		{"2026-11-26 9:30:00", sh, at0130},
		{"  2026-11-26 09:30:00\n", sh, at0130},
		{"2026-11-26", sh, time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)},
		{"2026年11月26日", sh, time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)},
		{"2026-11-26 09:30:00", time.UTC, time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)},
		// RSS's own date with the zone left out: in the source's zone too.
		{"Thu, 26 Nov 2026 09:30:00", sh, at0130},
		{"Thu, 26 Nov 2026 09:30", sh, at0130},
		{"26 Nov 2026 09:30:00", sh, at0130},
		{"Thu, 26 Nov 2026 09:30:00", chicago, time.Date(2026, 11, 26, 15, 30, 0, 0, time.UTC)},
		// Beijing time written as an offset from GMT or UTC.
		{"Thu, 26 Nov 2026 09:30:00 GMT+8", time.UTC, at0130},
		{"Thu, 26 Nov 2026 09:30:00 GMT+08:00", time.UTC, at0130},
		{"Thu, 26 Nov 2026 09:30:00 UTC+8", time.UTC, at0130},
		{"2026-11-26 09:30:00 GMT+0800", time.UTC, at0130},
		{"Wed, 25 Nov 2026 20:30:00 GMT-5", sh, at0130},
		// CST is China Standard Time in a Chinese source ...
		{"Thu, 26 Nov 2026 09:30:00 CST", sh, at0130},
		{"26 Nov 2026 09:30:00 CST", sh, at0130},
		{"2026-11-26 09:30:00 CST", sh, at0130},
		// ... and US Central elsewhere.
		{"Thu, 26 Nov 2026 09:30:00 CST", chicago, time.Date(2026, 11, 26, 15, 30, 0, 0, time.UTC)},
		// Explicit zones are kept whatever the source's zone.
		{"Thu, 26 Nov 2026 09:30:00 +0800", time.UTC, at0130},
		{"Thu, 26 Nov 2026 01:30:00 GMT", sh, at0130},
		{"2026-11-26T09:30:00+08:00", time.UTC, at0130},
		{"2026-11-26T01:30:00Z", sh, at0130},
		// RFC 822's two-digit years, which RSS 2.0 allows.
		{"Fri, 31 Dec 99 23:59:59 GMT", sh, time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"31 Dec 99 23:59:59 +0000", sh, time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"Thu, 26 Nov 26 09:30 +0800", time.UTC, at0130},
		{"26 Nov 26 09:30:00", sh, at0130},
		{"Wed, 25 Nov 26 12:30:00 EST", sh, time.Date(2026, 11, 25, 17, 30, 0, 0, time.UTC)},
		{"Thu, 26 Nov 26 09:30:00 CST", sh, at0130},
		{"Thu, 26 Nov 26 09:30:00 CST", chicago, time.Date(2026, 11, 26, 15, 30, 0, 0, time.UTC)},
		// Nonsense is no date, not an error.
		{"sometime last week", sh, time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.raw+"@"+c.loc.String(), func(t *testing.T) {
			f := mustParse(t, rssWithDate(c.raw), "", "", "https://example.com/feed", c.loc)
			if got := f.Items[0].Published; !got.Equal(c.want) {
				t.Errorf("item published %v, want %v", got.UTC(), c.want.UTC())
			}
			if got := f.Updated; !got.Equal(c.want) {
				t.Errorf("feed updated %v, want %v", got.UTC(), c.want.UTC())
			}
		})
	}
}

func TestParseAtomZonelessDate(t *testing.T) {
	doc := `<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:x</id><title>t</title>
<entry><id>urn:x:1</id><title>e</title><updated>2026-11-26 09:30:00</updated><published>2026年11月25日 14:05</published></entry></feed>`
	f := mustParse(t, []byte(doc), "application/atom+xml", "", "https://example.com/atom", shanghai(t))
	it := f.Items[0]
	if w := time.Date(2026, 11, 26, 1, 30, 0, 0, time.UTC); !it.Updated.Equal(w) {
		t.Errorf("updated %v, want %v", it.Updated.UTC(), w)
	}
	if w := time.Date(2026, 11, 25, 6, 5, 0, 0, time.UTC); !it.Published.Equal(w) {
		t.Errorf("published %v, want %v", it.Published.UTC(), w)
	}
}

// A caller that has no zone for a source must not crash the process.
func TestParseNilLocation(t *testing.T) {
	f := mustParse(t, rssWithDate("2026-11-26 09:30:00"), "", "", "https://example.com/feed", nil)
	if w := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC); !f.Items[0].Published.Equal(w) {
		t.Errorf("published %v, want %v (UTC)", f.Items[0].Published, w)
	}
	mustParse(t, rssWithDate("Thu, 26 Nov 2026 09:30:00 CST"), "", "", "https://example.com/feed", nil)
}

func TestParseRelativeLinks(t *testing.T) {
	t.Run("RSS without xml:base resolves against the feed URL", func(t *testing.T) {
		f := mustParse(t, readFixture(t, "relative.rss"), "", "", "https://example.com/news/feed.xml", time.UTC)
		if f.SiteURL != "https://example.com/news/" {
			t.Errorf("SiteURL = %q", f.SiteURL)
		}
		it := f.Items[0]
		if it.Link != "https://example.com/news/detail/7.html" {
			t.Errorf("link = %q", it.Link)
		}
		for _, want := range []string{
			`src="https://example.com/news/img/a.png"`,
			`href="https://example.com/other.html"`,
		} {
			if !strings.Contains(it.Content, want) {
				t.Errorf("content lacks %s: %s", want, it.Content)
			}
		}
		if l := f.Items[1].Link; l != "https://example.com/news/detail/8.html" {
			t.Errorf("root-relative link = %q", l)
		}
	})
	t.Run("GBK example", func(t *testing.T) {
		f := mustParse(t, readFixture(t, "stcn.xml"), "", "", stcnURL, shanghai(t))
		if l := f.Items[0].Link; l != "https://www.stcn.com/article/detail/1000001.html" {
			t.Errorf("link = %q", l)
		}
	})
	t.Run("Atom xml:base beats the feed URL", func(t *testing.T) {
		// Served from another host than its xml:base.
		f := mustParse(t, readFixture(t, "cnstock.atom"), "application/atom+xml", "", "https://mirror.example.net/feeds/cnstock.atom", shanghai(t))
		it := f.Items[0]
		if it.Link != "https://news.cnstock.com/news,yw-202611-5500001.htm" {
			t.Errorf("link = %q", it.Link)
		}
		if !strings.Contains(it.Content, `src="https://news.cnstock.com/images/kcb.jpg"`) {
			t.Errorf("content image not resolved against xml:base: %s", it.Content)
		}
		if strings.Contains(it.Content, "mirror.example.net") {
			t.Errorf("content resolved against the feed URL: %s", it.Content)
		}
	})
	t.Run("RSS xml:base beats the feed URL for links", func(t *testing.T) {
		f := mustParse(t, readFixture(t, "xmlbase.rss"), "", "", "https://mirror.example.net/x/feed.xml", time.UTC)
		if l := itemByTitle(t, f, "one").Link; l != "https://base.example/dir/one.html" {
			t.Errorf("channel xml:base: link = %q", l)
		}
		if l := itemByTitle(t, f, "two").Link; l != "https://items.example/sub/two.html" {
			t.Errorf("item xml:base: link = %q", l)
		}
	})
	t.Run("Atom without xml:base resolves against the feed URL", func(t *testing.T) {
		doc := `<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:x</id><title>t</title>
<entry><id>urn:x:1</id><title>e</title><link href="posts/1.html"/><content type="html">&lt;img src="/i.png"&gt;</content></entry></feed>`
		f := mustParse(t, []byte(doc), "", "", "https://example.org/blog/atom.xml", time.UTC)
		if l := f.Items[0].Link; l != "https://example.org/blog/posts/1.html" {
			t.Errorf("link = %q", l)
		}
		if c := f.Items[0].Content; !strings.Contains(c, `src="https://example.org/i.png"`) {
			t.Errorf("content = %q", c)
		}
	})
	t.Run("JSON Feed relative url resolves against the feed URL", func(t *testing.T) {
		doc := `{"version":"https://jsonfeed.org/version/1.1","title":"t","items":[{"id":"1","url":"/a/1.html","content_html":"<img src=\"p.png\">"}]}`
		f := mustParse(t, []byte(doc), "application/feed+json", "", "https://example.org/feeds/feed.json", time.UTC)
		if l := f.Items[0].Link; l != "https://example.org/a/1.html" {
			t.Errorf("link = %q", l)
		}
		if c := f.Items[0].Content; !strings.Contains(c, `src="https://example.org/feeds/p.png"`) {
			t.Errorf("content = %q", c)
		}
	})
	t.Run("file:// source resolves against its own site link", func(t *testing.T) {
		doc := `<rss version="2.0"><channel><title>t</title><link>https://site.example/news/</link>
<item><title>a</title><link>a.html</link><description>&lt;img src="i.png"&gt;</description></item></channel></rss>`
		f := mustParse(t, []byte(doc), "", "", "file:///var/lib/scraper/out.xml", time.UTC)
		if l := f.Items[0].Link; l != "https://site.example/news/a.html" {
			t.Errorf("link = %q", l)
		}
		if c := f.Items[0].Content; !strings.Contains(c, `src="https://site.example/news/i.png"`) {
			t.Errorf("content = %q", c)
		}
		if strings.Contains(f.Items[0].Link+f.Items[0].Content, "file:") {
			t.Error("a file: URL leaked into the item")
		}
	})
}

var unsafeHTML = regexp.MustCompile(`(?i)<script|onerror|onclick|javascript:|<iframe|style=|alert\(|steal\(`)

func TestParseSanitizesAfterResolving(t *testing.T) {
	f := mustParse(t, readFixture(t, "stcn.xml"), "", "", stcnURL, shanghai(t))
	first := f.Items[0].Content
	if m := unsafeHTML.FindString(first); m != "" {
		t.Errorf("unsafe %q left in content: %s", m, first)
	}
	for _, want := range []string{
		`<img src="https://www.stcn.com/img/chart.png"`,
		`href="https://www.stcn.com/article/detail/1000000.html"`,
		"早盘三大指数集体高开",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("content lacks %s: %s", want, first)
		}
	}
	third := f.Items[2].Content
	if strings.Contains(third, "javascript:") || !strings.Contains(third, "点击") {
		t.Errorf("javascript: link not defused, or its text lost: %s", third)
	}

	f = mustParse(t, readFixture(t, "relative.rss"), "", "", "https://example.com/news/feed.xml", time.UTC)
	c := f.Items[0].Content
	if m := unsafeHTML.FindString(c); m != "" {
		t.Errorf("unsafe %q left in content: %s", m, c)
	}
	for _, want := range []string{"正文", "相关", "红", `<img src="https://example.com/news/img/a.png"`} {
		if !strings.Contains(c, want) {
			t.Errorf("content lacks %s: %s", want, c)
		}
	}
	// Sanitizing also applies to a summary kept beside the content.
	doc := `<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:x</id><title>t</title><entry><id>urn:x:1</id><title>e</title>
<summary type="html">&lt;p&gt;s&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;</summary>
<content type="html">&lt;p onmouseover="x()"&gt;c&lt;/p&gt;</content></entry></feed>`
	f = mustParse(t, []byte(doc), "", "", "https://example.org/atom", time.UTC)
	it := f.Items[0]
	if it.Content != "<p>c</p>" || it.Summary != "<p>s</p>" {
		t.Errorf("content %q, summary %q", it.Content, it.Summary)
	}
}

func TestParseTitlesBecomeText(t *testing.T) {
	f := mustParse(t, readFixture(t, "cnstock.atom"), "", "", "https://news.cnstock.com/atom.xml", shanghai(t))
	if got := f.Items[0].Title; got != "科创板两周年：新增上市公司超百家" {
		t.Errorf("Atom type=html title = %q", got)
	}
	f = mustParse(t, readFixture(t, "relative.rss"), "", "", "https://example.com/news/feed.xml", time.UTC)
	if f.Title != "相对链接 & 净化" {
		t.Errorf("feed title = %q", f.Title)
	}
	if got := f.Items[0].Title; got != "标题 带标记 & 空白" {
		t.Errorf("RSS title with markup = %q", got)
	}
	// An item without a title borrows the start of its text.
	if got := f.Items[1].Title; got != "没有标题的条目正文" {
		t.Errorf("untitled item title = %q", got)
	}
	doc := `<rss version="2.0"><channel><title>t</title>
<item><guid>1</guid><title>&lt;script&gt;alert(1)&lt;/script&gt;News &amp;amp; &lt;em&gt;Views&lt;/em&gt;</title></item></channel></rss>`
	f = mustParse(t, []byte(doc), "", "", "https://example.org/rss", time.UTC)
	if got := f.Items[0].Title; strings.Contains(got, "<") || strings.Contains(got, "alert") || got != "News & Views" {
		t.Errorf("title = %q, want %q", got, "News & Views")
	}
}

func TestParseIdentity(t *testing.T) {
	parse := func() *Feed {
		return mustParse(t, readFixture(t, "identity.rss"), "", "", "https://example.com/feed.xml", shanghai(t))
	}
	f := parse()
	if got := itemByTitle(t, f, "guid").Identity; got != "abc-1" {
		t.Errorf("guid item: identity %q, want the guid", got)
	}
	if got := itemByTitle(t, f, "link").Identity; got != "https://news.example.com/a/B.html#comments" {
		t.Errorf("link item: identity %q, want the whole link (host lower-cased, default port dropped)", got)
	}
	// The same page with another fragment is another item: one archive
	// page with one #anchor per post is many posts.
	if got := itemByTitle(t, f, "same link again").Identity; got != "https://news.example.com/a/B.html#top" {
		t.Errorf("same page, other fragment: identity %q, want its whole link", got)
	}
	if got := itemByTitle(t, f, "relative").Identity; got != "https://example.com/rel.html" {
		t.Errorf("relative link item: identity %q", got)
	}

	var bare []Item
	for _, it := range f.Items {
		if it.GUID == "" && it.Link == "" {
			bare = append(bare, it)
		}
	}
	if len(bare) != 3 {
		t.Fatalf("%d items without guid or link, want 3", len(bare))
	}
	hashID := regexp.MustCompile(`^sha256:[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for _, it := range bare {
		if !hashID.MatchString(it.Identity) {
			t.Errorf("identity %q is not a sha256: hash", it.Identity)
		}
		if seen[it.Identity] {
			t.Errorf("items differing in title or date share identity %q", it.Identity)
		}
		seen[it.Identity] = true
	}
	// Identities are stable from one poll to the next.
	g := parse()
	if len(g.Items) != len(f.Items) {
		t.Fatal("second parse differs")
	}
	for i := range f.Items {
		if f.Items[i].Identity != g.Items[i].Identity || f.Items[i].Hash != g.Items[i].Hash {
			t.Errorf("item %d: identity/hash not stable across parses", i)
		}
	}
}

func TestParseHashFollowsVisibleChanges(t *testing.T) {
	doc := func(title, body string) []byte {
		return []byte(`<rss version="2.0"><channel><title>t</title><item><guid>g1</guid><title>` + title +
			`</title><description>` + body + `</description></item></channel></rss>`)
	}
	a := mustParse(t, doc("标题", "正文"), "", "", "https://example.org/rss", time.UTC).Items[0]
	b := mustParse(t, doc("标题", "正文（更正）"), "", "", "https://example.org/rss", time.UTC).Items[0]
	c := mustParse(t, doc("新标题", "正文"), "", "", "https://example.org/rss", time.UTC).Items[0]
	if a.Identity != b.Identity || a.Identity != c.Identity {
		t.Error("an edit changed the item's identity")
	}
	if a.Hash == b.Hash || a.Hash == c.Hash {
		t.Error("an edit left the hash unchanged")
	}
}

func TestParseNotAFeed(t *testing.T) {
	page := readFixture(t, "page.html")
	cases := []struct {
		name, contentType string
		body              []byte
		mention           string
	}{
		{"HTML page served as text/html", "text/html; charset=utf-8", page, "text/html"},
		{"HTML page without content type", "", page, "text/html"},
		{"HTML page claiming to be XML", "application/rss+xml", page, "text/html"},
		{"HTML with leading comment", "", []byte("<!-- cached -->\n<html><body>x</body></html>"), "text/html"},
		{"JSON error object", "application/json", readFixture(t, "error.json"), "JSON"},
		{"JSON object without version", "", []byte(`{"title":"t","items":[]}`), "JSON"},
		{"JSON array", "application/json", []byte(`[{"title":"t"}]`), "JSON"},
		{"JSON with a non-string version", "application/json", []byte(`{"version":1.1}`), "JSON"},
		{"plain text", "text/plain", []byte("Service temporarily unavailable"), "text/plain"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(c.body, c.contentType, "", "https://example.com/feed", time.UTC)
			if !errors.Is(err, ErrNotAFeed) {
				t.Fatalf("err = %v, want ErrNotAFeed", err)
			}
			if f != nil {
				t.Errorf("got a feed alongside the error: %+v", f)
			}
			if !strings.Contains(err.Error(), c.mention) {
				t.Errorf("err = %q, want it to mention %q", err, c.mention)
			}
		})
	}
}

func TestParseBrokenBodies(t *testing.T) {
	cases := []struct {
		name    string
		body    []byte
		mention string
	}{
		{"empty", nil, "empty"},
		{"whitespace", []byte(" \r\n\t "), "empty"},
		{"truncated XML", readFixture(t, "truncated.xml"), "EOF"},
		{"truncated GBK XML", readFixture(t, "stcn.xml")[:700], "EOF"},
		{"truncated JSON Feed", []byte(`{"version":"https://jsonfeed.org/version/1.1","items":[{"id":"1"`), "JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse(c.body, "", "", "https://example.com/feed", time.UTC)
			if err == nil {
				t.Fatalf("no error; feed %+v", f)
			}
			if f != nil {
				t.Errorf("got a feed alongside the error")
			}
			if errors.Is(err, ErrNotAFeed) {
				t.Errorf("a broken feed reported as not a feed: %v", err)
			}
			if !strings.Contains(err.Error(), c.mention) {
				t.Errorf("err = %q, want it to mention %q", err, c.mention)
			}
		})
	}
}

func TestParseJSONFeed11(t *testing.T) {
	f := mustParse(t, readFixture(t, "eastmoney.json"), "application/feed+json", "", "https://finance.eastmoney.com/feed.json", shanghai(t))
	noMojibake(t, f)
	if f.Title != "东方财富网-财经导读" || f.SiteURL != "https://finance.eastmoney.com/" {
		t.Errorf("feed = %q %q", f.Title, f.SiteURL)
	}
	if len(f.Items) != 2 {
		t.Fatalf("%d items, want 2", len(f.Items))
	}
	first, second := f.Items[0], f.Items[1]
	if first.Identity != "em-202611260001" || first.Link != "https://finance.eastmoney.com/a/202611260001.html" {
		t.Errorf("first item identity %q link %q", first.Identity, first.Link)
	}
	if first.Title != "多家券商上调年末目标点位" || first.Content != "<p>多家券商发布策略报告，上调年末目标点位。</p>" {
		t.Errorf("first item %q %q", first.Title, first.Content)
	}
	if first.Author != "东方财富研究中心" { // JSON Feed 1.1 "authors"
		t.Errorf("author = %q", first.Author)
	}
	if w := time.Date(2026, 11, 25, 23, 45, 0, 0, time.UTC); !first.Published.Equal(w) {
		t.Errorf("published %v, want %v", first.Published.UTC(), w)
	}
	if !strings.Contains(second.Content, "在岸人民币对美元小幅走强") { // content_text only
		t.Errorf("content_text lost: %q", second.Content)
	}
}

func TestParseFeedID(t *testing.T) {
	f := mustParse(t, readFixture(t, "cnstock.atom"), "", "", "https://news.cnstock.com/atom.xml", shanghai(t))
	noMojibake(t, f)
	if f.ID != "tag:cnstock.com,2026:news" {
		t.Errorf("Atom feed ID = %q, want its <id>", f.ID)
	}
	if f.Title != "上海证券报·中国证券网" || len(f.Items) != 2 {
		t.Errorf("feed %q with %d items", f.Title, len(f.Items))
	}
	if w := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC); !f.Updated.Equal(w) {
		t.Errorf("feed updated %v, want %v", f.Updated.UTC(), w)
	}
	if cats := f.Items[0].Categories; len(cats) != 1 || cats[0] != "科创板" {
		t.Errorf("categories = %q", cats)
	}
	// RSS has no feed id: the site link stands in, else the polled URL.
	f = mustParse(t, readFixture(t, "stcn.xml"), "", "", stcnURL, shanghai(t))
	if f.ID != "https://www.stcn.com/article/list/yw.html" {
		t.Errorf("RSS feed ID = %q, want its site link", f.ID)
	}
	f = mustParse(t, []byte(`<rss version="2.0"><channel><title>t</title></channel></rss>`), "", "", "https://example.org/rss", time.UTC)
	if f.ID != "https://example.org/rss" {
		t.Errorf("link-less RSS feed ID = %q, want the feed URL", f.ID)
	}
}

// fuzzSeeds are every fixture of this package and of examples/feeds, and
// every file of the real-world corpus (testdata/corpus/<group>/*).
func fuzzSeeds(f *testing.F) [][]byte {
	var out [][]byte
	for _, pattern := range []string{"testdata/*", "../examples/feeds/*", "testdata/corpus/*/*"} {
		names, _ := filepath.Glob(pattern)
		for _, name := range names {
			if st, err := os.Stat(name); err != nil || st.IsDir() || strings.HasSuffix(name, ".py") {
				continue
			}
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		f.Fatal("no fuzz seeds found")
	}
	return out
}

func FuzzParse(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		for _, ct := range []string{"", "application/rss+xml", "text/xml; charset=gbk", "text/html", "application/feed+json; charset=utf-8"} {
			f.Add(seed, ct)
		}
	}
	f.Add(rssWithDate("Thu, 26 Nov 2026 09:30:00 CST"), "text/xml; charset=utf-16")
	f.Add([]byte("\xff\xfe<\x00?\x00"), "")
	f.Add([]byte(`<?xml version="1.0" encoding="klingon"?><rss/>`), "text/xml; charset=\"")
	loc := shanghai(f)
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		feed, err := Parse(body, contentType, "", "https://example.com/feeds/feed.xml", loc)
		if err == nil && feed == nil {
			t.Fatal("Parse returned neither a feed nor an error")
		}
	})
}

// A feed that reuses one guid for two different posts (feedvalidator's
// guid_duplicate_value case) keeps both, each with an identity that stays
// the same from poll to poll; the same entry listed twice is kept once.
func TestParseIdentity_ReusedGUID(t *testing.T) {
	body, err := os.ReadFile("testdata/corpus/edge/feedvalidator__rss20__element-channel-item-guid__guid_duplicate_value.xml")
	if err != nil {
		t.Fatal(err)
	}
	f := mustParse(t, body, "", "", "https://example.com/feed.xml", time.UTC)
	if len(f.Items) != 2 || f.Items[0].Title != "foo" || f.Items[1].Title != "bar" {
		t.Fatalf("items %+v, want foo and bar", f.Items)
	}
	if !strings.HasPrefix(f.Items[0].Identity, "http://example.com/weblog/123#") || f.Items[1].Identity == f.Items[0].Identity {
		t.Errorf("identities %q and %q", f.Items[0].Identity, f.Items[1].Identity)
	}
	again := mustParse(t, body, "", "", "https://example.com/feed.xml", time.UTC)
	if again.Items[1].Identity != f.Items[1].Identity {
		t.Error("the second post's identity changes from poll to poll")
	}
	twice := `<rss version="2.0"><channel><title>t</title>
<item><guid>g1</guid><title>一</title><link>https://example.com/1</link></item>
<item><guid>g1</guid><title>一</title><link>https://example.com/1</link></item></channel></rss>`
	if f := mustParse(t, []byte(twice), "", "", "https://example.com/feed.xml", time.UTC); len(f.Items) != 1 {
		t.Errorf("the same entry listed twice: %d items, want 1", len(f.Items))
	}
}

// A relative link is never resolved against a base that is not a web page:
// a local file's feed naming a javascript: site link must not turn
// <a href="#notes"> into a script.
func TestParse_NoScriptBase(t *testing.T) {
	doc := `<rss version="2.0"><channel><title>t</title><link>javascript:alert(document.domain)//</link>
<item><guid>1</guid><title>x</title><description>&lt;a href="#notes"&gt;see notes&lt;/a&gt; &lt;a href="x"&gt;x&lt;/a&gt;</description></item></channel></rss>`
	f := mustParse(t, []byte(doc), "", "", "file:///var/lib/scraper/out.xml", time.UTC)
	if c := f.Items[0].Content; strings.Contains(c, "javascript") {
		t.Errorf("content %q holds a javascript: URL", c)
	}
	f = mustParse(t, []byte(doc), "", "", "https://example.org/feed.xml", time.UTC)
	if c := f.Items[0].Content; strings.Contains(c, "javascript") || !strings.Contains(c, `href="https://example.org/x"`) {
		t.Errorf("content %q: want links resolved against the feed's own URL", c)
	}
}

// Who wrote each entry, as a reader should show it: the entry's authors,
// all of them, else the feed's (RFC 4287 §4.2.1; JSON Feed's top-level
// authors).
func TestParseAuthors(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      []string // each item's author
	}{
		{"atom", `<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:b</id><title>Blog</title><author><name>Feed Owner</name></author>
<entry><id>urn:b:1</id><title>Post A</title><updated>2026-11-26T09:30:00Z</updated></entry>
<entry><id>urn:b:2</id><title>Post B</title><updated>2026-11-26T09:30:00Z</updated><author><name>Carol</name></author><author><name>Dave</name></author><author><name>Carol</name></author></entry>
<entry><id>urn:b:3</id><title>Post C</title><updated>2026-11-26T09:30:00Z</updated><author><email>erin@example.org</email></author></entry></feed>`,
			[]string{"Feed Owner", "Carol, Dave", "erin@example.org"}},
		{"json", `{"version":"https://jsonfeed.org/version/1.1","title":"J","authors":[{"name":"Root Author 1"},{"name":"Root Author 2"}],
"items":[{"id":"1","content_text":"x","authors":[{"name":"Item Author 1"},{"name":"Item Author 2"}]},{"id":"2","content_text":"y"}]}`,
			[]string{"Item Author 1, Item Author 2", "Root Author 1, Root Author 2"}},
		{"rss", `<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>P</title>
<item><guid>1</guid><title>Ep 1</title><dc:creator>Alice</dc:creator><dc:creator>Bob</dc:creator></item>
<item><guid>2</guid><title>Ep 2</title></item></channel></rss>`,
			[]string{"Alice, Bob", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mustParse(t, []byte(tc.doc), "", "", "https://example.org/feed", time.UTC)
			var got []string
			for _, it := range f.Items {
				got = append(got, it.Author)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("authors %q, want %q", got, tc.want)
			}
		})
	}
}

// Content a feed declares plain text shows as the text it is: its "<b>"
// is not a tag (which would bold the rest of the entry in a reader), its
// line breaks stay.
func TestParsePlainTextContent(t *testing.T) {
	for _, tc := range []struct {
		name, doc        string
		content, summary string
	}{
		{"atom text", `<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:t</id><title>t</title>
<entry><id>urn:t:1</id><title>e</title><updated>2026-11-26T09:30:00Z</updated><content type="text">a &lt;b&gt; not bold</content></entry></feed>`,
			"a &lt;b&gt; not bold", ""},
		{"atom html", `<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:t</id><title>t</title>
<entry><id>urn:t:1</id><title>e</title><updated>2026-11-26T09:30:00Z</updated><content type="html">a &lt;b&gt;bold&lt;/b&gt;</content></entry></feed>`,
			"a <b>bold</b>", ""},
		{"json text", `{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"1","content_text":"用 <b> 标签 and x < y > z\n第二行","summary":"<i>摘要</i>"}]}`,
			"用 &lt;b&gt; 标签 and x &lt; y &gt; z<br>第二行", "&lt;i&gt;摘要&lt;/i&gt;"},
		{"json html", `{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"1","content_html":"<p>段落</p>","content_text":"段落"}]}`,
			"<p>段落</p>", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it := mustParse(t, []byte(tc.doc), "", "", "https://example.org/feed", time.UTC).Items[0]
			if it.Content != tc.content || it.Summary != tc.summary {
				t.Errorf("content %q, summary %q; want %q, %q", it.Content, it.Summary, tc.content, tc.summary)
			}
		})
	}
}

// A JSON Feed's titles written with HTML's character references, as
// WordPress writes them, read as the characters they stand for.
func TestParseJSONFeedTitleReferences(t *testing.T) {
	f := mustParse(t, []byte(`{"version":"https://jsonfeed.org/version/1.1","title":"Blog &#8211; InfluxData",
"items":[{"id":"1","title":"FCC Says Releasing &#8216;Jokes&#8217; AT&T","content_text":"x"},{"id":"2","title":"&lt;b&gt; explained","content_text":"y"}]}`),
		"", "", "https://example.org/feed.json", time.UTC)
	if f.Title != "Blog – InfluxData" {
		t.Errorf("feed title %q", f.Title)
	}
	if got := []string{f.Items[0].Title, f.Items[1].Title}; !slices.Equal(got, []string{"FCC Says Releasing ‘Jokes’ AT&T", "<b> explained"}) {
		t.Errorf("titles %q", got)
	}
}

// A footnote link ("#fn1") opens the footnote in the article's page, not
// the feed document the item's relative links are resolved against.
func TestParseInPageLinksPointAtTheArticle(t *testing.T) {
	f := mustParse(t, []byte(`{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"1","url":"https://daringfireball.net/2017/06/x#top",
"content_html":"<p>Text<sup><a href=\"#fn1-2017\">1</a></sup>, <a href=\"other.html\">other</a>, <a href=\"#\">top</a>.</p>"}]}`),
		"", "", "https://example.org/feeds/df.json", time.UTC)
	want := `<p>Text<sup><a href="https://daringfireball.net/2017/06/x#fn1-2017" rel="nofollow">1</a></sup>, <a href="https://example.org/feeds/other.html" rel="nofollow">other</a>, top.</p>`
	if got := f.Items[0].Content; got != want {
		t.Errorf("content\n%s\nwant\n%s", got, want)
	}
}
