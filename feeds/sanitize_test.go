package feeds

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mmcdole/gofeed"

	"github.com/feedrelay/feedrelay/feeds/charset"
)

// hostileHTML are fragments built to get something past a sanitizer, or to
// make a shortcut disagree with bluemonday: each must come out of
// fastSanitize exactly as bluemonday writes it, or go to bluemonday.
var hostileHTML = []string{
	`<script>alert(1)</script><p>x</p>`,
	`<p onclick="alert(1)">x</p>`,
	`<a href="javascript:alert(1)">x</a>`,
	`<a href=" JaVaScRiPt:alert(1)">x</a>`,
	`<a href="java&#x09;script:alert(1)">x</a>`,
	`<a href="&#106;avascript:alert(1)">x</a>`,
	`<a href="vbscript:x">x</a>`,
	`<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>`,
	`<a href="data:text/html, <script>">x</a>`,
	`<img src="x" onerror="alert(1)">`,
	`<img src="javascript:alert(1)">`,
	`<img src=x alt="a&quot;b" width="100%" height="12">`,
	`<img alt="no src">`,
	`<img src="">`,
	`<a>no href</a> and <a href="">empty</a>`,
	`<a href="/rel" rel="noopener" target="_blank" class="c" style="s">r</a>`,
	`<a href="https://example.org/?a=1&amp;b=%7e&c=<x>">q</a>`,
	`<a href="https://exa mple.org/">space</a>`,
	`<a href="http://[::1">bad</a>`,
	`<a href="mailto:a@example.org">m</a><a href="MAILTO:a@example.org">M</a>`,
	`<a href=https://example.org/a href=/b>two</a>`,
	`<P>upper</P><BR/><Strong CLASS=x>s</Strong>`,
	`<p id="x" title="t" lang="en" dir="ltr">globals</p>`,
	`<scrİpt>alert(1)</scrİpt>`,
	`<p>a</p foo="bar"><p>b</p x>`,
	`<style>p{}</style><p>after</p>`,
	`<iframe src="https://example.org/"></iframe><p>after</p>`,
	`<textarea><p>raw</p></textarea>`,
	`<title><p>raw</p></title>`,
	`<plaintext><p>raw`,
	`<noscript><p>x</p></noscript>`,
	`<!-- <script>alert(1)</script> --><p>c</p>`,
	`<!DOCTYPE html><p>d</p>`,
	`<![CDATA[<script>]]><p>e</p>`,
	`<?xml version="1.0"?><p>pi</p>`,
	"<p>nul\x00here</p><p\x00>x</p>",
	"<p>cr\r\nlf\rcr</p>",
	`<p>entities &amp; &lt; &gt; &quot; &#39; &nbsp; &copy; &#x1F600; &bogus; & ;</p>`,
	`<p>quotes " ' and > alone</p>`,
	`a < b and c<d`,
	`<<p>>`,
	`<p`,
	`</>`,
	`<p/><br><br/><hr/>`,
	`<td>cell</td><table><tr><th colspan=2>h</th></tr></table>`,
	`<ul type="disc"><li value="3">x</li></ul>`,
	`<blockquote cite="https://example.org/">q</blockquote>`,
	`<svg><p>inside svg</p></svg>`,
	`<math><mi>x</mi></math>`,
	`<div><span>无标签中文</span>（文章来源：证券时报）</div>`,
	`plain text, no markup`,
	`<p>text with a trailing tag <`,
	`<a href="https://example.org/"><img src="/i.png" alt="走势图"></a>`,
	`<img src="https://example.org/i.png" alt="<script>">`,
	`<img src=" https://example.org/i.png ">`,
	`<a href="//example.org/x">scheme-relative</a>`,
	`<a href="#frag">frag</a><a href="?q=1">query</a>`,
}

// sanitizeInputs are the HTML fragments the differential tests compare:
// the hostile ones, every content and summary of the corpus (real feeds
// from other parsers' test suites) and of the synthetic bench sources.
func sanitizeInputs(t testing.TB) []string {
	inputs := append([]string(nil), hostileHTML...)
	err := filepath.WalkDir(corpusDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".md") || strings.HasSuffix(path, ".tsv") {
			return err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		text, _, err := charset.ToUTF8(body, "", "")
		if err != nil {
			return nil // not decodable: no HTML to compare
		}
		gf, err := gofeed.NewParser().Parse(bytes.NewReader(stripForbidden(text, true)))
		if err != nil {
			return nil
		}
		inputs = append(inputs, gf.Description)
		for _, it := range gf.Items {
			inputs = append(inputs, it.Content, it.Description)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range synthBodies()[:2] {
		gf, err := gofeed.NewParser().Parse(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range gf.Items {
			inputs = append(inputs, it.Description)
		}
	}
	return inputs
}

// TestFastSanitizeSameAsBluemonday: wherever the shortcut answers, it
// answers what bluemonday does, byte for byte (with a base, what
// resolveSanitized makes of that); and it does answer for the
// synthetic items and for a fair share of the real ones (else the
// comparison would prove nothing).
func TestFastSanitizeSameAsBluemonday(t *testing.T) {
	inputs := sanitizeInputs(t)
	base := mustURL("https://news1.example.com/finance/rss.xml")
	fast := 0
	for _, in := range inputs {
		got, ok := fastSanitize(in, nil)
		if !ok {
			continue
		}
		fast++
		if want := contentPolicy.Sanitize(in); got != want {
			t.Errorf("fastSanitize(%q)\n got %q\nwant %q (bluemonday)", in, got, want)
		}
		// With a base, its URLs as resolveSanitized resolves bluemonday's.
		got, ok = fastSanitize(in, base)
		if want := resolveSanitized(strings.TrimSpace(contentPolicy.Sanitize(in)), base); !ok || strings.TrimSpace(got) != want {
			t.Errorf("fastSanitize(%q, %s) = %q, %v\nwant %q (bluemonday, then resolveSanitized)", in, base, got, ok, want)
		}
	}
	t.Logf("%d of %d fragments took the shortcut", fast, len(inputs))
	if fast < len(inputs)/3 {
		t.Errorf("only %d of %d fragments took the shortcut", fast, len(inputs))
	}
	for _, in := range []string{`<script>alert(1)</script>`, `<p onclick="x">`, `<a href="javascript:x">`, `<iframe>`, `<p id="x">`} {
		if _, ok := fastSanitize(in, nil); ok {
			t.Errorf("fastSanitize(%q) answered: it must leave that to bluemonday", in)
		}
	}
}

// TestFastElementsAsBluemonday: every element the shortcut keeps is one
// UGCPolicy keeps without attributes, with style and class dropped, as
// start, end and self-closing tag.
func TestFastElementsAsBluemonday(t *testing.T) {
	for name, kind := range fastElements {
		var in, want string
		switch kind {
		case plainElement:
			in = `<` + name + ` style="color:red" class="x">t</` + name + `><` + name + `/>`
			want = `<` + name + `>t</` + name + `><` + name + `/>`
		case linkElement:
			in = `<` + name + ` href="/x" style="s">t</` + name + `>`
			want = `<` + name + ` href="/x" rel="nofollow">t</` + name + `>`
		case imageElement:
			in = `<` + name + ` src="/x" class="c"><` + name + ` src="/y"/>`
			want = `<` + name + ` src="/x"><` + name + ` src="/y"/>`
		}
		if got := contentPolicy.Sanitize(in); got != want {
			t.Errorf("bluemonday: %q → %q, want %q: %s does not belong in fastElements", in, got, want, name)
		}
		if got, ok := fastSanitize(in, nil); !ok || got != want {
			t.Errorf("fastSanitize(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// FuzzSanitizeSame: for any input, fastSanitize either declines or agrees
// with bluemonday. Seeds: the hostile fragments, and testdata/fuzz.
func FuzzSanitizeSame(f *testing.F) {
	for _, s := range hostileHTML {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := fastSanitize(in, nil)
		if !ok {
			return
		}
		if want := contentPolicy.Sanitize(in); got != want {
			t.Errorf("fastSanitize(%q)\n got %q\nwant %q (bluemonday)", in, got, want)
		}
	})
}
