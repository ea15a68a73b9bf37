package story

import (
	"strings"
	"testing"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// titleKeyReference is TitleKey as it was before issue 16 (a normalized
// copy of the title, read rune by rune): the oracle of FuzzTitleKeySame.
func titleKeyReference(title string) string {
	var b strings.Builder
	n := 0
	for _, r := range norm.NFKC.String(title) {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			b.WriteRune(unicode.ToLower(r))
			n++
		}
	}
	if n < MinTitleKey {
		return ""
	}
	return b.String()
}

var titleKeySeeds = []string{
	"", "快讯", "A股三大指数集体收涨 创业板指涨1.23%（7）", "Stock Connect 周报：外资本周净流入12亿元，增持3只个股 & 减持4只",
	"ＡＢＣ１２３全角字母数字测试标题", "ＨＥＬＬＯ Ｗｏｒｌｄ ２０２６", "Ⅻ ① ㊿ ½ ² ﬁ ﬀ ㍿ ㎏", "ÀÉÎÕÜ àéîõü Straße İstanbul ǅ",
	"e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301", "a" + strings.Repeat("\u0301", 40) + "bcdefghij",
	"\xff\xfe无效字节\xc0\x80标题标题", "한국어 제목 테스트입니다", "ｶﾀｶﾅのﾀｲﾄﾙﾃｽﾄです", "Αθήνα ΚΕΦΑΛΑΙΑ ελληνικά",
	"12345678", "1234567", "a-b_c.d/e:f;g!h?i", "\u3000\u3000全角空格标题测试中",
}

// FuzzTitleKeySame: TitleKey is the key the former code made.
func FuzzTitleKeySame(f *testing.F) {
	for _, s := range titleKeySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := TitleKey(s), titleKeyReference(s); got != want {
			t.Errorf("TitleKey(%q) = %q, want %q", s, got, want)
		}
	})
}

// BenchmarkTitleKey keys titles as the bench sources write them (one op is
// one title).
func BenchmarkTitleKey(b *testing.B) {
	titles := []string{
		"A股三大指数集体收涨 创业板指涨1.23%（7）", "央行开展2000亿元逆回购操作 维护流动性合理充裕（12）",
		"券商观点：结构性行情延续 关注科技成长主线（第9期）", "Stock Connect 周报：外资本周净流入12亿元，增持3只个股 & 减持4只",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		TitleKey(titles[i%len(titles)])
	}
}
