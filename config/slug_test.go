package config

import (
	"strings"
	"testing"
)

func TestSlugify(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// Chinese: toneless pinyin, syllables run together.
		{"证券时报网", "zhengquanshibaowang"},
		{"中国新闻网财经", "zhongguoxinwenwangcaijing"},
		{"华尔街见闻", "huaerjiejianwen"},
		{"宏观与政策", "hongguanyuzhengce"},
		{"〇", "ling"},
		// Mixed scripts: ASCII next to Han runs together like the
		// syllables do; a space (or other punctuation) gives a dash.
		{"FT中文网", "ftzhongwenwang"},
		{"FT 中文网", "ft-zhongwenwang"},
		{"A股", "agu"},
		{"iPhone15手机", "iphone15shouji"},
		{"2026年报", "2026nianbao"},
		// Full-width letters and digits count as ASCII, full-width
		// punctuation as punctuation.
		{"ＦＴ中文网", "ftzhongwenwang"},
		{"３６氪", "36ke"},
		{"证券时报网（快讯）", "zhengquanshibaowang-kuaixun"},
		{"证券时报网·要闻", "zhengquanshibaowang-yaowen"},
		{"财经，要闻。", "caijing-yaowen"},
		// ASCII: lower-cased; any run of other characters is one dash,
		// never leading or trailing.
		{"Hello World", "hello-world"},
		{"  Hello,  World!! ", "hello-world"},
		{"C++ & Go", "c-go"},
		{"a--b", "a-b"},
		{"-abc-", "abc"},
		{"a_b", "a-b"},
		{"a.b/c", "a-b-c"},
		{"tab\tand\nnewline", "tab-and-newline"},
		{"stcn", "stcn"},
		{"chinanews-finance", "chinanews-finance"},
		// Known limits, documented: polyphones take their most common
		// reading, and letters outside ASCII separate words.
		{"银行", "yinxing"},
		{"重庆", "zhongqing"},
		{"Café Noir", "caf-noir"},
		// Nothing to keep.
		{"", ""},
		{"!!!", ""},
		{"——", ""},
		{"   ", ""},
	} {
		if got := Slugify(tc.in); got != tc.want {
			t.Errorf("Slugify(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidSlug(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"zhengquanshibaowang", true},
		{"chinanews-finance", true},
		{"a_b", true},
		{"36kr", true},
		{"-", true},
		{"", false},
		{"Caijing", false},
		{"c/d", false},
		{"a b", false},
		{"a.atom", false},
		{"证券", false},
		{"%20", false},
	} {
		if got := validSlug(tc.in); got != tc.want {
			t.Errorf("validSlug(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// FuzzSlugify checks what every derived slug must be: empty or valid, made
// of a-z, 0-9 and single inner dashes, and unchanged by slugifying again.
func FuzzSlugify(f *testing.F) {
	for _, s := range []string{"证券时报网", "FT中文网", " a--b ", "３６氪", "Café", "\xff\xfe", "𠀀x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s := Slugify(in)
		if s == "" {
			return
		}
		if !validSlug(s) || strings.Contains(s, "_") {
			t.Errorf("Slugify(%q) = %q: not a-z, 0-9 and -", in, s)
		}
		if strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") || strings.Contains(s, "--") {
			t.Errorf("Slugify(%q) = %q: stray dash", in, s)
		}
		if again := Slugify(s); again != s {
			t.Errorf("Slugify(%q) = %q, but Slugify(%q) = %q", in, s, s, again)
		}
	})
}
