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
