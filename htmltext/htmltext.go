// Package htmltext reads the text of an HTML fragment: what a person sees,
// without markup. It is the one HTML-to-text conversion of the program —
// titles, the search index and the original-publisher line all use it.
package htmltext

import (
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
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if hidden[a] {
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
				continue
			}
			if breaks[a] {
				w.brk()
			}
		}
	}
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

func (w *writer) text(t []byte) {
	for len(t) > 0 {
		r, n := utf8.DecodeRune(t)
		if isSpace(r) {
			w.brk()
		} else {
			w.b.Write(t[:n])
			w.space = false
		}
		t = t[n:]
	}
}

// collapse is Plain for a string without markup or entities.
func collapse(s string) string {
	var w writer
	w.space = true
	w.text([]byte(s))
	return strings.TrimRight(w.b.String(), " ")
}

// hidden are the elements whose contents are not text.
var hidden = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Template: true, atom.Noscript: true,
	atom.Iframe: true, atom.Object: true, atom.Head: true, atom.Title: true,
}

// breaks are the elements whose start or end separates words.
var breaks = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true, atom.Br: true,
	atom.Caption: true, atom.Dd: true, atom.Details: true, atom.Div: true, atom.Dl: true, atom.Dt: true,
	atom.Figcaption: true, atom.Figure: true, atom.Footer: true, atom.H1: true, atom.H2: true,
	atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true, atom.Header: true, atom.Hr: true,
	atom.Img: true, atom.Li: true, atom.Main: true, atom.Nav: true, atom.Ol: true, atom.P: true,
	atom.Pre: true, atom.Section: true, atom.Summary: true, atom.Table: true, atom.Tbody: true,
	atom.Td: true, atom.Tfoot: true, atom.Th: true, atom.Thead: true, atom.Tr: true, atom.Ul: true,
}

// isSpace is HTML white space, plus the no-break and ideographic spaces.
func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\f', '\v', '\u00a0', '\u3000':
		return true
	}
	return false
}
