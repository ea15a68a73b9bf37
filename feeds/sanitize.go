package feeds

import (
	"io"
	"net/url"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
)

// fastSanitize is contentPolicy.Sanitize(s) (bluemonday's UGCPolicy) for
// the fragments made only of what feeds mostly carry — text, comments,
// paragraphs, lists, tables, emphasis, <a href> and <img src alt> — at a
// third of the cost: bluemonday builds a Token (strings for the name and
// every attribute), quotes every element name twice and reallocates its
// output as it grows. ok is false for any fragment holding anything else
// (another element or attribute, a URL bluemonday would drop or rewrite
// differently, a tokenizer error): the caller then asks bluemonday, so
// that nothing this code does not know is ever let through.
//
// It reads the fragment with the tokenizer bluemonday uses, the same way
// (html.NewTokenizer, a strings.Reader), so both see the same tokens, and
// writes each token as bluemonday would: x/net/html's Token.String with
// the attributes UGCPolicy keeps. The differential tests and
// FuzzSanitizeSame hold it to byte-identical output.
//
// A non-nil base (a web address: sanitize's rule) resolves the relative
// URLs it keeps as they are written, which is what resolveSanitized does
// to bluemonday's output, without a second pass over the fragment and a
// copy of it (FuzzResolveSanitizedSame holds the two ways together).
func fastSanitize(s string, base *url.URL) (out string, ok bool) {
	if strings.TrimSpace(s) == "" {
		return s, true // as bluemonday: returned as it is
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/16 + 64) // rel="nofollow" and escapes add a little
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		switch tt := z.Next(); tt {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				return "", false // bluemonday returns "" here
			}
			return b.String(), true
		case html.TextToken:
			escapeTo(&b, z.Text())
		case html.CommentToken, html.DoctypeToken:
			// UGCPolicy drops both.
		case html.EndTagToken:
			name, hasAttr := z.TagName()
			// bluemonday writes an end tag's attributes as they are:
			// leave that oddity to it.
			if hasAttr || fastElements[string(name)] == 0 {
				return "", false
			}
			b.WriteString("</")
			b.Write(name)
			b.WriteByte('>')
		case html.StartTagToken, html.SelfClosingTagToken:
			if !startTag(&b, z, tt == html.SelfClosingTagToken, base) {
				return "", false
			}
		default:
			return "", false
		}
	}
}

// The elements fastSanitize writes, by what UGCPolicy does with them.
const (
	plainElement = 1 + iota // kept, with no attribute
	linkElement             // <a>: kept with its href, plus rel="nofollow"
	imageElement            // <img>: kept with its src, alt, width, height
)

// fastElements are the elements fastSanitize handles (0: any other).
// TestFastElementsAsBluemonday checks each against bluemonday.
var fastElements = map[string]int{
	"a": linkElement, "img": imageElement,
	"p": plainElement, "div": plainElement, "span": plainElement, "br": plainElement,
	"hr": plainElement, "wbr": plainElement, "blockquote": plainElement, "pre": plainElement,
	"h1": plainElement, "h2": plainElement, "h3": plainElement, "h4": plainElement,
	"h5": plainElement, "h6": plainElement, "hgroup": plainElement,
	"article": plainElement, "aside": plainElement, "section": plainElement,
	"figure": plainElement, "figcaption": plainElement, "summary": plainElement,
	"b": plainElement, "i": plainElement, "u": plainElement, "s": plainElement,
	"em": plainElement, "strong": plainElement, "small": plainElement, "strike": plainElement,
	"tt": plainElement, "sub": plainElement, "sup": plainElement, "mark": plainElement,
	"code": plainElement, "samp": plainElement, "var": plainElement, "cite": plainElement,
	"dfn": plainElement, "abbr": plainElement, "acronym": plainElement,
	"ruby": plainElement, "rp": plainElement, "rt": plainElement,
	"ul": plainElement, "ol": plainElement, "li": plainElement,
	"dl": plainElement, "dt": plainElement, "dd": plainElement,
	"table": plainElement, "caption": plainElement, "thead": plainElement, "tbody": plainElement,
	"tfoot": plainElement, "tr": plainElement, "th": plainElement, "td": plainElement,
}

// startTag writes the start tag z is at as bluemonday would, its URL
// resolved against base (nil: as it is), or reports false when
// fastSanitize cannot know what bluemonday would write.
func startTag(b *strings.Builder, z *html.Tokenizer, selfClosing bool, base *url.URL) bool {
	name, more := z.TagName()
	kind := fastElements[string(name)]
	if kind == 0 {
		return false
	}
	// The tag is written into b as it is read; a tag that turns out to be
	// beyond fastSanitize abandons b altogether.
	b.WriteByte('<')
	b.Write(name)
	href := false
	for more {
		var key, val []byte
		key, val, more = z.TagAttr()
		k := string(key)
		switch {
		case k == "style" || k == "class":
			// UGCPolicy allows neither on any element: dropped.
		case kind == linkElement && (k == "target" || k == "rel"):
			// Not allowed on <a>: dropped (its rel becomes "nofollow").
		case kind == linkElement && k == "href", kind == imageElement && k == "src":
			u, ok := validURL(string(val))
			if !ok {
				return false // bluemonday drops it, and perhaps the element
			}
			if base != nil && !hasScheme(u) {
				u = resolve(base, u)
			}
			writeAttr(b, key, []byte(u))
			href = true
		case kind == imageElement && k == "alt" && bluemonday.Paragraph.Match(val),
			kind == imageElement && (k == "width" || k == "height") && bluemonday.NumberOrPercent.Match(val):
			writeAttr(b, key, val)
		default:
			return false
		}
	}
	switch kind {
	case linkElement:
		if !href {
			return false // bluemonday drops an <a> without href, and its end tag
		}
		b.WriteString(` rel="nofollow"`)
	case imageElement:
		if !href {
			return false
		}
	}
	if selfClosing {
		b.WriteString("/>")
	} else {
		b.WriteByte('>')
	}
	return true
}

// validURL is bluemonday's check of a URL attribute under UGCPolicy
// (RequireParseableURLs, AllowRelativeURLs, schemes mailto, http and
// https): the URL as it is written out, or false where bluemonday would
// drop the attribute — or treat it specially (a data: URI with spaces).
func validURL(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if strings.ContainsAny(raw, " \t\n") {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", false
	}
	switch u.Scheme {
	case "mailto", "http", "https":
	case "":
		// relative: allowed unless it is empty once parsed
	default:
		return "", false
	}
	s := u.String()
	return s, s != ""
}

func writeAttr(b *strings.Builder, key, val []byte) {
	b.WriteByte(' ')
	b.Write(key)
	b.WriteString(`="`)
	escapeTo(b, val)
	b.WriteByte('"')
}

// escapeTo writes s escaped as x/net/html's EscapeString does (the escape
// of Token.String): & ' < > " and CR.
func escapeTo(b *strings.Builder, s []byte) {
	last := 0
	for i, c := range s {
		var esc string
		switch c {
		case '&':
			esc = "&amp;"
		case '\'':
			esc = "&#39;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&#34;"
		case '\r':
			esc = "&#13;"
		default:
			continue
		}
		b.Write(s[last:i])
		b.WriteString(esc)
		last = i + 1
	}
	b.Write(s[last:])
}

// lazyAttrs are the attributes lazy-loading scripts keep an image's real
// address in, most preferred first: data-src (most Chinese news sites,
// WordPress lazy-load plugins), data-original (jQuery lazyload, 新浪,
// 网易), data-lazy-src (WP Rocket, a3 Lazy Load), data-actualsrc
// (知乎). The page's src is then a placeholder (a 1×1 data: GIF,
// /img/blank.gif) or absent, and the sanitizer, which keeps only src,
// would publish the placeholder or drop the image.
var lazyAttrs = [...]string{"data-src", "data-original", "data-lazy-src", "data-actualsrc"}

// mayHaveLazyImage reports whether s may hold one of lazyAttrs: the cheap
// check that spares content without lazy images the tokenizer pass
// (lazy-load scripts write the attributes in lower case).
func mayHaveLazyImage(s string) bool {
	for {
		i := strings.Index(s, "data-")
		if i < 0 {
			return false
		}
		s = s[i+len("data-"):]
		for _, a := range lazyAttrs {
			if strings.HasPrefix(s, a[len("data-"):]) {
				return true
			}
		}
	}
}

// lazyImages gives every <img> of an HTML fragment or page that has one
// of lazyAttrs (the first present, non-empty and not a data: URI) that
// address as its src, in place of the placeholder, and drops the lazy
// attributes (the sanitizer would: without them fastSanitize can take
// the image). Everything else is left byte for byte: s itself is
// returned when no image changes. It reads s with the tokenizer the
// sanitizer uses, so that what it takes for an <img> tag is what the
// sanitizer does (not an "<img" in a comment, a script or an attribute).
//
// It is the one lazy-image step: sanitize applies it to all content
// (feeds, scraped fields, articles by selector or readability). Readability
// keeps the lazy attributes but gives src only an address it can parse
// as absolute or rooted: a relative data-original is left without one.
func lazyImages(s string) string {
	if !mayHaveLazyImage(s) {
		return s
	}
	var b, rest strings.Builder
	z := html.NewTokenizer(strings.NewReader(s))
	pos, last := 0, 0 // where the token begins in s; what s[:last] is in b already
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		n := len(z.Raw()) // before TagName and TagAttr, which may reuse its bytes
		if tt == html.StartTagToken || tt == html.SelfClosingTagToken {
			if name, hasAttr := z.TagName(); hasAttr && string(name) == "img" {
				rest.Reset()
				if src, ok := lazySrc(z, &rest); ok {
					if last == 0 {
						b.Grow(len(s))
					}
					b.WriteString(s[last:pos])
					b.WriteString(`<img src="`)
					escapeTo(&b, []byte(src))
					b.WriteByte('"')
					b.WriteString(rest.String())
					if tt == html.SelfClosingTagToken {
						b.WriteString("/>")
					} else {
						b.WriteByte('>')
					}
					last = pos + n
				}
			}
		}
		pos += n
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// lazySrc reads the attributes of the <img> tag z is at and returns its
// lazy address, or false when it has none to use; rest gets its other
// attributes as they were (minus src and lazyAttrs), escaped as the
// sanitizer writes them.
func lazySrc(z *html.Tokenizer, rest *strings.Builder) (string, bool) {
	var found [len(lazyAttrs)]string
	for more := true; more; {
		var key, val []byte
		key, val, more = z.TagAttr()
		lazy := -1
		for i, a := range lazyAttrs {
			if string(key) == a { // compared, not copied
				lazy = i
				break
			}
		}
		switch {
		case lazy >= 0:
			if found[lazy] == "" {
				found[lazy] = strings.TrimSpace(string(val))
			}
		case string(key) == "src":
			// The placeholder: dropped.
		default:
			rest.WriteByte(' ')
			rest.Write(key)
			rest.WriteString(`="`)
			escapeTo(rest, val)
			rest.WriteByte('"')
		}
	}
	for _, v := range found {
		if v != "" && !hasPrefixFold(v, "data:") {
			return v, true
		}
	}
	return "", false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
