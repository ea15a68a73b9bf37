package story

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/feedrelay/feedrelay/htmltext"
)

// originReference is Origin as it was before it stopped converting the
// text to runes and started the regexp at the first "来源" (issue 16): the
// oracle FuzzOriginSame compares Origin with.
func originReference(contentHTML string) string {
	if !strings.Contains(contentHTML, "来源") {
		return ""
	}
	if len(contentHTML) > 2000 {
		cut := len(contentHTML) - 2000
		for cut < len(contentHTML) && !utf8.RuneStart(contentHTML[cut]) {
			cut++
		}
		contentHTML = contentHTML[cut:]
	}
	text := htmltext.Plain(contentHTML)
	if r := []rune(text); len(r) > 300 {
		text = string(r[len(r)-300:])
	}
	m := originRe.FindAllStringSubmatch(text, -1)
	if len(m) == 0 {
		return ""
	}
	return strings.TrimSpace(m[len(m)-1][1])
}

var originSeeds = []string{
	"<p>正文</p><p>（文章来源：证券时报）</p>",
	"<p>来源：新华社</p><p>" + strings.Repeat("正文很长。", 100) + "</p>",
	"<p>" + strings.Repeat("正文很长。", 100) + "稿件来源: 中证网</p>",
	"来源：A来源：B",
	"内容来源：上海证券报 文章来源：第一财经",
	"a来源：甲乙 b新闻来源 ： 丙丁",
	"来源<b>：</b>财新网",
	"来源\xff：坏字节\xfe",
	"\xff\xfe" + strings.Repeat("字", 301) + "来源：末尾",
	strings.Repeat("x", 1990) + "来源：截断",
	"<script>来源：脚本</script>文章来源：正文",
	"来源：x",
	"来源",
	// 301 characters: "来源" starts the last 300.
	"x来源：甲乙" + strings.Repeat("，", 295),
	"xx来源：甲乙" + strings.Repeat("，", 295),
}

// FuzzOriginSame: Origin finds what the straightforward reading finds.
func FuzzOriginSame(f *testing.F) {
	for _, s := range originSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Origin(s), originReference(s); got != want {
			t.Errorf("Origin(%q) = %q, want %q", s, got, want)
		}
	})
}
