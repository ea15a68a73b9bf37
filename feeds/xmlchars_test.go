package feeds

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/feedrelay/feedrelay/xmlchar"
)

// hasForbidden reports whether s holds a character XML 1.0 forbids.
func hasForbidden(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return !xmlchar.Allowed(r) }) >= 0
}

// One stray character XML 1.0 forbids, raw or as a character reference,
// must not lose the feed: every item is kept, without the character.
func TestParseKeepsItemsWithForbiddenCharacters(t *testing.T) {
	bad := []string{"\uFFFE", "&#1;", "&#x1F;", "\x01", "\uFFFF", "&#xFFFE;", "&#0;", "&#xD800;", "&#1114112;", "\x08"}
	rss := `<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>源` + "\x0b" + `</title>`
	atom := `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>源&#x0B;</title><id>urn:x</id>`
	for i, b := range bad {
		rss += fmt.Sprintf(`<item><guid>g%d</guid><link>https://example.org/%d</link><title>标%s题%d</title><description>正%s文 &lt;b&gt;%d&lt;/b&gt;</description></item>`, i, i, b, i, b, i)
		atom += fmt.Sprintf(`<entry><id>urn:e%d</id><link href="https://example.org/%d"/><title>标%s题%d</title><content type="html">正%s文 &lt;b&gt;%d&lt;/b&gt;</content><updated>2026-11-26T09:30:00+08:00</updated></entry>`, i, i, b, i, b, i)
	}
	rss += `</channel></rss>`
	atom += `</feed>`
	for name, body := range map[string]string{"rss": rss, "atom": atom} {
		t.Run(name, func(t *testing.T) {
			f, err := Parse([]byte(body), "application/xml", "", "https://example.org/feed", time.UTC)
			if err != nil {
				t.Fatalf("the feed is lost: %v", err)
			}
			if f.Title != "源" {
				t.Errorf("feed title %q, want 源", f.Title)
			}
			if len(f.Items) != len(bad) {
				t.Fatalf("%d items, want %d", len(f.Items), len(bad))
			}
			for i, it := range f.Items {
				if want := fmt.Sprintf("标题%d", i); it.Title != want {
					t.Errorf("item %d (%q in the source): title %q, want %q", i, bad[i], it.Title, want)
				}
				if want := fmt.Sprintf("正文 <b>%d</b>", i); it.Content != want {
					t.Errorf("item %d (%q in the source): content %q, want %q", i, bad[i], it.Content, want)
				}
				for _, s := range []string{it.Title, it.Content, it.Summary, it.Identity, it.Link} {
					if hasForbidden(s) {
						t.Errorf("item %d keeps a forbidden character: %q", i, s)
					}
				}
			}
		})
	}
}

// A JSON Feed loses only the raw characters (a raw control character makes
// the JSON invalid; a raw U+FFFE would be published).
func TestParseJSONFeedWithForbiddenCharacters(t *testing.T) {
	body := "{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":\"源\",\"items\":[" +
		"{\"id\":\"1\",\"title\":\"标\x01题\",\"content_text\":\"正\x1f文\"}," +
		"{\"id\":\"2\",\"title\":\"标\uFFFE题\",\"content_text\":\"正\uFFFF文\"}]}"
	f, err := Parse([]byte(body), "application/feed+json", "", "https://example.org/feed.json", time.UTC)
	if err != nil {
		t.Fatalf("the feed is lost: %v", err)
	}
	if len(f.Items) != 2 {
		t.Fatalf("%d items, want 2", len(f.Items))
	}
	for i, it := range f.Items {
		if it.Title != "标题" || hasForbidden(it.Content) {
			t.Errorf("item %d: title %q content %q", i, it.Title, it.Content)
		}
	}
}

func TestStripForbidden(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"<t>a\x01b\x1f\x7f\u0085c</t>", "<t>ab\x7f\u0085c</t>"}, // DEL and C1 are allowed
		{"<t>\t\n\r</t>", "<t>\t\n\r</t>"},
		{"<t>a\uFFFE\uFFFFb\uFFFD</t>", "<t>ab\uFFFD</t>"},
		{"<t>&#1;&#x1f;&#X1F;&#0;&#00000001;&#xd800;&#xDFFF;&#65534;&#x110000;&#99999999999999;</t>", "<t></t>"},
		{"<t>&#9;&#65;&#x4E2D;&#xFFFD;&#x10FFFF;&amp;&lt;</t>", "<t>&#9;&#65;&#x4E2D;&#xFFFD;&#x10FFFF;&amp;&lt;</t>"},
		{"<t a='x&#1;y'>z</t>", "<t a='xy'>z</t>"},
		// What the parser would read once the rest is gone goes too.
		{"<t>&#111\x007000;&#&#1;1;</t>", "<t></t>"},
		// Not references: left to the parser.
		{"<t>&#; &#x; &#1 &#xg; &#</t>", "<t>&#; &#x; &#1 &#xg; &#</t>"},
		// In CDATA and comments "&#1;" is text; raw characters still go.
		{"<t><![CDATA[&#1;\x01]]>&#1;</t>", "<t><![CDATA[&#1;]]></t>"},
		{"<!-- &#1; <![CDATA[ -->&#1;<t/>", "<!-- &#1; <![CDATA[ --><t/>"},
	} {
		if got := string(stripForbidden([]byte(c.in), true)); got != c.want {
			t.Errorf("stripForbidden(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// JSON: references are text, raw characters go.
	if got := string(stripForbidden([]byte("{\"title\":\"a\x01&#1;\uFFFE\"}"), false)); got != `{"title":"a&#1;"}` {
		t.Errorf("JSON: %q", got)
	}
	clean := []byte("<rss><channel><title>证券时报网 &#65;</title></channel></rss>")
	if got := stripForbidden(clean, true); &got[0] != &clean[0] {
		t.Error("a clean body was copied")
	}
}

// FuzzStripForbidden: the output of valid UTF-8 is valid UTF-8 without a
// raw forbidden character, and stripping it again changes nothing.
func FuzzStripForbidden(f *testing.F) {
	for _, s := range []string{"<t>&#1;\x01\uFFFE</t>", "<![CDATA[&#1;]]>&#x1F;", "<!-- &#0; -->", "&#", "&#x", "&#99999999999;", "<![CDATA[", "&#&#1;1;", "&#11\x017;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			return
		}
		out := stripForbidden([]byte(s), true)
		for _, refs := range []bool{false, true} {
			if got, want := strip([]byte(s), refs), stripReference([]byte(s), refs); string(got) != string(want) {
				t.Fatalf("strip(%q, %v) = %q, the byte-by-byte scan gives %q", s, refs, got, want)
			}
		}
		if !utf8.Valid(out) || hasForbidden(string(out)) {
			t.Fatalf("stripForbidden(%q) = %q", s, out)
		}
		if again := stripForbidden(out, true); string(again) != string(out) {
			t.Fatalf("not idempotent: %q → %q → %q", s, out, again)
		}
	})
}

// stripReference is strip as it was before it skipped ahead (issue 16): the
// byte-by-byte oracle FuzzStripForbidden compares it with. It removes raw forbidden characters, or (refs) forbidden character
// references outside CDATA sections and comments.
func stripReference(doc []byte, refs bool) []byte {
	var out []byte // nil until the first removal
	keep := 0      // doc[keep:i] is yet to be copied to out
	drop := func(i, n int) {
		if out == nil {
			out = make([]byte, 0, len(doc))
		}
		out = append(out, doc[keep:i]...)
		keep = i + n
	}
	inCDATA, inComment := false, false
	for i := 0; i < len(doc); {
		c := doc[i]
		switch {
		case !refs && c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			drop(i, 1)
			i++
			continue
		case !refs && c == 0xEF && i+2 < len(doc) && doc[i+1] == 0xBF && (doc[i+2] == 0xBE || doc[i+2] == 0xBF):
			drop(i, 3) // U+FFFE, U+FFFF
			i += 3
			continue
		case !refs:
		case inCDATA:
			if c == ']' && bytes.HasPrefix(doc[i:], []byte("]]>")) {
				inCDATA = false
				i += 3
				continue
			}
		case inComment:
			if c == '-' && bytes.HasPrefix(doc[i:], []byte("-->")) {
				inComment = false
				i += 3
				continue
			}
		case c == '<' && bytes.HasPrefix(doc[i:], []byte("<![CDATA[")):
			inCDATA = true
			i += len("<![CDATA[")
			continue
		case c == '<' && bytes.HasPrefix(doc[i:], []byte("<!--")):
			inComment = true
			i += len("<!--")
			continue
		case c == '&' && i+1 < len(doc) && doc[i+1] == '#':
			if n, forbidden := charRef(doc[i:]); forbidden {
				drop(i, n)
				i += n
				continue
			}
		}
		i++
	}
	if out == nil {
		return doc
	}
	return append(out, doc[keep:]...)
}
