package feeds

import (
	"bytes"

	"github.com/feedrelay/feedrelay/xmlchar"
)

// stripForbidden removes from a UTF-8 feed body the characters XML 1.0
// forbids (§2.2 Char: the C0 controls other than tab, LF and CR, U+FFFE
// and U+FFFF; surrogates cannot occur in valid UTF-8), so that one stray
// character does not fail the whole feed: encoding/xml stops at the first
// with "illegal character code". In XML (isXML) it also removes character
// references to them (&#1;, &#x1F;, &#xFFFE;, &#0;, &#xD800;, beyond
// U+10FFFF), which are as fatal, except inside CDATA sections and
// comments, where "&#1;" is just text. A JSON body loses only the raw
// characters: a JSON string cannot hold raw C0 controls either.
//
// The body is returned unchanged (not copied) when it holds none.
func stripForbidden(doc []byte, isXML bool) []byte {
	// Raw characters go first: the parser reads what is left, in which
	// "&#11\x017;" has become a reference.
	doc = strip(doc, false)
	for isXML && bytes.Contains(doc, charRefStart) {
		// Again until nothing changes: "&#&#1;1;" leaves "&#1;".
		next := strip(doc, true)
		if len(next) == len(doc) {
			break
		}
		doc = next
	}
	return doc
}

// strip removes raw forbidden characters, or (refs) forbidden character
// references outside CDATA sections and comments.
func strip(doc []byte, refs bool) []byte {
	var out []byte // nil until the first removal
	keep := 0      // doc[keep:i] is yet to be copied to out
	drop := func(i, n int) {
		if out == nil {
			out = make([]byte, 0, len(doc))
		}
		out = append(out, doc[keep:i]...)
		keep = i + n
	}
	inCDATA, inComment := false, false
	for i := 0; i < len(doc); {
		// Skip to the next byte that can start something to remove (or a
		// CDATA section or comment): most bodies have none.
		switch {
		case !refs:
			for i < len(doc) && !rawStop[doc[i]] {
				i++
			}
		case inCDATA:
			i = skipTo(doc, i, cdataEnd)
		case inComment:
			i = skipTo(doc, i, commentEnd)
		default:
			for i < len(doc) && doc[i] != '<' && doc[i] != '&' {
				i++
			}
		}
		if i >= len(doc) {
			break
		}
		c := doc[i]
		switch {
		case !refs && c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			drop(i, 1)
			i++
			continue
		case !refs && c == 0xEF && i+2 < len(doc) && doc[i+1] == 0xBF && (doc[i+2] == 0xBE || doc[i+2] == 0xBF):
			drop(i, 3) // U+FFFE, U+FFFF
			i += 3
			continue
		case !refs:
		case inCDATA:
			if c == ']' && bytes.HasPrefix(doc[i:], cdataEnd) {
				inCDATA = false
				i += 3
				continue
			}
		case inComment:
			if c == '-' && bytes.HasPrefix(doc[i:], commentEnd) {
				inComment = false
				i += 3
				continue
			}
		case c == '<' && bytes.HasPrefix(doc[i:], []byte("<![CDATA[")):
			inCDATA = true
			i += len("<![CDATA[")
			continue
		case c == '<' && bytes.HasPrefix(doc[i:], []byte("<!--")):
			inComment = true
			i += len("<!--")
			continue
		case c == '&' && i+1 < len(doc) && doc[i+1] == '#':
			if n, forbidden := charRef(doc[i:]); forbidden {
				drop(i, n)
				i += n
				continue
			}
		}
		i++
	}
	if out == nil {
		return doc
	}
	return append(out, doc[keep:]...)
}

var (
	charRefStart = []byte("&#")
	cdataEnd     = []byte("]]>")
	commentEnd   = []byte("-->")
)

// rawStop are the bytes at which a raw forbidden character may start: the
// C0 controls but tab, LF and CR, and 0xEF (U+FFFE and U+FFFF are EF BF BE
// and EF BF BF).
var rawStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = c != '\t' && c != '\n' && c != '\r'
	}
	t[0xEF] = true
	return t
}()

// skipTo is the index of the next end in doc from i, or len(doc).
func skipTo(doc []byte, i int, end []byte) int {
	if k := bytes.Index(doc[i:], end); k >= 0 {
		return i + k
	}
	return len(doc)
}

// charRef reads the character reference at the start of s ("&#…;") and
// reports its length and whether it names a character XML 1.0 forbids.
// Something that is not a well-formed reference is left to the parser.
func charRef(s []byte) (n int, forbidden bool) {
	i, base := 2, rune(10)
	if i < len(s) && (s[i] == 'x' || s[i] == 'X') {
		i, base = 3, 16
	}
	start := i
	var v rune
	for ; i < len(s) && s[i] != ';'; i++ {
		d := rune(-1)
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			d = rune(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			d = rune(c-'A') + 10
		}
		if d < 0 {
			return 0, false
		}
		if v <= 0x10FFFF { // beyond it stays beyond it, without overflow
			v = v*base + d
		}
	}
	if i == start || i >= len(s) {
		return 0, false
	}
	return i + 1, !xmlchar.Allowed(v)
}
