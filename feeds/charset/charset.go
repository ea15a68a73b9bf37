// Package charset decides the character encoding of a fetched feed and
// converts it to UTF-8 before any XML or JSON parser sees the bytes.
//
// The order follows RFC 7303 §3: a byte order mark wins, then the charset
// parameter of the HTTP Content-Type, then the XML declaration, then UTF-8.
// An operator's per-source override beats all of them, because the operator
// has looked at the bytes. One pragmatic exception, common on Chinese sites:
// when HTTP claims UTF-8 but the body is not valid UTF-8 and the declaration
// names another encoding, the declaration is believed.
package charset

import (
	"bytes"
	"fmt"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
)

// gbLabels are the names under which GB 2312 and GBK text reaches us. All of
// them are decoded as GB18030, a strict superset: x/text's GBK decoder turns
// GB18030 four-byte sequences into U+FFFD, and servers that say "gb2312"
// routinely send characters outside GB 2312.
var gbLabels = map[string]bool{
	"gb2312": true, "gb_2312": true, "gb_2312-80": true, "csgb2312": true,
	"gbk": true, "x-gbk": true, "cp936": true, "ms936": true, "windows-936": true,
	"euc-cn": true, "x-euc-cn": true, "iso-ir-58": true, "chinese": true,
	"csiso58gb231280": true, "gb18030": true,
}

// Lookup returns the encoding for a charset label, or an error naming the
// label when it is unknown.
func Lookup(label string) (encoding.Encoding, error) {
	l := strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
	switch {
	case gbLabels[l]:
		return simplifiedchinese.GB18030, nil
	case l == "utf-8" || l == "utf8":
		return encoding.Nop, nil
	case l == "utf-32" || l == "utf-32be":
		return utf32.UTF32(utf32.BigEndian, utf32.UseBOM), nil
	case l == "utf-32le":
		return utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM), nil
	case l == "utf-16":
		return unicode.UTF16(unicode.BigEndian, unicode.UseBOM), nil
	}
	e, err := htmlindex.Get(l)
	if err != nil {
		return nil, fmt.Errorf("unknown charset %q", label)
	}
	return e, nil
}

// Result says which encoding was used and why.
type Result struct {
	Label  string // the charset the body was decoded from, e.g. "gb18030"
	Reason string // "override", "bom", "http", "xml declaration", "default"
}

var (
	xmlDecl     = regexp.MustCompile(`^\s*<\?xml[^>]*?\?>`)
	xmlEncoding = regexp.MustCompile(`(encoding\s*=\s*)(?:"[^"]*"|'[^']*')`)
)

// ToUTF8 converts body to UTF-8. contentType is the HTTP Content-Type (may be
// empty); override is the operator's charset for this source (may be empty).
// Bytes that are invalid in the chosen encoding become U+FFFD rather than
// failing the whole feed. The XML declaration, if any, is rewritten to say
// utf-8 so that the parser does not try to convert a second time.
func ToUTF8(body []byte, contentType, override string) ([]byte, Result, error) {
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
	declared := declaredEncoding(body)
	if label == "" {
		if cs := httpCharset(contentType); cs != "" {
			label, reason = cs, "http"
			// RFC 7303 says HTTP wins, but a server default of UTF-8 in
			// front of a GBK file is far more common than a lying
			// declaration.
			if isUTF8(cs) && declared != "" && !isUTF8(declared) && !utf8.Valid(body) {
				label, reason = declared, "xml declaration"
			}
		}
	}
	if label == "" && declared != "" {
		label, reason = declared, "xml declaration"
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
		return nil, Result{Label: label, Reason: reason}, err
	}
	res := Result{Label: strings.ToLower(label), Reason: reason}
	var out []byte
	if enc == encoding.Nop {
		out = body
		if !utf8.Valid(out) {
			out = bytes.ToValidUTF8(out, []byte("\uFFFD"))
		}
	} else {
		// x/text decoders replace invalid sequences with U+FFFD.
		out, err = enc.NewDecoder().Bytes(body)
		if err != nil {
			return nil, res, fmt.Errorf("decode %s: %w", label, err)
		}
	}
	return rewriteDeclaration(bytes.TrimPrefix(out, []byte("\uFEFF"))), res, nil
}

func isUTF8(label string) bool {
	l := strings.ToLower(label)
	return l == "utf-8" || l == "utf8"
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
	if !xmlEncoding.Match(decl) {
		return doc
	}
	fixed := xmlEncoding.ReplaceAll(decl, []byte(`${1}"utf-8"`))
	out := make([]byte, 0, len(doc)-len(decl)+len(fixed))
	out = append(out, doc[:loc[0]]...)
	out = append(out, fixed...)
	return append(out, doc[loc[1]:]...)
}
