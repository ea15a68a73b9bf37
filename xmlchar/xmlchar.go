// Package xmlchar knows which characters XML 1.0 allows (§2.2 Char) and
// removes the others from text: the C0 controls other than tab, line feed
// and carriage return, the surrogates, U+FFFE and U+FFFF. Feed readers
// reject a document holding one (encoding/xml stops at the first with
// "illegal character code"), and no format feedrelay writes — Atom, RSS,
// JSON Feed, HTML, OPML — should carry one, even escaped (JSON's \u0000).
// It is a leaf: what reads feeds and what publishes them both use it.
package xmlchar

import (
	"strings"
	"unicode/utf8"
)

// Allowed reports whether XML 1.0 §2.2 allows r in a document.
func Allowed(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r < 0x20:
		return false
	case r <= 0xD7FF:
		return true
	case r < 0xE000:
		return false // surrogates
	case r <= 0xFFFD:
		return true
	case r < 0x10000:
		return false // U+FFFE, U+FFFF
	}
	return r <= utf8.MaxRune
}

// Clean is s without the characters XML 1.0 forbids. Bytes that are not
// UTF-8 are left as they are (every encoder we use replaces them with
// U+FFFD). s itself is returned, not copied, when it holds none, which is
// the common case.
func Clean(s string) string {
	i := forbidden(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		_, n := utf8.DecodeRuneInString(s[i:])
		s = s[i+n:]
		i = forbidden(s)
	}
	b.WriteString(s)
	return b.String()
}

// forbidden is the index of the first forbidden character of s, or -1.
func forbidden(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError && !Allowed(r) {
			return i
		}
		i += n
	}
	return -1
}
