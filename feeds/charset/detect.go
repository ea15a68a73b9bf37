package charset

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gogs/chardet"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
)

// minConfidence is the least detector confidence (1–100) a guess needs.
// ICU's multi-byte recognisers (GB18030, Big5, EUC-JP, EUC-KR, Shift_JIS)
// give 100 to a few lines of real text; its single-byte ones give KOI8-R
// Russian 65 and ISO-8859-8 Hebrew 52, and a script it has no model for
// (TIS-620 Thai) 10–20 for some wrong Latin charset, which must stay a
// U+FFFD-and-warning reading rather than confident mojibake.
const minConfidence = 50

// guessed is a body decoded in a detected encoding.
type guessed struct {
	text []byte
	res  Result
}

// detect guesses the encoding of body, which declares none and is not
// UTF-8: invalid of its nonASCII bytes are not in valid UTF-8 sequences.
// It answers only when the guess is better than reading the body as UTF-8
// with replacements:
//   - most non-ASCII bytes are not UTF-8 (a UTF-8 feed with one stray
//     byte is UTF-8, whatever the detector makes of its Chinese);
//   - the detector's best result is confident (minConfidence), names an
//     encoding other than UTF-8 that Lookup knows (GB18030 for GB 2312
//     and GBK, windows-1252 for ISO-8859-1, as if declared);
//   - decoded in it, the body has fewer replaced sequences than invalid
//     UTF-8 bytes.
func detect(body []byte, invalid, nonASCII int) (guessed, bool) {
	if invalid*2 < nonASCII {
		return guessed{}, false
	}
	// The HTML detector skips markup when the input has enough of it,
	// so that element names do not outvote the text; ICU reads at most
	// the first 8 KB.
	best, err := chardet.NewHtmlDetector().DetectBest(body)
	if err != nil || best.Confidence < minConfidence {
		return guessed{}, false
	}
	enc, err := Lookup(best.Charset)
	if err != nil || enc == unicode.UTF8 {
		return guessed{}, false
	}
	text, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return guessed{}, false
	}
	replaced := bytes.Count(text, replacement)
	if replaced >= invalid {
		return guessed{}, false
	}
	// Named as what decoded it: ISO-8859-1 was read as windows-1252.
	label := best.Charset
	if n, err := htmlindex.Name(enc); err == nil {
		label = n
	} else if n, err := ianaindex.MIME.Name(enc); err == nil {
		label = n
	}
	return guessed{text: text, res: Result{Label: strings.ToLower(label), Reason: "detected",
		Confidence: best.Confidence, Replaced: replaced, Size: len(body)}}, true
}

// invalidUTF8 counts the bytes of body that are not in a valid UTF-8
// sequence, and those that are not ASCII.
func invalidUTF8(body []byte) (invalid, nonASCII int) {
	for i := 0; i < len(body); {
		if body[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && n == 1 {
			invalid++
		}
		nonASCII += n
		i += n
	}
	return invalid, nonASCII
}

// replacedWarnShare is the share of a body's bytes replaced with U+FFFD
// (1 in replacedWarnShare) from which Warning speaks: a stray byte in a
// large feed (a title cut mid-character) is not worth a standing warning,
// a wrong charset is.
const replacedWarnShare = 100

// Warning is what an operator should know of how the body was read, or ""
// when it read cleanly as declared: that its charset was guessed, or its
// declaration overruled by its bytes, or that many of its bytes (1 % or
// more) were not valid in the charset used and were replaced with U+FFFD.
func (r Result) Warning() string {
	var parts []string
	switch {
	case r.Reason == "detected" && r.Declared != "":
		parts = append(parts, fmt.Sprintf("declared %s, but the bytes are not UTF-8; read as %s (detected, confidence %d%%)", r.Declared, r.Label, r.Confidence))
	case r.Reason == "detected":
		parts = append(parts, fmt.Sprintf("charset not declared; read as %s (detected, confidence %d%%)", r.Label, r.Confidence))
	case r.Reason == "utf-8 bytes":
		parts = append(parts, fmt.Sprintf("declared %s, but the bytes are UTF-8; read as UTF-8", r.Declared))
	}
	if r.Replaced > 0 && r.Replaced*replacedWarnShare >= r.Size {
		noun := "bytes"
		if r.Replaced == 1 {
			noun = "byte"
		}
		switch r.Reason {
		case "default":
			parts = append(parts, fmt.Sprintf("charset not declared and not detected; %d %s not valid UTF-8 replaced with U+FFFD (the source's charset setting can name it)", r.Replaced, noun))
		case "detected":
			parts = append(parts, fmt.Sprintf("%d %s not valid in it replaced with U+FFFD", r.Replaced, noun))
		default:
			parts = append(parts, fmt.Sprintf("%d %s not valid %s (named by the %s) replaced with U+FFFD", r.Replaced, noun, r.Label, namedBy[r.Reason]))
		}
	}
	return strings.Join(parts, "; ")
}
