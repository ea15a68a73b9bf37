// Package charset decides the character encoding of a fetched feed or web
// page and converts it to UTF-8 before any XML, HTML or JSON parser sees the
// bytes.
//
// For a feed (ToUTF8) the order follows RFC 7303 §3: a byte order mark wins,
// then the charset parameter of the HTTP Content-Type, then the XML
// declaration, then UTF-8 — or, when the bytes are not UTF-8, the encoding
// a charset detector recognises with confidence (a GB 2312 feed that
// declares nothing is common on Chinese sites). For an HTML page (PageToUTF8) the HTML
// standard's <meta> prescan takes the declaration's place: <meta charset>
// or <meta http-equiv="Content-Type" content="…; charset=…"> within the
// first 1024 bytes. An operator's per-source override beats all of them,
// because the operator has looked at the bytes. One pragmatic exception,
// common on Chinese sites: when HTTP claims UTF-8 but the body is not valid
// UTF-8 and the declaration (or <meta>) names another encoding, the
// declaration is believed.
package charset

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	xhtml "golang.org/x/net/html"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
	"golang.org/x/text/transform"
)

// Lookup returns the encoding for a charset label, or an error naming the
// label when no encoding goes by it. It is the program's one table of
// charset names: the fetcher, config validation and the OPML reader all
// resolve labels here.
//
// Labels are resolved through x/text's indexes, not a list of our own:
// first the WHATWG Encoding Standard's labels (htmlindex: what browsers
// accept, e.g. latin1 and iso-8859-1 as windows-1252, which feeds labelled
// so really are), then the IANA registry's names and aliases (ianaindex:
// cp936, ibm850, csKOI8R…), then, for names neither registry spells that
// way (MacCyrillic, mac-cyrillic, iso8859_15, Shift-JIS), the names x/text
// gives each encoding it implements, compared loosely (see looseKey).
//
// Rules on top of the indexes:
//   - Every label of GB 2312 or GBK (gb2312, gbk, cp936, windows-936,
//     euc-cn…) decodes as GB18030, their superset: servers that say gb2312
//     routinely send GBK and GB18030 characters, and x/text's GBK decoder
//     turns GB18030's four-byte sequences into U+FFFD.
//   - utf-16 without a BOM is big-endian (RFC 2781 §4.3), not WHATWG's
//     little-endian; utf-32 labels, which no index lists, are read with
//     x/text's utf32.
//   - An encoding WHATWG maps to "replacement" (iso-2022-kr, hz-gb-2312…)
//     is taken from IANA if x/text implements it, else refused: replacing
//     a whole feed with one U+FFFD is losing it silently.
func Lookup(label string) (encoding.Encoding, error) {
	l := strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
	if l == "" {
		return nil, fmt.Errorf("unknown charset %q", label)
	}
	if e, ok := unicodeLabels[l]; ok {
		return e, nil
	}
	e, registered := lookupExact(l)
	if e == nil {
		e = looseNames()[looseKey(l)]
	}
	if e == nil {
		if registered {
			return nil, fmt.Errorf("charset %q is not supported (x/text has no decoder for it)", label)
		}
		return nil, fmt.Errorf("unknown charset %q", label)
	}
	return gbAsGB18030(e), nil
}

// NewReader returns a reader of r, text in the charset label names,
// converted to UTF-8. It has the signature of encoding/xml's
// Decoder.CharsetReader, for documents read with encoding/xml.
func NewReader(label string, r io.Reader) (io.Reader, error) {
	e, err := Lookup(label)
	if err != nil {
		return nil, err
	}
	return transform.NewReader(r, e.NewDecoder()), nil
}

// unicodeLabels are the UTF labels whose meaning differs from the indexes'
// or that no index lists.
var unicodeLabels = map[string]encoding.Encoding{
	"utf-16":   unicode.UTF16(unicode.BigEndian, unicode.UseBOM),
	"utf-32":   utf32.UTF32(utf32.BigEndian, utf32.UseBOM),
	"utf-32be": utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM),
	"utf-32le": utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM),
	"ucs-4":    utf32.UTF32(utf32.BigEndian, utf32.UseBOM),
	// EUC-CN is GB 2312's byte form; x/text's indexes know it only under
	// GB 2312's own names.
	"euc-cn":   simplifiedchinese.GB18030,
	"x-euc-cn": simplifiedchinese.GB18030,
}

// lookupExact looks label up in the WHATWG index, then in IANA's.
// registered reports whether either index knows the name, even when x/text
// has no decoder for it.
func lookupExact(label string) (e encoding.Encoding, registered bool) {
	if e, err := htmlindex.Get(label); err == nil {
		registered = true
		if e != encoding.Replacement {
			return e, true
		}
	}
	if e, err := ianaindex.IANA.Encoding(label); err == nil {
		return e, true // nil when IANA lists the name but x/text lacks it
	}
	return nil, registered
}

// gbAsGB18030 returns GB18030 for GBK (what every GB 2312 and GBK label
// resolves to in x/text), e otherwise.
func gbAsGB18030(e encoding.Encoding) encoding.Encoding {
	if e == simplifiedchinese.GBK {
		return simplifiedchinese.GB18030
	}
	return e
}

// looseKey folds the spellings of one charset name together: case,
// punctuation and spaces ("Shift JIS", shift-jis, shift_jis), an "x-"
// prefix of unregistered names (x-mac-cyrillic), and "macintosh" written
// "mac" (MacCyrillic is x/text's "Macintosh Cyrillic").
func looseKey(name string) string {
	name = strings.ToLower(name)
	name = strings.TrimPrefix(name, "x-")
	var b strings.Builder
	for _, r := range name {
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			b.WriteRune(r)
		}
	}
	return strings.Replace(b.String(), "macintosh", "mac", 1)
}

// looseNames maps the looseKey of every name x/text gives an encoding it
// implements (its own, IANA's, the MIME one, WHATWG's) to that encoding, as
// the exact indexes would resolve its MIME or WHATWG name, so that a
// loosely spelled label means what its proper spelling means
// (iso8859_1 → windows-1252, like iso-8859-1). Keys two encodings claim are
// left out: a loose match must not guess.
var looseNames = sync.OnceValue(func() map[string]encoding.Encoding {
	var all []encoding.Encoding
	for _, set := range [][]encoding.Encoding{charmap.All, japanese.All, korean.All,
		simplifiedchinese.All, traditionalchinese.All, unicode.All} {
		all = append(all, set...)
	}
	names := map[string]encoding.Encoding{}
	ambiguous := map[string]bool{}
	for _, e := range all {
		canon := e
		var keys []string
		if s, ok := e.(fmt.Stringer); ok {
			keys = append(keys, s.String())
		}
		if n, err := ianaindex.IANA.Name(e); err == nil {
			keys = append(keys, n)
		}
		if n, err := ianaindex.MIME.Name(e); err == nil {
			keys = append(keys, n)
			if exact, _ := lookupExact(strings.ToLower(n)); exact != nil {
				canon = exact
			}
		}
		if n, err := htmlindex.Name(e); err == nil {
			keys = append(keys, n)
			if exact, _ := lookupExact(n); exact != nil {
				canon = exact
			}
		}
		for _, k := range keys {
			k = looseKey(k)
			if k == "" || ambiguous[k] {
				continue
			}
			if prev, ok := names[k]; ok && prev != canon {
				delete(names, k)
				ambiguous[k] = true
				continue
			}
			names[k] = canon
		}
	}
	return names
})

// Result says which encoding was used and why, and how well the body read
// in it.
type Result struct {
	Label string // the charset the body was decoded from, e.g. "gb18030"
	// Reason is where Label came from: "override", "bom", "http", "xml
	// declaration", "meta", "default" (nothing said; UTF-8), or
	// "detected" (nothing said, the bytes are not UTF-8, and the detector
	// recognised Label: see detect).
	Reason string
	// Confidence is the detector's confidence (1–100) when Reason is
	// "detected".
	Confidence int
	// Replaced is how many bytes (byte sequences, for encodings other
	// than UTF-8) were not valid in Label and became U+FFFD.
	Replaced int
	// Size is the length of the body in bytes.
	Size int
	// Declared is the charset the body was said to be in when its bytes
	// proved otherwise (Reason "utf-8 bytes", or "detected" behind an
	// HTTP charset of UTF-8), and who said it: "gb2312 (HTTP
	// Content-Type)". Empty otherwise.
	Declared string
}

// namedBy says, for an error, where a Result.Reason's label was read.
var namedBy = map[string]string{
	"override": "source's charset setting", "bom": "byte order mark",
	"http": "HTTP Content-Type", "xml declaration": "XML declaration", "meta": "HTML <meta> charset",
	"default": "default", "detected": "charset detector", "utf-8 bytes": "bytes themselves",
}

var (
	xmlDecl     = regexp.MustCompile(`^\s*<\?xml[^>]*?\?>`)
	xmlEncoding = regexp.MustCompile(`(encoding\s*=\s*)(?:"([^"]*)"|'([^']*)')`)
)

// ToUTF8 converts body to UTF-8. contentType is the HTTP Content-Type (may be
// empty); override is the operator's charset for this source (may be empty).
// Bytes that are invalid in the chosen encoding become U+FFFD rather than
// failing the whole feed (Result.Replaced counts them). When nothing names
// the charset and the body is not UTF-8, the encoding is detected (see
// detect). Result.Warning says what an operator should know of either. The XML declaration, if any, is rewritten to say
// utf-8 so that the parser does not try to convert a second time.
func ToUTF8(body []byte, contentType, override string) ([]byte, Result, error) {
	return toUTF8(body, contentType, override, declaredEncoding(body), "xml declaration")
}

// PageToUTF8 converts an HTML page to UTF-8, as ToUTF8 converts a feed, with
// the page's <meta> charset (see metaCharset) where a feed has its XML
// declaration. An XHTML page's XML declaration counts when no <meta> says.
// The <meta> is left as it is: HTML parsers given bytes do not re-decode.
func PageToUTF8(body []byte, contentType, override string) ([]byte, Result, error) {
	if cs := metaCharset(body); cs != "" {
		return toUTF8(body, contentType, override, cs, "meta")
	}
	return ToUTF8(body, contentType, override)
}

// toUTF8 is ToUTF8 and PageToUTF8: declared is the encoding the document
// names itself ("" for none), declaredBy the Result.Reason it is given.
func toUTF8(body []byte, contentType, override, declared, declaredBy string) ([]byte, Result, error) {
	label, reason := "", ""
	switch {
	case override != "":
		label, reason = override, "override"
	case bytes.HasPrefix(body, []byte{0xEF, 0xBB, 0xBF}):
		label, reason = "utf-8", "bom"
	case bytes.HasPrefix(body, []byte{0xFF, 0xFE, 0, 0}):
		label, reason = "utf-32le", "bom"
	case bytes.HasPrefix(body, []byte{0, 0, 0xFE, 0xFF}):
		label, reason = "utf-32be", "bom"
	case bytes.HasPrefix(body, []byte{0xFE, 0xFF}):
		label, reason = "utf-16be", "bom"
	case bytes.HasPrefix(body, []byte{0xFF, 0xFE}):
		label, reason = "utf-16le", "bom"
	}
	if label == "" {
		if cs := httpCharset(contentType); cs != "" {
			label, reason = cs, "http"
			// RFC 7303 says HTTP wins, but a server default of UTF-8 in
			// front of a GBK file is far more common than a lying
			// declaration.
			if isUTF8(cs) && declared != "" && !isUTF8(declared) && !utf8.Valid(body) {
				label, reason = declared, declaredBy
			}
		}
	}
	if label == "" && declared != "" {
		label, reason = declared, declaredBy
	}
	if label == "" {
		// XML 1.0 Appendix F: without a BOM, the first bytes of "<?" tell
		// the width and byte order.
		switch {
		case bytes.HasPrefix(body, []byte{0, 0, 0, '<'}):
			label, reason = "utf-32be", "xml declaration"
		case bytes.HasPrefix(body, []byte{'<', 0, 0, 0}):
			label, reason = "utf-32le", "xml declaration"
		case bytes.HasPrefix(body, []byte{0, '<', 0, '?'}):
			label, reason = "utf-16be", "xml declaration"
		case bytes.HasPrefix(body, []byte{'<', 0, '?', 0}):
			label, reason = "utf-16le", "xml declaration"
		default:
			label, reason = "utf-8", "default"
		}
	}
	enc, err := Lookup(label)
	if err != nil {
		return nil, Result{Label: label, Reason: reason}, fmt.Errorf("%w, named by the %s", err, namedBy[reason])
	}
	res := Result{Label: strings.ToLower(label), Reason: reason, Size: len(body)}
	if enc != unicode.UTF8 && (reason == "http" || reason == declaredBy) && isUTF8Text(body) {
		// A site moved to UTF-8 behind an old server setting or
		// template: text in another multi-byte charset is next to never
		// valid UTF-8, and UTF-8 Chinese read as GBK is mojibake with no
		// error (Miniflux trusts such bytes too). The operator's
		// charset setting is not second-guessed.
		res.Declared = res.Label + " (" + namedBy[reason] + ")"
		res.Label, res.Reason, enc = "utf-8", "utf-8 bytes", unicode.UTF8
	}
	var out []byte
	switch {
	case enc != unicode.UTF8:
		// x/text decoders replace invalid sequences with U+FFFD.
		out, err = enc.NewDecoder().Bytes(body)
		if err != nil {
			return nil, res, fmt.Errorf("decode %s: %w", label, err)
		}
		res.Replaced = bytes.Count(out, replacement)
	case utf8.Valid(body):
		// The common case, and the only check valid UTF-8 pays for:
		// the detector runs only on bodies that are not UTF-8.
		out = body
	default:
		invalid, nonASCII := invalidUTF8(body)
		// Nothing named the charset, or only the HTTP header did: UTF-8
		// is many servers' default, whatever the files are.
		if reason == "default" || reason == "http" {
			if guess, ok := detect(body, invalid, nonASCII); ok {
				out, res = guess.text, guess.res
				if reason == "http" {
					res.Declared = label + " (" + namedBy[reason] + ")"
				}
				break
			}
		}
		out, res.Replaced = bytes.ToValidUTF8(body, replacement), invalid
	}
	return rewriteDeclaration(bytes.TrimPrefix(out, []byte("\uFEFF"))), res, nil
}

// isUTF8Text reports whether body is UTF-8 text beyond ASCII: valid
// UTF-8 with a multi-byte character, and no NUL (UTF-16 and UTF-32 text,
// which may be valid UTF-8 byte for byte, has them).
func isUTF8Text(body []byte) bool {
	return bytes.IndexByte(body, 0) < 0 && !isASCII(body) && utf8.Valid(body)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// replacement is U+FFFD in UTF-8, what undecodable bytes become.
var replacement = []byte("\uFFFD")

// isUTF8 reports whether label names UTF-8 (utf-8, utf8, unicode-1-1-utf-8…).
func isUTF8(label string) bool {
	e, err := Lookup(label)
	return err == nil && e == unicode.UTF8
}

func httpCharset(contentType string) string {
	if contentType == "" {
		return ""
	}
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return params["charset"]
}

// declaredEncoding reads the encoding pseudo-attribute of an ASCII-compatible
// XML declaration. UTF-16 declarations are found by their BOM or first bytes.
func declaredEncoding(body []byte) string {
	head := body
	if len(head) > 512 {
		head = head[:512]
	}
	head = bytes.TrimPrefix(head, []byte{0xEF, 0xBB, 0xBF})
	decl := xmlDecl.Find(head)
	if decl == nil {
		return ""
	}
	m := xmlEncoding.Find(decl)
	if m == nil {
		return ""
	}
	v := m[bytes.IndexAny(m, `"'`):]
	return string(v[1 : len(v)-1])
}

func rewriteDeclaration(doc []byte) []byte {
	loc := xmlDecl.FindIndex(doc)
	if loc == nil {
		return doc
	}
	decl := doc[loc[0]:loc[1]]
	m := xmlEncoding.FindSubmatch(decl)
	if m == nil {
		return doc
	}
	if v := cmp.Or(string(m[2]), string(m[3])); strings.EqualFold(v, "utf-8") {
		return doc // it says so already: no copy of the body
	}
	fixed := xmlEncoding.ReplaceAll(decl, []byte(`${1}"utf-8"`))
	out := make([]byte, 0, len(doc)-len(decl)+len(fixed))
	out = append(out, doc[:loc[0]]...)
	out = append(out, fixed...)
	return append(out, doc[loc[1]:]...)
}

// metaCharset is the HTML standard's prescan (§13.2.3.2, "prescan a byte
// stream to determine its encoding") in the first 1024 bytes: the charset of
// the first <meta charset="…"> or <meta http-equiv="Content-Type"
// content="text/html; charset=…">, or "" when there is none. Comments are
// skipped, as the prescan skips them; a label naming UTF-16 means UTF-8
// (the page could not have been read as ASCII to find it otherwise).
func metaCharset(body []byte) string {
	head := body
	if len(head) > 1024 {
		head = head[:1024]
	}
	z := xhtml.NewTokenizer(bytes.NewReader(head))
	for {
		switch z.Next() {
		case xhtml.ErrorToken:
			return ""
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if string(name) != "meta" || !hasAttr {
				continue
			}
			var cs, httpEquiv, content string
			for more := true; more; {
				var k, v []byte
				k, v, more = z.TagAttr()
				switch string(k) {
				case "charset":
					cs = string(v)
				case "http-equiv":
					httpEquiv = string(v)
				case "content":
					content = string(v)
				}
			}
			if cs == "" && strings.EqualFold(strings.TrimSpace(httpEquiv), "content-type") {
				cs = contentCharset(content)
			}
			if cs = strings.TrimSpace(cs); cs != "" {
				if l := strings.ToLower(cs); strings.HasPrefix(l, "utf-16") {
					return "utf-8"
				}
				return cs
			}
		}
	}
}

// contentCharset reads charset=… from a <meta http-equiv> content value,
// which need not be a well-formed media type ("text/html;charset=gbk").
func contentCharset(content string) string {
	i := strings.Index(strings.ToLower(content), "charset")
	if i < 0 {
		return ""
	}
	rest := strings.TrimLeft(content[i+len("charset"):], " \t")
	if !strings.HasPrefix(rest, "=") {
		return ""
	}
	rest = strings.Trim(strings.TrimLeft(rest[1:], " \t"), `"'`)
	if j := strings.IndexAny(rest, ";\"' \t"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}
