package charset_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/feedrelay/feedrelay/feeds/charset"
)

// The fixtures under testdata are written by testdata/gen.py. Each holds
// <channel><title>证券时报网</title> and one item title, in some encoding.
const channelTitle = "证券时报网"

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// convert runs ToUTF8 and checks what every successful conversion must give:
// valid UTF-8, no BOM, and no declaration still naming another encoding.
func convert(t *testing.T, body []byte, contentType, override string) (string, charset.Result) {
	t.Helper()
	out, res, err := charset.ToUTF8(body, contentType, override)
	if err != nil {
		t.Fatalf("ToUTF8(ct=%q, override=%q): %v", contentType, override, err)
	}
	if !utf8.Valid(out) {
		t.Fatalf("output is not valid UTF-8: %q", out)
	}
	if bytes.HasPrefix(out, []byte("\uFEFF")) {
		t.Errorf("output still starts with a BOM: %q", out[:8])
	}
	s := string(out)
	if strings.HasPrefix(s, "<?xml") {
		decl := s[:strings.Index(s, "?>")+2]
		if strings.Contains(decl, "encoding") && !declaresUTF8.MatchString(decl) {
			t.Errorf("declaration not rewritten to utf-8: %s", decl)
		}
	}
	return s, res
}

// declaresUTF8 matches an XML declaration's encoding naming UTF-8, which
// is what the parser needs to read the output as it is.
var declaresUTF8 = regexp.MustCompile(`encoding\s*=\s*("(?i:utf-8)"|'(?i:utf-8)')`)

func wantText(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
	if strings.ContainsRune(got, utf8.RuneError) {
		t.Errorf("output holds U+FFFD:\n%s", got)
	}
}

// (a) A GBK body that declares gb2312, served without an HTTP charset.
func TestGBKDeclaredGB2312(t *testing.T) {
	body := fixture(t, "gbk_decl_gb2312.xml")
	for _, ct := range []string{"", "application/rss+xml", "text/xml"} {
		got, res := convert(t, body, ct, "")
		wantText(t, got, channelTitle, "沪指涨0.35%")
		if !strings.HasPrefix(got, `<?xml version="1.0" encoding="utf-8"?>`) {
			t.Errorf("ct=%q: declaration not rewritten: %.60s", ct, got)
		}
		if strings.Contains(got, "gb2312") {
			t.Errorf("ct=%q: output still mentions gb2312", ct)
		}
		if res.Reason != "xml declaration" || res.Label != "gb2312" {
			t.Errorf("ct=%q: Result = %+v, want gb2312 from the xml declaration", ct, res)
		}
	}
}

// (b) A GBK body with no declaration: only the HTTP header says what it is.
func TestGBKFromHTTPCharset(t *testing.T) {
	body := fixture(t, "gbk_nodecl.xml")
	for _, ct := range []string{
		"text/xml; charset=GBK",
		"text/xml; charset=gbk",
		`application/rss+xml; charset="GBK"`,
		"text/xml;charset=GB2312",
	} {
		got, res := convert(t, body, ct, "")
		wantText(t, got, channelTitle, "沪指涨0.35%")
		if res.Reason != "http" {
			t.Errorf("ct=%q: Reason = %q, want http", ct, res.Reason)
		}
		if string(got) == string(body) {
			t.Errorf("ct=%q: body unchanged", ct)
		}
	}
	// Without the header the same bytes are not UTF-8: what the header
	// tells us is what makes the text readable.
	got, _, err := charset.ToUTF8(body, "text/xml", "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(got), channelTitle) {
		t.Error("GBK bytes read as Chinese without any charset information")
	}
}

// (c) gb2312 servers send GB18030 four-byte characters; they must survive.
func TestGB18030FourByteUnderGB2312Label(t *testing.T) {
	body := fixture(t, "gb18030_4byte.xml")
	if !bytes.Contains(body, []byte{0x95, 0x32, 0x82, 0x36}) {
		t.Fatal("fixture lacks the four-byte sequence for U+20000")
	}
	got, _ := convert(t, body, "", "")
	wantText(t, got, channelTitle, "\U00020000䶵䶮")
	// The same body announced as gb2312 by HTTP instead.
	got, _ = convert(t, body, "text/xml; charset=gb2312", "")
	wantText(t, got, "\U00020000䶵䶮")
}

// (d) Every name GBK travels under is decoded as GB18030.
func TestGBLabelsDecodeAsGB18030(t *testing.T) {
	body := fixture(t, "gb18030_4byte.xml")
	// Strip the declaration so that only the label under test counts.
	nodecl := body[bytes.Index(body, []byte("<rss")):]
	for _, label := range []string{
		"cp936", "CP936", "windows-936", "euc-cn", "EUC-CN", "x-gbk",
		"gbk", "GBK", "gb2312", "GB2312", "gb18030", "ms936", "x-euc-cn",
		" gbk ", `"gbk"`,
	} {
		t.Run(label, func(t *testing.T) {
			enc, err := charset.Lookup(label)
			if err != nil {
				t.Fatalf("Lookup(%q): %v", label, err)
			}
			dec, err := enc.NewDecoder().Bytes(nodecl)
			if err != nil {
				t.Fatal(err)
			}
			wantText(t, string(dec), channelTitle, "\U00020000䶵䶮")

			got, _ := convert(t, nodecl, "", label) // as an override
			wantText(t, got, "\U00020000䶵䶮")
			if !strings.ContainsAny(label, ` "`) {
				got, _ = convert(t, nodecl, "text/xml; charset="+label, "") // from HTTP
				wantText(t, got, "\U00020000䶵䶮")
			}
			decl := append([]byte(`<?xml version="1.0" encoding="`+strings.Trim(label, ` "`)+`"?>`), nodecl...)
			got, _ = convert(t, decl, "", "") // from the declaration
			wantText(t, got, "\U00020000䶵䶮")
		})
	}
}

// (e) Byte order marks.
func TestBOM(t *testing.T) {
	t.Run("utf-8", func(t *testing.T) {
		body := fixture(t, "utf8_bom.xml")
		got, res := convert(t, body, "", "")
		if !strings.HasPrefix(got, "<?xml") {
			t.Errorf("BOM not stripped: %q", got[:10])
		}
		wantText(t, got, channelTitle, "沪指涨0.35%")
		if res.Reason != "bom" {
			t.Errorf("Reason = %q, want bom", res.Reason)
		}
		// A BOM beats a wrong HTTP charset.
		got, _ = convert(t, body, "text/xml; charset=gbk", "")
		wantText(t, got, channelTitle)
	})
	for _, name := range []string{"utf16le_bom.xml", "utf16be_bom.xml"} {
		t.Run(name, func(t *testing.T) {
			body := fixture(t, name)
			got, res := convert(t, body, "", "")
			if !strings.HasPrefix(got, `<?xml version="1.0" encoding="utf-8"?>`) {
				t.Errorf("got %.60q", got)
			}
			wantText(t, got, channelTitle, "沪指涨0.35%")
			if res.Reason != "bom" {
				t.Errorf("Reason = %q, want bom", res.Reason)
			}
			// The BOM beats an HTTP header that says otherwise.
			got, _ = convert(t, body, "application/xml; charset=utf-8", "")
			wantText(t, got, channelTitle)
		})
	}
	// UTF-16 without a BOM is recognised by its first bytes.
	for _, name := range []string{"utf16le_bom.xml", "utf16be_bom.xml"} {
		t.Run(name+"/no-bom", func(t *testing.T) {
			body := fixture(t, name)[2:]
			got, _ := convert(t, body, "", "")
			wantText(t, got, channelTitle, "沪指涨0.35%")
		})
	}
}

// (f) HTTP says utf-8 (a server default), the bytes are GBK and the
// declaration says gbk: the declaration is believed.
func TestServerDefaultUTF8InFrontOfGBK(t *testing.T) {
	body := fixture(t, "gbk_decl_gbk.xml")
	for _, ct := range []string{"text/xml; charset=utf-8", "text/xml; charset=UTF-8", "application/xml;charset=utf8"} {
		got, res := convert(t, body, ct, "")
		wantText(t, got, channelTitle, "沪指涨0.35%")
		if res.Reason != "xml declaration" {
			t.Errorf("ct=%q: Reason = %q, want xml declaration", ct, res.Reason)
		}
	}
}

// (g) The operator's per-source override beats HTTP and the declaration.
func TestOverrideWins(t *testing.T) {
	gbk := fixture(t, "gbk_decl_gb2312.xml")
	nodecl := fixture(t, "gbk_nodecl.xml")
	utf := fixture(t, "utf8_decl_gbk.xml") // valid UTF-8, declaration says gbk

	cases := []struct {
		name, ct, override string
		body               []byte
	}{
		{"beats wrong HTTP charset", "text/xml; charset=iso-8859-1", "gbk", nodecl},
		{"beats HTTP and declaration", "text/xml; charset=iso-8859-1", "GB18030", gbk},
		{"beats lying declaration", "", "utf-8", utf},
		{"beats HTTP and lying declaration", "text/xml; charset=gbk", "utf-8", utf},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, res := convert(t, c.body, c.ct, c.override)
			wantText(t, got, channelTitle)
			if res.Reason != "override" {
				t.Errorf("Reason = %q, want override", res.Reason)
			}
		})
	}
}

// (h) A few bad bytes in a UTF-8 feed cost those bytes, not the feed.
func TestInvalidUTF8Replaced(t *testing.T) {
	body := fixture(t, "utf8_invalid.xml")
	if utf8.Valid(body) {
		t.Fatal("fixture should not be valid UTF-8")
	}
	for _, ct := range []string{"", "text/xml; charset=utf-8"} {
		out, _, err := charset.ToUTF8(body, ct, "")
		if err != nil {
			t.Fatalf("ct=%q: %v", ct, err)
		}
		if !utf8.Valid(out) {
			t.Fatalf("ct=%q: output not valid UTF-8", ct)
		}
		s := string(out)
		if !strings.Contains(s, "沪指\uFFFD") || !strings.Contains(s, "\uFFFD涨") {
			t.Errorf("ct=%q: bad bytes not replaced by U+FFFD in place: %s", ct, s)
		}
		if !strings.Contains(s, channelTitle) || !strings.HasSuffix(s, "</rss>\n") {
			t.Errorf("ct=%q: the rest of the document was not kept: %s", ct, s)
		}
	}
	// Bytes invalid in GBK also become U+FFFD rather than an error.
	gbk := append(fixture(t, "gbk_nodecl.xml"), 0x81, '<', '!', '-', '-', '-', '-', '>')
	out, _, err := charset.ToUTF8(gbk, "text/xml; charset=gbk", "")
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(out) || !strings.Contains(string(out), channelTitle) {
		t.Errorf("invalid GBK tail lost the document: %s", out)
	}
}

// (i) An unknown label is an error that names it.
func TestUnknownLabel(t *testing.T) {
	body := fixture(t, "gbk_nodecl.xml")
	cases := []struct{ name, ct, override string }{
		{"override", "", "klingon-8"},
		{"http", "text/xml; charset=klingon-8", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := charset.ToUTF8(body, c.ct, c.override)
			if err == nil || !strings.Contains(err.Error(), "klingon-8") {
				t.Errorf("err = %v, want an error naming klingon-8", err)
			}
		})
	}
	t.Run("declaration", func(t *testing.T) {
		doc := append([]byte(`<?xml version="1.0" encoding="klingon-8"?>`), body...)
		_, _, err := charset.ToUTF8(doc, "", "")
		if err == nil || !strings.Contains(err.Error(), "klingon-8") {
			t.Errorf("err = %v, want an error naming klingon-8", err)
		}
	})
	if _, err := charset.Lookup("klingon-8"); err == nil || !strings.Contains(err.Error(), "klingon-8") {
		t.Errorf("Lookup: err = %v, want an error naming klingon-8", err)
	}
}

// (j) RFC 7303: when both are valid, the HTTP charset beats the declaration.
func TestHTTPBeatsDeclaration(t *testing.T) {
	t.Run("utf-8 body, declaration says gbk", func(t *testing.T) {
		body := fixture(t, "utf8_decl_gbk.xml")
		got, res := convert(t, body, "text/xml; charset=utf-8", "")
		wantText(t, got, channelTitle, "沪指涨0.35%")
		if res.Reason != "http" || res.Label != "utf-8" {
			t.Errorf("Result = %+v, want utf-8 from http", res)
		}
	})
	t.Run("gbk body, declaration says iso-8859-1", func(t *testing.T) {
		body := append([]byte(`<?xml version="1.0" encoding="iso-8859-1"?>`+"\n"), fixture(t, "gbk_nodecl.xml")...)
		got, res := convert(t, body, "application/rss+xml; charset=gbk", "")
		wantText(t, got, channelTitle, "沪指涨0.35%")
		if res.Reason != "http" {
			t.Errorf("Reason = %q, want http", res.Reason)
		}
	})
}

func TestPlainUTF8Untouched(t *testing.T) {
	doc := "<rss><channel><title>" + channelTitle + "</title></channel></rss>"
	got, res := convert(t, []byte(doc), "", "")
	if got != doc {
		t.Errorf("got %q, want the input unchanged", got)
	}
	if res.Reason != "default" || res.Label != "utf-8" {
		t.Errorf("Result = %+v, want utf-8 by default", res)
	}
}

func TestDeclarationRewriteKeepsTheRest(t *testing.T) {
	body := append([]byte(`<?xml version='1.0' encoding='GBK' standalone='yes'?>`), fixture(t, "gbk_nodecl.xml")...)
	got, _ := convert(t, body, "", "")
	if !strings.HasPrefix(got, `<?xml version='1.0' encoding="utf-8" standalone='yes'?><rss`) {
		t.Errorf("got %.80q", got)
	}
	wantText(t, got, channelTitle)
	// encoding= outside the declaration is content and stays as it is.
	doc := `<?xml version="1.0"?><rss><channel><title>encoding="gbk"</title></channel></rss>`
	got, _ = convert(t, []byte(doc), "", "")
	if got != doc {
		t.Errorf("got %q, want %q", got, doc)
	}
}

// Whatever comes in, a successful conversion gives valid UTF-8 without a BOM:
// the parser and the database downstream rely on it.
func FuzzToUTF8(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "", "")
		f.Add(b, "text/xml; charset=gbk", "")
		f.Add(b, "text/xml; charset=utf-8", "")
		f.Add(b, "", "utf-16")
	}
	f.Add([]byte("\xff\xfe\x00\x00<\x00\x00\x00"), "", "")
	f.Fuzz(func(t *testing.T, body []byte, contentType, override string) {
		out, _, err := charset.ToUTF8(body, contentType, override)
		if err != nil {
			return
		}
		if !utf8.Valid(out) {
			t.Fatalf("invalid UTF-8 out: %q", out)
		}
		if bytes.HasPrefix(out, []byte("\uFEFF")) {
			t.Fatalf("BOM left: %q", out)
		}
	})
}

// An HTML page in GBK that says so only in a <meta> (no HTTP charset, no
// XML declaration) is decoded by PageToUTF8: by <meta charset> and by the
// older http-equiv form, also behind a server default of UTF-8. A <meta>
// in a comment does not count.
func TestPageMetaCharset(t *testing.T) {
	for _, name := range []string{"gbk_meta.html", "gbk_meta_http_equiv.html"} {
		for _, ct := range []string{"", "text/html", "text/html; charset=utf-8"} {
			t.Run(name+"/"+ct, func(t *testing.T) {
				out, res, err := charset.PageToUTF8(fixture(t, name), ct, "")
				if err != nil {
					t.Fatal(err)
				}
				wantText(t, string(out), "证券时报网", "沪指涨0.35%")
				if res.Reason != "meta" || res.Label == "utf-8" {
					t.Errorf("decoded as %q (%s), want the <meta> label", res.Label, res.Reason)
				}
			})
		}
	}
	// The feed rules do not read <meta>: the same bytes are not text there.
	if out, _, _ := charset.ToUTF8(fixture(t, "gbk_meta.html"), "", ""); strings.Contains(string(out), "证券时报网") {
		t.Error("ToUTF8 decoded the page by its <meta>: feeds would read HTML declarations")
	}
}

// The prescan reads the first 1024 bytes only, as browsers do; the HTTP
// charset beats <meta>, and the override beats both.
func TestPageMetaCharsetOrder(t *testing.T) {
	late := append(bytes.Repeat([]byte(" "), 1024), []byte(`<meta charset="gbk">`)...)
	if _, res, _ := charset.PageToUTF8(late, "", ""); res.Reason != "default" {
		t.Errorf("a <meta> after 1024 bytes was read: %+v", res)
	}
	page := fixture(t, "gbk_meta.html")
	if _, res, _ := charset.PageToUTF8(page, "text/html; charset=big5", ""); res.Reason != "http" {
		t.Errorf("HTTP charset did not win: %+v", res)
	}
	if _, res, _ := charset.PageToUTF8(page, "", "gb18030"); res.Reason != "override" {
		t.Errorf("override did not win: %+v", res)
	}
}
