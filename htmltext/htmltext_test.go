package htmltext

import (
	"strings"
	"testing"
)

func TestPlain(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "",
		"plain":                         "plain",
		"<p>两<strong>市</strong>成交</p>":  "两市成交",
		"<p>one</p><p>two</p>":          "one two",
		"a<br>b<br/>c":                  "a b c",
		"<ul><li>x</li><li>y</li></ul>": "x y",
		"A &amp; B &lt;tag&gt; &#20013;&nbsp;文":          "A & B <tag> 中 文",
		`<a href="x>y" title='>'>link</a> text`:          "link text",
		"<!-- <p>comment</p> -->after":                   "after",
		"<script>var x = 1</script>ok<STYLE>p{}</style>": "ok",
		"<script>if (a<b) { x('</p>') }</script>after":   "after",
		"1 < 2 and 3 <4":                        "1 < 2 and 3 <4",
		"  lots \n\t of   space  ":              "lots of space",
		"<p>\u3000\u3000全角缩进</p>":               "全角缩进",
		"<img src=x alt=图>图片说明":                 "图片说明",
		"unterminated <b":                       "unterminated",
		"<":                                     "<",
		"&lt;script&gt;alert(1)&lt;/script&gt;": "<script>alert(1)</script>",
		"Tom &amp; Jerry":                       "Tom & Jerry",
		"a<noscript>hidden</noscript>b":         "ab",
		"（文章来源：<a href=x>上海证券报</a>）": "（文章来源：上海证券报）",
	} {
		if got := Plain(in); got != want {
			t.Errorf("Plain(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTitle(t *testing.T) {
	for in, want := range map[string]string{
		"":                                      "",
		"  两市  收涨\n ":                           "两市 收涨",
		"&lt;script&gt;alert(1)&lt;/script&gt;": "&lt;script&gt;alert(1)&lt;/script&gt;", // text about HTML stays
		"Tom &amp; Jerry":                       "Tom &amp; Jerry",
		"1 < 2 and 3 <4":                        "1 < 2 and 3 <4",
		"x <= y":                                "x <= y",
		"<b>Bold</b> &amp; co":                  "Bold & co", // an HTML title: markup and entities read once
		"a<!-- c -->b":                          "ab",

		// Text that mentions tags is kept as it is: an Atom type="text"
		// title (Atom's default) or an RSS title, its XML escaping undone.
		"Vec<String> in Rust":                "Vec<String> in Rust",
		"Use the <script> tag in HTML":       "Use the <script> tag in HTML",
		"<b>":                                "<b>",
		"a < b > c":                          "a < b > c",
		"Option<T> &amp; Result<T, E>":       "Option<T> &amp; Result<T, E>", // T is no element
		"Learn <b> and <i> in  5 minutes":    "Learn <b> and <i> in 5 minutes",
		"<b>x</b> and <Foo>":                 "<b>x</b> and <Foo>",
		"Use the <script> tag &amp; more":    "Use the <script> tag &amp; more",    // the rest is script: its entity proves nothing
		"Use the <style> tag &amp; <b>x</b>": "Use the <style> tag &amp; <b>x</b>", // style to the end
		"Vec<Option> and more":               "Vec<Option> and more",
		"HashMap<K, V> explained":            "HashMap<K, V> explained", // "k," is no element, "v" no live attribute
		"What is <?php echo 1 ?>":            "What is <?php echo 1 ?>",
		"I </3 Mondays":                      "I </3 Mondays",
		"<!DOCTYPE html> explained":          "<!DOCTYPE html> explained",
		"unterminated <b":                    "unterminated <b",
		"AT&T <b>x":                          "AT&T <b>x",     // a bare & is no reference
		"&ampfoo; <b>x":                      "&ampfoo; <b>x", // nor a name an entity only begins
		"&foo; <b>x":                         "&foo; <b>x",

		// HTML titles: Atom type="html"/"xhtml", RSS titles in CDATA.
		"<b>Breaking</b>: news":                                  "Breaking: news",
		"<B>Upper</B> case":                                      "Upper case",
		"<p>两<strong>市</strong>成交</p>":                           "两市成交",
		"<i>Nature</i> &amp; <b>Science</b>":                     "Nature & Science",
		`<a href="https://x.example/?a=1&amp;b=2">Link</a> text`: "Link text",
		"Q&amp;A<br>live":                                        "Q&A live", // no closing tag, but an entity left
		"&#20013;<b>文":                                           "中文",
		"<em>Rust</em>  1.80\n released":                         "Rust 1.80 released",
		"<span class=\"x\">A股</span>收涨<!-- ad -->":               "A股收涨",
		"<script>alert(1)</script>":                              "", // no text: the item borrows its content's start

		// Markup meant to run is HTML whatever else the title holds,
		// and loses its tags: never handed to a reader that shows
		// titles as HTML.
		"<img src=x onerror=alert(1)>":        "",
		"<img src=x onerror=alert(1)><Foo>":   "",
		`<a href="javascript:alert(1)">click`: "click",
		"<iframe src=//evil.example/>":        "",
		"<x onmouseover=alert(1)>hover":       "hover",
		"<svg onload=alert(1)>":               "",
		"<svg><title>s</title></svg>":         "",
		"Vec<String> <b class=x>y":            "Vec y",
		"<b>Hi</b><script>x()</script>":       "Hi",
	} {
		if got := Title(in); got != want {
			t.Errorf("Title(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkPlain(b *testing.B) {
	para := "<p>沪深两市成交额突破<strong>1.2万亿元</strong>，北向资金净流入 <a href=\"https://example.com/x?a=1&amp;b=2\">45亿元</a>，科技 ETF 领涨。</p>\n"
	s := strings.Repeat(para, 12)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		Plain(s)
	}
}

// BenchmarkTitleAmpersands is a hostile title (a feed's <title> may be
// megabytes): many "&" and one ";" at the end. Reading it must stay
// linear in its length.
func BenchmarkTitleAmpersands(b *testing.B) {
	s := "<b>" + strings.Repeat("&", 100_000) + ";"
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		Title(s)
	}
}
