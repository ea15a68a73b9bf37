package opml

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

func parseFile(t *testing.T, name string) []Feed {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	feeds, err := Parse(f)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return feeds
}

func checkFeeds(t *testing.T, got, want []Feed) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d feeds, want %d", len(got), len(want))
	}
	for i := 0; i < len(got) && i < len(want); i++ {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("feed %d:\n got %#v\nwant %#v", i, got[i], want[i])
		}
	}
}

// A Miniflux export: one level of categories, a feed listed in two of them
// (merged), and titles with ':', '#' and '&'.
func TestParseMiniflux(t *testing.T) {
	checkFeeds(t, parseFile(t, "miniflux.opml"), []Feed{
		{"证券时报网", "https://rsshub.app/stcn/yw", "https://www.stcn.com/", []string{"财经"}},
		{"东方财富网: 要闻精华", "https://rsshub.app/eastmoney/report/strategyreport", "https://www.eastmoney.com/", []string{"财经"}},
		{"华尔街见闻 #实时快讯", "https://rsshub.app/wallstreetcn/live/global", "https://wallstreetcn.com/live/global", []string{"财经"}},
		{"The Go Blog", "https://go.dev/blog/feed.atom", "https://go.dev/blog/", []string{"Tech & Programming", "All"}},
		{"Hacker News: Front Page", "https://hnrss.org/frontpage?points=100&comments=25", "https://news.ycombinator.com/", []string{"Tech & Programming"}},
		{"LWN.net", "https://lwn.net/headlines/rss", "https://lwn.net", []string{"Tech & Programming"}},
		{"Daring Fireball", "https://daringfireball.net/feeds/main", "https://daringfireball.net/", []string{"All"}},
	})
}

// newsboat's `-e` export: OPML 1.0, flat, titles in the title attribute,
// one of them empty.
func TestParseFlat(t *testing.T) {
	checkFeeds(t, parseFile(t, "newsboat.opml"), []Feed{
		{"LWN.net", "https://lwn.net/headlines/rss", "https://lwn.net", nil},
		{"证券时报网 – 要闻", "https://www.stcn.com/rss/yw.xml", "https://www.stcn.com/", nil},
		{"", "https://blog.rust-lang.org/feed.xml", "", nil},
		{"xkcd.com", "https://xkcd.com/atom.xml", "https://xkcd.com/", nil},
	})
}

// A FreshRSS export with nested folders, category attributes and frss:
// extensions (whose frss:category is not the standard attribute).
func TestParseFreshRSSNested(t *testing.T) {
	checkFeeds(t, parseFile(t, "freshrss.opml"), []Feed{
		{"FreshRSS releases", "https://github.com/FreshRSS/FreshRSS/releases.atom", "https://github.com/FreshRSS/FreshRSS/", []string{"Sans catégorie"}},
		{"BBC News - World", "https://feeds.bbci.co.uk/news/world/rss.xml", "https://www.bbc.co.uk/news/", []string{"News", "World"}},
		{"Reuters", "https://www.reutersagency.com/feed/", "https://www.reuters.com/", []string{"News", "World", "Wire services"}},
		{"中国新闻网 财经", "https://www.chinanews.com.cn/rss/finance.xml", "https://www.chinanews.com.cn/", []string{"News", "中国"}},
		{"Julia Evans", "https://jvns.ca/atom.xml", "https://jvns.ca/", []string{"Blogs", "Linux", "Zines"}},
		{"Scraped", "https://example.org/news", "https://example.org/", []string{"Blogs"}},
	})
}

// A GBK file declared as such, holding a character (镕) outside GB 2312.
func TestParseGBK(t *testing.T) {
	checkFeeds(t, parseFile(t, "gbk.opml"), []Feed{
		{"证券时报网", "https://rsshub.app/stcn/yw", "https://www.stcn.com/", []string{"财经"}},
		{"中国证券网：要闻", "https://news.cnstock.com/rss/yw.xml", "https://www.cnstock.com/", []string{"财经"}},
		{"朱镕基讲话实录", "https://example.cn/zhurongji.xml", "https://example.cn/", []string{"宏观与政策"}},
	})
}

const small = `<opml version="2.0"><body><outline text="财经"><outline text="证券时报网" xmlUrl="https://rsshub.app/stcn/yw"/></outline></body></opml>`

var smallFeeds = []Feed{{"证券时报网", "https://rsshub.app/stcn/yw", "", []string{"财经"}}}

// Other encodings and BOMs: each declaration (or BOM) must be honoured.
func TestParseEncodings(t *testing.T) {
	gb := func(label string) []byte {
		b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(`<?xml version="1.0" encoding="` + label + `"?>` + small))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	utf16 := func(e unicode.Endianness) []byte {
		b, err := unicode.UTF16(e, unicode.UseBOM).NewEncoder().Bytes([]byte(`<?xml version="1.0" encoding="UTF-16"?>` + small))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, data := range map[string][]byte{
		"gb2312":      gb("gb2312"),
		"GB18030":     gb("GB18030"),
		"utf-8 BOM":   append([]byte("\xEF\xBB\xBF"), `<?xml version="1.0" encoding="utf-8"?>`+small...),
		"utf-16be":    utf16(unicode.BigEndian),
		"utf-16le":    utf16(unicode.LittleEndian),
		"no decl":     []byte(small),
		"html entity": []byte(strings.Replace(small, "证券时报网", "证券时报网&nbsp;", 1)),
		"bare &":      []byte(strings.Replace(small, "stcn/yw", "stcn/yw?a=1&b=2&amp;c=3&#38;d=4", 1)),
	} {
		t.Run(name, func(t *testing.T) {
			got, err := Parse(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			switch name {
			case "html entity":
				got[0].Title = strings.TrimSuffix(got[0].Title, "\u00a0")
			case "bare &":
				if u := got[0].XMLURL; u != "https://rsshub.app/stcn/yw?a=1&b=2&c=3&d=4" {
					t.Errorf("URL %s", u)
				}
				got[0].XMLURL = smallFeeds[0].XMLURL
			}
			checkFeeds(t, got, smallFeeds)
		})
	}
}

// Attribute names in another case (xmlURL, htmlURL) as some exporters write
// them, white space in titles and URLs, and feeds nested in a feed.
func TestParseLenient(t *testing.T) {
	doc := `<?xml version="1.0"?>
<opml version="1.1"><head/><body>
  <outline title="  Folder
     one ">
    <outline text="" title=" A   feed " xmlURL=" https://a.example/rss " htmlURL="https://a.example/">
      <outline text="B" xmlUrl="https://b.example/rss" category="x/,/y/z/, ,"/>
    </outline>
    <outline text="   "><outline text="C" xmlUrl="https://c.example/rss"/></outline>
  </outline>
</body></opml>`
	got, err := Parse(strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	checkFeeds(t, got, []Feed{
		{"A feed", "https://a.example/rss", "https://a.example/", []string{"Folder one"}},
		{"B", "https://b.example/rss", "", []string{"Folder one", "x", "z"}},
		{"C", "https://c.example/rss", "", []string{"Folder one"}},
	})
}

func TestParseErrors(t *testing.T) {
	malformed, err := os.ReadFile("testdata/malformed.opml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"malformed file", string(malformed), "opml: XML syntax error on line 9: element <outline> closed by </outlin>"},
		{"truncated", "<opml>\n<body>\n<outline text='a'", "opml: XML syntax error on line 3: unexpected EOF"},
		{"empty", "", "opml: the document is empty"},
		{"blank", " \n\t", "opml: the document is empty"},
		{"not xml", "title,url\nGo,https://go.dev/blog/feed.atom\n", "opml: not an OPML document: no XML element in it"},
		{"html", "<!DOCTYPE html>\n<html><body><p>Not found</p></body></html>", "the root element is <html>"},
		{"rss", `<?xml version="1.0"?><rss version="2.0"><channel/></rss>`, "opml: not an OPML document: the root element is <rss>, not <opml>"},
		{"no body", `<opml version="2.0"><head><title>x</title></head></opml>`, "opml: no <body>"},
		{"unknown encoding", `<?xml version="1.0" encoding="x-klingon"?><opml/>`, `opml: xml: opening charset "x-klingon": unknown charset "x-klingon"`},
		{"bare & and mismatched tag", "<opml><body>\n<outline text=\"a\" xmlUrl=\"https://a.example/?a=1&b=2\"/>\n</bdy></opml>", "opml: XML syntax error on line 3: element <body> closed by </bdy>"},
		{"unknown entity", "<opml><body><outline text=\"&bogus;\"/></body></opml>", "opml: XML syntax error on line 1: invalid character entity &bogus;"},
		{"bad utf-8", "<opml><body><outline text=\"\xff\" xmlUrl=\"https://a.example/\"/></body></opml>", "opml: XML syntax error on line 1: invalid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			feeds, err := Parse(strings.NewReader(tc.doc))
			if err == nil {
				t.Fatalf("no error; feeds %v", feeds)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

// An OPML without feeds is a valid, empty list.
func TestParseNoFeeds(t *testing.T) {
	feeds, err := Parse(strings.NewReader(`<opml version="2.0"><head/><body><outline text="empty folder"/></body></opml>`))
	if err != nil || len(feeds) != 0 {
		t.Fatalf("got %v, %v; want no feeds, no error", feeds, err)
	}
}

var groups = []Group{
	{Title: "财经", Feeds: []Feed{
		{Title: "证券时报网", XMLURL: "https://rsshub.app/stcn/yw", HTMLURL: "https://www.stcn.com/"},
		{Title: `Quotes "&" <brackets>: #1`, XMLURL: "https://example.com/feed?a=1&b=2", HTMLURL: "https://example.com/"},
	}},
	{Title: "Tech & <Code>", Feeds: []Feed{
		{Title: "The Go Blog", XMLURL: "https://go.dev/blog/feed.atom", HTMLURL: "https://go.dev/blog/"},
		{Title: "证券时报网", XMLURL: "https://rsshub.app/stcn/yw", HTMLURL: "https://www.stcn.com/"},
	}},
	{Title: "", Feeds: []Feed{{Title: "No group", XMLURL: "https://nogroup.example/rss"}}},
}

func TestWriteRoundTrip(t *testing.T) {
	created := time.Date(2026, 3, 11, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	var buf bytes.Buffer
	if err := Write(&buf, "feedrelay: 财经 & more", created, groups); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`<?xml version="1.0" encoding="UTF-8"?>`,
		`<opml version="2.0">`,
		`<title>feedrelay: 财经 &amp; more</title>`,
		`<dateCreated>Wed, 11 Mar 2026 09:30:00 +0800</dateCreated>`,
		`<outline type="rss" text="证券时报网" title="证券时报网" xmlUrl="https://rsshub.app/stcn/yw" htmlUrl="https://www.stcn.com/"></outline>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	// RFC 822 as readers parse it: the date reads back as the same instant.
	_, date, _ := strings.Cut(out, "<dateCreated>")
	date, _, _ = strings.Cut(date, "</dateCreated>")
	if back, err := time.Parse(time.RFC1123Z, date); err != nil || !back.Equal(created) {
		t.Errorf("dateCreated %q reads back as %v, %v; want %v", date, back, err, created)
	}

	got, err := Parse(strings.NewReader(out))
	if err != nil {
		t.Fatalf("Parse(Write(…)): %v\n%s", err, out)
	}
	checkFeeds(t, got, []Feed{
		{"证券时报网", "https://rsshub.app/stcn/yw", "https://www.stcn.com/", []string{"财经", "Tech & <Code>"}},
		{`Quotes "&" <brackets>: #1`, "https://example.com/feed?a=1&b=2", "https://example.com/", []string{"财经"}},
		{"The Go Blog", "https://go.dev/blog/feed.atom", "https://go.dev/blog/", []string{"Tech & <Code>"}},
		{"No group", "https://nogroup.example/rss", "", nil},
	})

	// Another XML parser agrees the output is well-formed, when there is one.
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Logf("no %s: skipping the check with xml.dom.minidom", py)
		return
	}
	cmd := exec.Command(py, "-c", `import sys, xml.dom.minidom
d = xml.dom.minidom.parse(sys.stdin.buffer)
print(len([o for o in d.getElementsByTagName("outline") if o.getAttribute("xmlUrl")]))`)
	cmd.Stdin = strings.NewReader(out)
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("minidom: %v\n%s", err, res)
	}
	if n := strings.TrimSpace(string(res)); n != "5" {
		t.Errorf("minidom counts %s feed outlines, want 5", n)
	}
}

func TestWriteEdgeCases(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "empty", time.Time{}, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "dateCreated") {
		t.Errorf("zero time written:\n%s", buf.String())
	}
	if feeds, err := Parse(&buf); err != nil || len(feeds) != 0 {
		t.Errorf("empty list reads back as %v, %v", feeds, err)
	}

	err := Write(&bytes.Buffer{}, "x", time.Now(), []Group{{Title: "g", Feeds: []Feed{{Title: "no url"}}}})
	if err == nil || !strings.Contains(err.Error(), `feed "no url" has no xmlUrl`) {
		t.Errorf("feed without URL: error %v", err)
	}

	// Characters XML cannot hold are replaced, not written.
	buf.Reset()
	if err := Write(&buf, "ctl\x01", time.Time{}, []Group{{Title: "a\x02b", Feeds: []Feed{{Title: "t\x00", XMLURL: "https://x.example/"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(&buf); err != nil {
		t.Errorf("control characters made the output unreadable: %v", err)
	}
}

// Labels are resolved by the program's one charset table (feeds/charset):
// names x/text knows under another spelling are read, not refused.
func TestParseCharsetLabels(t *testing.T) {
	doc := `<opml version="2.0"><body><outline text="Новости"><outline text="Лента" xmlUrl="https://lenta.example/rss"/></outline></body></opml>`
	for label, enc := range map[string]encoding.Encoding{
		"MacCyrillic": charmap.MacintoshCyrillic,
		"cp1251":      charmap.Windows1251,
		"koi8_r":      charmap.KOI8R,
	} {
		b, err := enc.NewEncoder().Bytes([]byte(`<?xml version="1.0" encoding="` + label + `"?>` + doc))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse(bytes.NewReader(b))
		if err != nil {
			t.Errorf("%s: %v", label, err)
			continue
		}
		checkFeeds(t, got, []Feed{{"Лента", "https://lenta.example/rss", "", []string{"Новости"}}})
	}
}
