package htmltext

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// The implementation of Plain before issue 16 (maps of atoms, one rune
// written at a time) and Title's rule written plainly: the oracles that
// FuzzPlainSame and FuzzTitleSame compare the faster code with.

// Plain is the text of an HTML fragment: tags and comments removed, the
// contents of script, style and other non-text elements dropped, entities
// unescaped, white space (the no-break and ideographic spaces included)
// collapsed to single spaces and trimmed, and a space where a block element
// or a line break separates two runs of text. Inline elements add nothing:
// 两<strong>市</strong> reads 两市. A "<" that starts no tag is text.
func plainReference(fragment string) string {
	if strings.IndexByte(fragment, '<') < 0 && strings.IndexByte(fragment, '&') < 0 {
		return collapseReference(fragment)
	}
	var w writerReference
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
			if hiddenReference[a] {
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
				continue
			}
			if breaksReference[a] {
				w.brk()
			}
		}
	}
}

// titleReference is Title written plainly (a map of element names, the
// names copied, a regular expression for references), the oracle that
// FuzzTitleSame compares Title with: a title is HTML, read with Plain,
// when it holds markup, every tag in it names an element of
// htmlElementsReference, and a closing tag, a "<!--" comment or a
// character reference in shown text proves it; any other title is text,
// collapsed.
func titleReference(s string) string {
	if !strings.Contains(s, "<") || !looksLikeHTMLReference(s) {
		return collapseReference(s)
	}
	return plainReference(s)
}

func looksLikeHTMLReference(s string) bool {
	z := html.NewTokenizerFragment(strings.NewReader(s), "div")
	var markup, proof, text, live bool
	skip := 0
	for {
		tt := z.Next()
		raw := string(z.Raw())
		switch tt {
		case html.ErrorToken:
			return live || (markup && proof && !text)
		case html.TextToken:
			if skip > 0 {
				continue
			}
			for _, m := range charRefReference.FindAllString(raw, -1) {
				if d := html.UnescapeString(m); d != m && utf8.RuneCountInString(d) <= 2 {
					proof = true
				}
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, more := z.TagName()
			if tt != html.EndTagToken {
				live = live || string(name) == "svg" || string(name) == "math"
				for more {
					var key []byte
					key, _, more = z.TagAttr()
					k := string(key)
					if htmlElementsReference[string(name)] || strings.HasPrefix(k, "on") && len(k) > 2 ||
						slices.Contains(strings.Fields("href src srcdoc srcset style action formaction xlink:href background poster data"), k) {
						live = true
					}
				}
			}
			if !htmlElementsReference[string(name)] {
				text = true
				continue
			}
			markup = true
			proof = proof || tt == html.EndTagToken
			if hiddenReference[atom.Lookup(name)] {
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			}
		case html.CommentToken:
			if !strings.HasPrefix(raw, "<!--") {
				text = true
				continue
			}
			markup, proof = true, true
		default:
			text = true
		}
	}
}

// charRefReference matches what may be a character reference.
var charRefReference = regexp.MustCompile(`&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z0-9]{1,32});`)

var htmlElementsReference = map[string]bool{}

func init() {
	for _, name := range strings.Fields(`a abbr acronym address area article aside audio b
		base bdi bdo big blockquote body br button canvas caption center cite code
		col colgroup data datalist dd del details dfn dialog div dl dt em embed
		fieldset figcaption figure font footer form h1 h2 h3 h4 h5 h6 head header
		hgroup hr html i iframe img input ins kbd label legend li link main map
		mark menu meta meter nav nobr noscript object ol optgroup option output p
		picture pre progress q rp rt ruby s samp script search section select slot
		small source span strike strong style sub summary sup table tbody td
		template textarea tfoot th thead time title tr track tt u ul var video
		wbr`) {
		htmlElementsReference[name] = true
	}
}

// writer appends text with white space collapsed.
type writerReference struct {
	b     strings.Builder
	space bool // at the start, or after a space: the next one is dropped
}

func (w *writerReference) brk() {
	if !w.space {
		w.b.WriteByte(' ')
		w.space = true
	}
}

func (w *writerReference) text(t []byte) {
	for len(t) > 0 {
		r, n := utf8.DecodeRune(t)
		if isSpaceReference(r) {
			w.brk()
		} else {
			w.b.Write(t[:n])
			w.space = false
		}
		t = t[n:]
	}
}

// collapse is Plain for a string without markup or entities.
func collapseReference(s string) string {
	var w writerReference
	w.space = true
	w.text([]byte(s))
	return strings.TrimRight(w.b.String(), " ")
}

// hidden are the elements whose contents are not text.
var hiddenReference = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Template: true, atom.Noscript: true,
	atom.Iframe: true, atom.Object: true, atom.Head: true, atom.Title: true,
}

// breaks are the elements whose start or end separates words.
var breaksReference = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true, atom.Br: true,
	atom.Caption: true, atom.Dd: true, atom.Details: true, atom.Div: true, atom.Dl: true, atom.Dt: true,
	atom.Figcaption: true, atom.Figure: true, atom.Footer: true, atom.H1: true, atom.H2: true,
	atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true, atom.Header: true, atom.Hr: true,
	atom.Img: true, atom.Li: true, atom.Main: true, atom.Nav: true, atom.Ol: true, atom.P: true,
	atom.Pre: true, atom.Section: true, atom.Summary: true, atom.Table: true, atom.Tbody: true,
	atom.Td: true, atom.Tfoot: true, atom.Th: true, atom.Thead: true, atom.Tr: true, atom.Ul: true,
}

// isSpace is HTML white space, plus the no-break and ideographic spaces.
func isSpaceReference(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\f', '\v', '\u00a0', '\u3000':
		return true
	}
	return false
}

// sameSeeds are fragments where a shortcut could read differently: white
// space of every kind at the ends, in runs and split by tags, invalid and
// truncated UTF-8 next to the no-break and ideographic spaces' bytes, the
// hidden and block elements, entities that decode to white space.
var sameSeeds = []string{
	"", " ", "a", " a", "a ", "a  b", "a\tb", "a\u00a0b", "a\u3000b", "\u3000\u3000全角缩进",
	"两市 收涨", "A股三大指数集体收涨 创业板指涨1.23%（7）", "Stock Connect 周报 & 减持3只",
	"\xc2", "\xc2\xa0", "\xc2\xc2\xa0", "\xe3\x80", "\xe3\x80\x80", "\xe3\xe3\x80\x80", "\xe3\x80\x81",
	"\xf0\x90\xc2\xa0", "\xff a \xfe", "a\x00b", "a\r\nb\rc",
	"<p>两<strong>市</strong>成交</p>", "<p>one</p><p>two</p>", "a<br>b<br/>c",
	"<p> lead</p>trail <p>x</p> ", "<div>\u00a0</div>x", "<span> </span>x<span> </span>",
	"A &amp; B &lt;tag&gt; &#20013;&nbsp;文 &#x3000;x &#32; &#9;y",
	"<script>if (a<b) { x('</p>') }</script>after", "<STYLE>p{}</style>ok", "<title>t</title>x",
	"<head><title>t</title></head><body>b</body>", "<template>t</template>x", "<iframe>i</iframe>x",
	"<object>o</object>x", "<noscript>n</noscript>x", "</script>x", "<script/>x",
	"<h1>a</h1><h6>b</h6><hr><img src=x alt=y>c<table><tr><td>d</td><th>e</th></tr></table>",
	"<!-- c -->a<!-- d", "1 < 2 and 3 <4", "<", "<<p>>", "unterminated <b", "a<b",
	"<p\rclass=x>a</p\r>b<br\n/>c<DIV\f>d</DIV\t>e<script\r>f</script\r>g",
	"（文章来源：<a href=x>上海证券报</a>）", "<P>upper</P><BR/>", "<svg><title>s</title></svg>x",
	"Vec<String> in Rust", "Use the <script> tag in HTML", "<b>", "a < b > c", "<b>Breaking</b>: news",
	"<script>alert(1)</script>", "Q&amp;A<br>live", "&#20013;<b>文", "&#x4E2D;<b>文", "&#x;<b>", "&#;<b>",
	"&ampfoo; <b>x", "&foo; <b>x", "AT&T <b>x", "&amp <b>x", "&semi;<i>", "&NotNestedGreaterGreater;<i>",
	"&CounterClockwiseContourIntegral;<i>", "<b a='&amp;'>x", "What is <?php echo 1 ?>", "I </3 Mondays",
	"<!DOCTYPE html> explained", "<b>x</b><Foo>", "<b/>&lt;", "<textarea>&amp;</textarea>",
	"Use the <script> tag &amp; more", "<script>&amp;</script>x<b>", "Use the <style> tag &amp; <b>x</b>",
	"<svg><title>s</title></svg>", "<xmp>x</xmp>", "Vec<Option> &amp; more",
}

// FuzzPlainSame: Plain reads every fragment as the former code did.
func FuzzPlainSame(f *testing.F) {
	for _, s := range sameSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Plain(s), plainReference(s); got != want {
			t.Errorf("Plain(%q) = %q, want %q", s, got, want)
		}
	})
}

// FuzzTitleSame: Title reads every title as the former code did.
func FuzzTitleSame(f *testing.F) {
	for _, s := range sameSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Title(s), titleReference(s); got != want {
			t.Errorf("Title(%q) = %q, want %q", s, got, want)
		}
	})
}
