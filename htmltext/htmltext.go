// Package htmltext reads the text of an HTML fragment: what a person sees,
// without markup. It is the one HTML-to-text conversion of the program —
// titles, the search index and the original-publisher line all use it.
package htmltext

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Plain is the text of an HTML fragment: tags and comments removed, the
// contents of script, style and other non-text elements dropped, entities
// unescaped, white space (the no-break and ideographic spaces included)
// collapsed to single spaces and trimmed, and a space where a block element
// or a line break separates two runs of text. Inline elements add nothing:
// 两<strong>市</strong> reads 两市. A "<" that starts no tag is text.
func Plain(fragment string) string {
	if strings.IndexByte(fragment, '<') < 0 && strings.IndexByte(fragment, '&') < 0 {
		return collapse(fragment)
	}
	var w writer
	w.b.Grow(len(fragment))
	w.space = true
	z := html.NewTokenizerFragment(strings.NewReader(fragment), "div")
	skip := 0 // depth inside elements whose content is not text
	for {
		switch tt := z.Next(); tt {
		case html.ErrorToken:
			return strings.TrimRight(w.b.String(), " ")
		case html.TextToken:
			if skip == 0 {
				w.text(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			a := tagAtom(z)
			if hidden(a) {
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
				continue
			}
			if breaks(a) {
				w.brk()
			}
		}
	}
}

// maxAtomLen is the length of the longest name package atom knows
// (atom.Lookup finds nothing longer).
const maxAtomLen = 25

// tagAtom is atom.Lookup(z.TagName()) for the current tag token, without
// the copy of the name TagName makes (one allocation a tag). The name is
// read from the raw token, "<name" or "</name", as far as the tokenizer
// reads it (to white space, '/' or '>'), lower-cased in ASCII as TagName
// does. TagName also replaces a NUL with U+FFFD; no atom holds either, so
// a name with a NUL finds nothing here as it found nothing there.
func tagAtom(z *html.Tokenizer) atom.Atom {
	raw := z.Raw()
	i := 1
	if len(raw) > 1 && raw[1] == '/' {
		i = 2
	}
	var name [maxAtomLen]byte
	n := 0
	for ; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case ' ', '\n', '\r', '\t', '\f', '/', '>':
			return atom.Lookup(name[:n])
		}
		if n == len(name) {
			return 0
		}
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		name[n] = c
		n++
	}
	return atom.Lookup(name[:n])
}

// Title is the text of a title as a feed parser gives it, the format's own
// escaping already undone (gofeed decodes an RSS or Atom title's XML once,
// and keeps no Atom type="text"/"html"): plain text, white space collapsed
// as Plain does. A title is read as HTML, with Plain, only when it looks
// like HTML (see looksLikeHTML): "<b>Breaking</b>: news" reads
// "Breaking: news", "<script>alert(1)</script>" reads "". Any other title
// is the text it is: "Vec<String> in Rust", "Use the <script> tag", "<b>"
// and "a < b > c" keep every character, and so do entities in a title without markup ("&lt;b&gt;
// explained"): decoding a title's entities twice would read escaped text
// as markup.
func Title(s string) string {
	if strings.IndexByte(s, '<') < 0 || !looksLikeHTML(s) {
		return collapse(s)
	}
	return Plain(s)
}

// looksLikeHTML reports whether the title s is HTML rather than text that
// mentions tags. A feed does not say which a title is (RSS has no type,
// and gofeed drops Atom's), so this is the guess python-feedparser makes
// for RSS titles (looks_like_html), which errs towards text, as a title
// read as HTML when it was text loses words. s is HTML when it holds
// markup, every tag in it names an HTML element (htmlElement), and
// something text rarely holds proves it: a closing tag, a comment, or a
// character reference (&amp;, &#20013;) in text Plain would show, that
// the format's own unescaping left. A "<String>", a "<?php", a
// "<!DOCTYPE" or a "</3" anywhere makes the whole title text; so does a
// lone "<script>", whose rest the tokenizer reads as script.
//
// Except that a live tag (liveTag) makes s HTML whatever else it holds.
func looksLikeHTML(s string) bool {
	z := html.NewTokenizerFragment(strings.NewReader(s), "div")
	markup, proof := false, false
	text := false // something in s is no HTML: s is text, unless live
	live := false // a tag with attributes, svg or math: s is HTML
	skip := 0     // depth inside elements whose content is not text, as in Plain
	for {
		switch tt := z.Next(); tt {
		case html.ErrorToken:
			return live || markup && proof && !text
		case html.TextToken:
			if skip == 0 && !proof && hasCharRef(z.Raw()) {
				proof = true
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			a := tagAtom(z)
			if tt != html.EndTagToken && liveTag(z, a) {
				live = true
			}
			if !htmlElement(a) {
				text = true
				continue
			}
			markup = true
			if tt == html.EndTagToken {
				proof = true
			}
			if hidden(a) {
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			}
		case html.CommentToken:
			// The tokenizer reads "<?php", "<!x>" and "</ 3" as
			// comments too; only a real "<!--" is markup.
			if !bytes.HasPrefix(z.Raw(), []byte("<!--")) {
				text = true
				continue
			}
			markup, proof = true, true
		default: // a doctype
			text = true
		}
	}
}

// liveTag reports whether the start tag z is at (its element a) is how
// markup meant to run looks: an HTML element with attributes (<img src=x
// onerror=…>, <a href="javascript:…">), any element with an event handler
// or a link (<x onmouseover=…>), an svg or math element. A title holding
// one is read as HTML, its markup removed, whatever else it holds: a
// reader or a Jekyll layout that shows titles as HTML must never be handed
// it. A title that merely mentions a tag rarely gives it attributes, and
// "HashMap<K, V>" gives its unknown element "k," none of these.
func liveTag(z *html.Tokenizer, a atom.Atom) bool {
	if a == atom.Svg || a == atom.Math {
		return true
	}
	known := htmlElement(a)
	_, more := z.TagName()
	for more {
		var key []byte
		key, _, more = z.TagAttr()
		if known || len(key) > 2 && key[0] == 'o' && key[1] == 'n' || linkAttr[string(key)] {
			return true
		}
	}
	return false
}

// linkAttr are the attributes whose value a browser fetches or runs.
var linkAttr = map[string]bool{
	"href": true, "src": true, "srcdoc": true, "srcset": true, "style": true, "action": true,
	"formaction": true, "xlink:href": true, "background": true, "poster": true, "data": true,
}

// hasCharRef reports whether raw text holds a complete character
// reference: "&#" digits ";", "&#x" hex digits ";", or "&" the name of
// an HTML entity ";". A bare "&" (AT&T) or an unknown name (&foo;) is not
// one.
func hasCharRef(raw []byte) bool {
	for i := bytes.IndexByte(raw, '&'); i >= 0; {
		rest := raw[i+1:]
		// A ";" further on than the longest name ends no reference: not
		// looked for, so that a title of many "&" is read in linear time.
		ref := rest[:min(len(rest), maxEntityLen+1)]
		if end := bytes.IndexByte(ref, ';'); end >= 0 && isCharRef(ref[:end]) {
			return true
		}
		j := bytes.IndexByte(rest, '&')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

// isCharRef reports whether ref, the bytes between "&" and ";", names a
// character: #digits, #x hex digits, or an HTML entity's name.
func isCharRef(ref []byte) bool {
	if len(ref) == 0 || len(ref) > maxEntityLen {
		return false
	}
	if ref[0] == '#' {
		digits, hex := ref[1:], false
		if len(digits) > 0 && (digits[0] == 'x' || digits[0] == 'X') {
			digits, hex = digits[1:], true
		}
		if len(digits) == 0 {
			return false
		}
		for _, c := range digits {
			if !('0' <= c && c <= '9' || hex && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')) {
				return false
			}
		}
		return true
	}
	for _, c := range ref {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	// html.UnescapeString knows every HTML entity. An entity decodes to
	// one or two characters; a name it only begins ("&ampfoo;" reads
	// "&foo;") leaves the rest of the name and the ";", three or more.
	ent := "&" + string(ref) + ";"
	dec := html.UnescapeString(ent)
	return dec != ent && utf8.RuneCountInString(dec) <= 2
}

// maxEntityLen bounds the bytes between "&" and ";" worth looking up: the
// longest entity name (CounterClockwiseContourIntegral) is 32 letters.
const maxEntityLen = 32

// htmlElement reports whether a is an element of the HTML standard, or
// one of the old presentational elements still found in feeds (big,
// center, font, nobr, strike, tt, acronym). Not svg or math, whose
// contents are not HTML, nor the obsolete elements the tokenizer reads
// specially (plaintext, xmp, listing, noembed, noframes).
func htmlElement(a atom.Atom) bool {
	switch a {
	case atom.A, atom.Abbr, atom.Acronym, atom.Address, atom.Area,
		atom.Article, atom.Aside, atom.Audio, atom.B, atom.Base, atom.Bdi,
		atom.Bdo, atom.Big, atom.Blockquote, atom.Body, atom.Br,
		atom.Button, atom.Canvas, atom.Caption, atom.Center, atom.Cite,
		atom.Code, atom.Col, atom.Colgroup, atom.Data, atom.Datalist,
		atom.Dd, atom.Del, atom.Details, atom.Dfn, atom.Dialog, atom.Div,
		atom.Dl, atom.Dt, atom.Em, atom.Embed, atom.Fieldset,
		atom.Figcaption, atom.Figure, atom.Font, atom.Footer, atom.Form,
		atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Head,
		atom.Header, atom.Hgroup, atom.Hr, atom.Html, atom.I, atom.Iframe,
		atom.Img, atom.Input, atom.Ins, atom.Kbd, atom.Label, atom.Legend,
		atom.Li, atom.Link, atom.Main, atom.Map, atom.Mark, atom.Menu,
		atom.Meta, atom.Meter, atom.Nav, atom.Nobr, atom.Noscript,
		atom.Object, atom.Ol, atom.Optgroup, atom.Option, atom.Output,
		atom.P, atom.Picture, atom.Pre, atom.Progress, atom.Q, atom.Rp,
		atom.Rt, atom.Ruby, atom.S, atom.Samp, atom.Script, atom.Search,
		atom.Section, atom.Select, atom.Slot, atom.Small, atom.Source,
		atom.Span, atom.Strike, atom.Strong, atom.Style, atom.Sub,
		atom.Summary, atom.Sup, atom.Table, atom.Tbody, atom.Td,
		atom.Template, atom.Textarea, atom.Tfoot, atom.Th, atom.Thead,
		atom.Time, atom.Title, atom.Tr, atom.Track, atom.Tt, atom.U,
		atom.Ul, atom.Var, atom.Video, atom.Wbr:
		return true
	}
	return false
}

// writer appends text with white space collapsed.
type writer struct {
	b     strings.Builder
	space bool // at the start, or after a space: the next one is dropped
}

func (w *writer) brk() {
	if !w.space {
		w.b.WriteByte(' ')
		w.space = true
	}
}

// text appends t, each run of white space (see isSpace) written as one
// space, or none after a space. Everything else is copied as it is, in
// runs: a byte that is not valid UTF-8 is copied as itself, which is what
// decoding it (to U+FFFD, one byte long) and copying its byte did.
func (w *writer) text(t []byte) {
	run := 0 // start of the bytes not yet written
	for i := 0; i < len(t); {
		n := spaceAt(t, i)
		if n == 0 {
			i++
			continue
		}
		if run < i {
			w.b.Write(t[run:i])
			w.space = false
		}
		w.brk()
		i += n
		run = i
	}
	if run < len(t) {
		w.b.Write(t[run:])
		w.space = false
	}
}

// spaceAt is the length of the white space character (see isSpace) that
// starts at t[i], or 0. Only U+00A0 (C2 A0) and U+3000 (E3 80 80) are
// beyond ASCII; no byte of another character's encoding, valid or not,
// starts either sequence within a character, so a scan byte by byte finds
// the ones utf8.DecodeRune would.
func spaceAt[T string | []byte](t T, i int) int {
	switch t[i] {
	case ' ', '\t', '\n', '\r', '\f', '\v':
		return 1
	case 0xC2:
		if i+1 < len(t) && t[i+1] == 0xA0 {
			return 2
		}
	case 0xE3:
		if i+2 < len(t) && t[i+1] == 0x80 && t[i+2] == 0x80 {
			return 3
		}
	}
	return 0
}

// collapse is Plain for a string without markup or entities. A string
// whose white space is already single spaces between words, as most
// titles are, is returned as it is.
func collapse(s string) string {
	if collapsed(s) {
		return s
	}
	var w writer
	w.b.Grow(len(s))
	w.space = true
	w.text([]byte(s))
	return strings.TrimRight(w.b.String(), " ")
}

// collapsed reports whether collapsing s changes nothing: its only white
// space is single ASCII spaces, none at either end.
func collapsed(s string) bool {
	prev := true // a space at the start is trimmed
	for i := 0; i < len(s); i++ {
		n := spaceAt(s, i)
		if n == 0 {
			prev = false
			continue
		}
		if n > 1 || s[i] != ' ' || prev {
			return false
		}
		prev = true
	}
	return !prev || s == ""
}

// hidden reports whether a is an element whose contents are not text.
func hidden(a atom.Atom) bool {
	switch a {
	case atom.Script, atom.Style, atom.Template, atom.Noscript,
		atom.Iframe, atom.Object, atom.Head, atom.Title:
		return true
	}
	return false
}

// breaks reports whether a is an element whose start or end separates
// words.
func breaks(a atom.Atom) bool {
	switch a {
	case atom.Address, atom.Article, atom.Aside, atom.Blockquote, atom.Br,
		atom.Caption, atom.Dd, atom.Details, atom.Div, atom.Dl, atom.Dt,
		atom.Figcaption, atom.Figure, atom.Footer, atom.H1, atom.H2,
		atom.H3, atom.H4, atom.H5, atom.H6, atom.Header, atom.Hr,
		atom.Img, atom.Li, atom.Main, atom.Nav, atom.Ol, atom.P,
		atom.Pre, atom.Section, atom.Summary, atom.Table, atom.Tbody,
		atom.Td, atom.Tfoot, atom.Th, atom.Thead, atom.Tr, atom.Ul:
		return true
	}
	return false
}
