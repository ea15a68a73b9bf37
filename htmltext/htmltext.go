// Package htmltext reads the text of an HTML fragment: what a person sees,
// without markup. It is the one HTML-to-text conversion of the program —
// titles, the search index and the original-publisher line all use it.
package htmltext

import (
	"strings"

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
// escaping already undone (gofeed decodes an RSS or Atom title's XML once):
// plain text, white space collapsed as Plain does, and entities left as
// they are — a title whose text is "&lt;b&gt; explained" keeps it. Only a
// title that holds markup (a tag or a comment: an HTML title, Atom
// type="html" or an RSS title in CDATA) is HTML, and is read with Plain.
// Decoding a title's entities twice would turn text into markup.
func Title(s string) string {
	if strings.IndexByte(s, '<') < 0 || !hasMarkup(s) {
		return collapse(s)
	}
	return Plain(s)
}

// hasMarkup reports whether s holds an HTML tag or comment.
func hasMarkup(s string) bool {
	z := html.NewTokenizerFragment(strings.NewReader(s), "div")
	for {
		switch z.Next() {
		case html.ErrorToken:
			return false
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken, html.CommentToken:
			return true
		}
	}
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
