package storage

import (
	"math/bits"
	"unicode"
	"unicode/utf8"
)

// The search index's terms (migration 0010), computed here rather than by
// FTS5's trigram tokenizer: an item's terms are the distinct case-folded
// windows of three characters of its title and of its plain text, each
// window cut short where it reaches white space or the end of its column
// ("ab cd" gives "ab", "b", "cd" and "d"). A term of three or more
// characters is found through each of its trigrams; a term of one or two,
// which is never cut in two by white space (search terms hold none), is a
// prefix of the window that begins at each of its occurrences.
//
// The terms are written space-separated into a column FTS5's ascii
// tokenizer reads, which keeps runs of ASCII letters and digits and of
// bytes ≥ 0x80 as tokens and folds A–Z. Each character of a term is
// written so that it survives that tokenizer and no encoded character is
// the beginning of another's (a prefix of encoded terms is the encoding of
// a prefix of characters, for the vocabulary scans of short terms):
//   - an ASCII letter or digit as itself, lower-cased;
//   - any other ASCII character (punctuation, controls) as 0xFF and the
//     byte with its high bit set, two bytes valid UTF-8 never holds;
//   - anything else as the UTF-8 bytes of the rune foldRune folds it to.
//
// Documents and queries go through the same foldRune and appendTermRune.

// termRunes is the length of the longest term: a trigram.
const termRunes = minTrigram

// termEscape begins the encoding of an ASCII character that is neither a
// letter nor a digit.
const termEscape = 0xFF

// foldRune is r as the index compares it, case-folded as FTS5's trigram
// tokenizer (which built the index before migration 0010) folds: to lower
// case, the variant lower-case forms included (ς and σ, ſ and s, µ and μ),
// but İ and ı kept as they are. FTS5's tables are from Unicode 6.1: the case pairs
// Unicode added since (Cherokee, Georgian Mtavruli, Osage, …) are folded
// here, and were not before (TestFoldRune_AsFTS5).
func foldRune(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	case caseless(r), r == 'İ', r == 'ı':
		return r
	}
	return unicode.ToLower(unicode.ToUpper(r))
}

// caseless is true of the runes of the CJK and Hangul blocks, which have no
// case (TestCaseless checks the ranges against unicode's tables): most of
// the text indexed, folded without a look-up.
func caseless(r rune) bool {
	return 0x2E80 <= r && r < 0xA640 || 0xAC00 <= r && r < 0xD7A4
}

// isSpace is unicode.IsSpace (the separator of strings.Fields, which splits
// queries into terms), without its tables for the runes above U+3000,
// none of which is white space (TestIsSpace).
func isSpace(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		return r == ' ' || '\t' <= r && r <= '\r'
	case r > 0x3000:
		return false
	}
	return unicode.IsSpace(r)
}

// appendTermRune appends the encoding of r, already folded, to b.
func appendTermRune(b []byte, r rune) []byte {
	if r < utf8.RuneSelf {
		c := byte(r)
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			return append(b, c)
		}
		return append(b, termEscape, c|0x80)
	}
	return utf8.AppendRune(b, r)
}

// encodeTerm is the index's encoding of the characters of s, case-folded.
func encodeTerm(s string) string {
	b := make([]byte, 0, len(s)+4)
	for _, r := range s {
		b = appendTermRune(b, foldRune(r))
	}
	return string(b)
}

// termsAfter is the least string greater than every string that begins
// with prefix, and false when there is none (prefix is all 0xFF bytes or
// empty): the upper bound of a scan of the terms that begin with prefix.
func termsAfter(prefix string) (string, bool) {
	b := []byte(prefix)
	for len(b) > 0 && b[len(b)-1] == 0xFF {
		b = b[:len(b)-1]
	}
	if len(b) == 0 {
		return "", false
	}
	b[len(b)-1]++
	return string(b), true
}

// termSet computes items' distinct terms; its buffers are reused from one
// item to the next (one termSet per goroutine).
type termSet struct {
	runes []rune   // a column's runes, folded; -1 for white space
	enc   []byte   // their encodings, one after the other
	off   []int32  // where each rune's encoding begins in enc, and the end
	slots []uint64 // a set of window keys (0: empty), open addressing
	out   []byte
}

// terms returns the space-separated encoded terms of the given columns,
// each term once.
func (s *termSet) terms(columns ...string) string {
	n := 0
	for _, col := range columns {
		n += len(col) // at least the number of runes
	}
	size := 1024
	for size < 2*n {
		size *= 2
	}
	if len(s.slots) < size {
		s.slots = make([]uint64, size)
	} else {
		s.slots = s.slots[:size]
		clear(s.slots)
	}
	shift := 64 - uint(bits.TrailingZeros(uint(size)))
	s.out = s.out[:0]
	for _, col := range columns {
		s.runes, s.enc, s.off = s.runes[:0], s.enc[:0], s.off[:0]
		for _, r := range col {
			s.off = append(s.off, int32(len(s.enc)))
			if isSpace(r) {
				s.runes = append(s.runes, -1)
				continue
			}
			r = foldRune(r)
			s.runes = append(s.runes, r)
			s.enc = appendTermRune(s.enc, r)
		}
		s.off = append(s.off, int32(len(s.enc)))
		rs := s.runes
		end := 0 // the end of the run of non-space runes holding i
		for i, r := range rs {
			if r < 0 {
				continue
			}
			if i >= end {
				for end = i + 1; end < len(rs) && rs[end] >= 0; end++ {
				}
			}
			// The window's key: each rune + 1 (NUL is a rune, 0 is none) in
			// 21 bits, three of them.
			j := min(i+termRunes, end)
			var k uint64
			for _, r := range rs[i:j] {
				k = k<<21 | uint64(r+1)
			}
			k <<= 21 * uint(termRunes-(j-i))
			h := (k * 0x9E3779B97F4A7C15) >> shift
			for s.slots[h] != 0 && s.slots[h] != k {
				h = (h + 1) & uint64(size-1)
			}
			if s.slots[h] == k {
				continue
			}
			s.slots[h] = k
			if len(s.out) > 0 {
				s.out = append(s.out, ' ')
			}
			s.out = append(s.out, s.enc[s.off[i]:s.off[j]]...)
		}
	}
	return string(s.out)
}
