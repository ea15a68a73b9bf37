package charset_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/feedrelay/feedrelay/feeds/charset"
)

// newsFeed is an RSS feed of 50 items of Chinese financial news, in UTF-8.
func newsFeed() []byte {
	var doc strings.Builder
	doc.WriteString(`<rss version="2.0"><channel><title>证券时报网-要闻</title><link>https://www.stcn.com/</link>`)
	for i := range 50 {
		fmt.Fprintf(&doc, `<item><title>沪指涨0.35%% 两市成交额突破万亿元 第%d条</title><link>https://www.stcn.com/article/detail/%d.html</link>`+
			`<description>证券时报网讯，今日A股三大指数集体高开，沪指涨0.35%%，深成指涨0.41%%，创业板指涨0.52%%。两市成交额突破万亿元，北向资金净流入超五十亿元。</description>`+
			`<pubDate>2026-11-26 09:30:00</pubDate></item>`, i, i)
	}
	doc.WriteString(`</channel></rss>`)
	return []byte(doc.String())
}

func gbkOf(t testing.TB, utf []byte) []byte {
	t.Helper()
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes(utf)
	if err != nil {
		t.Fatal(err)
	}
	return gbk
}

// A GBK feed that names its charset nowhere (no BOM, no HTTP charset, no
// declaration) is detected and read as GB18030, and the Result says it
// was a guess.
func TestUndeclaredGBKDetected(t *testing.T) {
	utf := newsFeed()
	for _, ct := range []string{"", "text/xml", "application/rss+xml"} {
		got, res := convert(t, gbkOf(t, utf), ct, "")
		if got != string(utf) {
			t.Errorf("ct=%q: read as %.200s…", ct, got)
		}
		if res.Reason != "detected" || res.Label != "gb18030" || res.Confidence != 100 || res.Replaced != 0 {
			t.Errorf("ct=%q: Result = %+v, want gb18030 detected", ct, res)
		}
		if w, want := res.Warning(), "charset not declared; read as gb18030 (detected, confidence 100%)"; w != want {
			t.Errorf("ct=%q: Warning %q, want %q", ct, w, want)
		}
	}
}

// Eight Chinese characters are too few for a confident guess: the body is
// read as UTF-8, as before, and the Result warns that it lost bytes.
func TestShortUndeclaredGBKNotGuessed(t *testing.T) {
	body := fixture(t, "gbk_nodecl.xml")
	_, res := convert(t, body, "", "")
	if res.Reason != "default" || res.Replaced != 8 {
		t.Errorf("Result = %+v, want utf-8 by default, 8 bytes replaced", res)
	}
	want := "charset not declared and not detected; 8 bytes not valid UTF-8 replaced with U+FFFD (the source's charset setting can name it)"
	if w := res.Warning(); w != want {
		t.Errorf("Warning %q, want %q", w, want)
	}
}

// A charset that is named is never second-guessed: GBK bytes behind an
// HTTP charset=utf-8 (and no declaration) stay replaced, but the Result
// counts them and warns, naming where utf-8 was read.
func TestDeclaredCharsetNotGuessed(t *testing.T) {
	body := fixture(t, "gbk_nodecl.xml")
	out, res, err := charset.ToUTF8(body, "text/xml; charset=utf-8", "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Reason != "http" || res.Replaced == 0 || !bytes.ContainsRune(out, '\uFFFD') {
		t.Fatalf("Result = %+v", res)
	}
	want := fmt.Sprintf("%d bytes not valid utf-8 (named by the HTTP Content-Type) replaced with U+FFFD", res.Replaced)
	if w := res.Warning(); w != want {
		t.Errorf("Warning %q, want %q", w, want)
	}
}

// A UTF-8 feed with a stray byte (a title cut mid-character) is UTF-8:
// the detector is not asked, whatever it would make of the Chinese, and a
// byte or two in a large feed are not worth a warning.
func TestStrayByteInUTF8NotGuessed(t *testing.T) {
	var b strings.Builder
	b.WriteString("<rss><channel><title>证券时报网</title>")
	for i := range 50 {
		fmt.Fprintf(&b, "<item><title>沪指涨0.35%% 两市成交额突破万亿 第%d条</title></item>", i)
	}
	body := []byte(b.String())
	i := bytes.Index(body, []byte("两市"))
	body = append(body[:i+1:i+1], body[i+3:]...) // "两" cut to its first byte
	body = append(body, "</channel></rss>"...)
	got, res := convert(t, body, "", "")
	if res.Reason != "default" || res.Label != "utf-8" || res.Replaced != 1 {
		t.Errorf("Result = %+v, want utf-8 by default with 1 byte replaced", res)
	}
	if !strings.Contains(got, "沪指涨0.35% \uFFFD市成交额") || strings.Count(got, "两市") != 49 {
		t.Errorf("the stray byte was not the only loss")
	}
	if w := res.Warning(); w != "" {
		t.Errorf("Warning %q for one byte in %d", w, len(body))
	}
}

// A CMS that cuts every title at a byte count leaves a stray byte in each:
// so many that ICU's UTF-8 recogniser gives up on the body (more than one
// invalid sequence in ten) and its Big5 one reads the UTF-8 bytes as
// Chinese (confidence 74). Most of the non-ASCII bytes are valid UTF-8, so it is UTF-8,
// and the stray bytes are counted.
func TestTruncatedTitlesInUTF8NotGuessed(t *testing.T) {
	var b strings.Builder
	b.WriteString("<rss><channel><title>证券时报网</title>")
	for i := range 50 {
		title := []byte("沪指涨两市成交额突破万亿元")
		fmt.Fprintf(&b, "<item><title>%s</title><guid>%d</guid></item>", title[:len(title)-1], i)
	}
	b.WriteString("</channel></rss>")
	got, res := convert(t, []byte(b.String()), "", "")
	if res.Reason != "default" || res.Replaced != 100 || strings.Count(got, "沪指涨两市成交额突破万亿\uFFFD") != 50 {
		t.Errorf("Result = %+v, want utf-8 by default with 100 bytes replaced; read as %.120s…", res, got)
	}
}

// Valid UTF-8 that declares nothing pays one utf8.Valid and no detector:
// compare with BenchmarkToUTF8/undeclared-gbk, which runs it.
func BenchmarkToUTF8(b *testing.B) {
	utf := newsFeed()
	gbk := gbkOf(b, utf)
	for _, c := range []struct {
		name string
		body []byte
		ct   string
	}{
		{"undeclared-utf8", utf, ""},
		{"http-utf8", utf, "application/rss+xml; charset=utf-8"},
		{"declared-gbk", append([]byte(`<?xml version="1.0" encoding="gbk"?>`), gbk...), ""},
		{"undeclared-gbk", gbk, ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := charset.ToUTF8(c.body, c.ct, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A declaration that the bytes prove wrong: a site moved to UTF-8 behind
// an old server setting or template (gb2312, or Tomcat's iso-8859-1), or a
// UTF-8 server default in front of GBK files. The bytes win, and the
// Result says the declaration was overruled; the operator's own charset
// setting is not.
func TestDeclarationOverruledByTheBytes(t *testing.T) {
	utf := newsFeed()
	withDecl := func(enc string, doc []byte) []byte {
		return append([]byte(`<?xml version="1.0" encoding="`+enc+`"?>`), doc...)
	}
	for _, tc := range []struct {
		name            string
		body            []byte
		contentType     string
		override        string
		want            []byte
		reason, warning string
	}{
		{"http gb2312, utf-8 bytes", utf, "text/xml; charset=gb2312", "", utf,
			"utf-8 bytes", "declared gb2312 (HTTP Content-Type), but the bytes are UTF-8; read as UTF-8"},
		{"http iso-8859-1, utf-8 bytes and declaration", withDecl("utf-8", utf), "text/xml; charset=ISO-8859-1", "", withDecl("utf-8", utf),
			"utf-8 bytes", "declared iso-8859-1 (HTTP Content-Type), but the bytes are UTF-8; read as UTF-8"},
		{"xml declaration gbk, utf-8 bytes", withDecl("gbk", utf), "application/rss+xml", "", withDecl("utf-8", utf),
			"utf-8 bytes", "declared gbk (XML declaration), but the bytes are UTF-8; read as UTF-8"},
		{"http utf-8, gbk bytes", gbkOf(t, utf), "text/xml; charset=utf-8", "", utf,
			"detected", "declared utf-8 (HTTP Content-Type), but the bytes are not UTF-8; read as gb18030 (detected, confidence 100%)"},
		{"gbk declared and gbk", gbkOf(t, withDecl("gbk", utf)), "text/xml; charset=gbk", "", withDecl("utf-8", utf), "http", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, res := convert(t, tc.body, tc.contentType, tc.override)
			if got != string(tc.want) {
				t.Errorf("read as %.120s…", got)
			}
			if res.Reason != tc.reason || res.Warning() != tc.warning {
				t.Errorf("Result %+v, warning %q; want reason %q, warning %q", res, res.Warning(), tc.reason, tc.warning)
			}
		})
	}
	// The source's charset setting is obeyed, bytes or not.
	if _, res := convert(t, utf, "text/xml; charset=utf-8", "gbk"); res.Reason != "override" || res.Label != "gbk" {
		t.Errorf("override: Result %+v", res)
	}
	// A meta charset too: a list page's template says gb2312, its text is UTF-8.
	page := []byte(`<!DOCTYPE html><html><head><meta charset="gb2312"><title>要闻</title></head><body>` + string(utf) + `</body></html>`)
	got, res, err := charset.PageToUTF8(page, "text/html", "")
	if err != nil || string(got) != string(page) || res.Warning() != "declared gb2312 (HTML <meta> charset), but the bytes are UTF-8; read as UTF-8" {
		t.Errorf("page: err %v, Result %+v, warning %q", err, res, res.Warning())
	}
}
