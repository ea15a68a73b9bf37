package config

import (
	"strings"
	"unicode"

	"github.com/mozillazg/go-pinyin"
)

// Slugify derives a URL slug from a name: Chinese characters become their
// toneless pinyin run together (证券时报网 → zhengquanshibaowang), ASCII
// letters and digits (full-width ones too) are kept lower-cased, and anything
// else separates words with a single '-'. Polyphones can come out wrong (银行 → yinxing), which is
// why every slug can be set explicitly in the YAML.
func Slugify(name string) string {
	args := pinyin.NewArgs()
	var b strings.Builder
	sep := false
	for _, r := range name {
		if r >= '！' && r <= '～' {
			r -= '！' - '!' // full-width forms (ＦＴ, ３６) → ASCII
		}
		var part string
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			part = string(unicode.ToLower(r))
		case unicode.Is(unicode.Han, r):
			if py := pinyin.SinglePinyin(r, args); len(py) > 0 {
				part = py[0]
			}
		}
		if part == "" {
			sep = b.Len() > 0
			continue
		}
		if sep {
			b.WriteByte('-')
			sep = false
		}
		b.WriteString(part)
	}
	return b.String()
}

// validSlug reports whether s can appear as one path segment of our URLs.
func validSlug(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
