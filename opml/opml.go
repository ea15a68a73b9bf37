// Package opml reads and writes OPML subscription lists: the files feed
// readers export (Miniflux, FreshRSS, Feedly, Inoreader, NetNewsWire,
// newsboat) and the list feedrelay publishes of its own feeds.
//
// It knows nothing of feedrelay's sources or storage: Parse returns the
// feeds a list names, Write writes a list of groups of feeds.
package opml

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/feedrelay/feedrelay/feeds/charset"
)

// Feed is one subscription.
type Feed struct {
	Title   string // the outline's text, else its title; may be empty
	XMLURL  string // the feed itself
	HTMLURL string // the site the feed belongs to; may be empty
	// Categories are the folders enclosing the feed, outermost first, then
	// the last element of each path in its category attribute; no
	// duplicates, nil when there are none.
	Categories []string
}

// Group is one category of published feeds.
type Group struct {
	Title string // empty: the feeds are written at the top of the body
	Feeds []Feed
}

// document is the part of an OPML file Parse reads. Outline attributes are
// gathered raw because exporters disagree on their case (xmlUrl, xmlURL).
type document struct {
	XMLName xml.Name
	Body    *struct {
		Outlines []outline `xml:"outline"`
	} `xml:"body"`
}

type outline struct {
	Attrs    []xml.Attr `xml:",any,attr"`
	Outlines []outline  `xml:"outline"`
}

// attr returns the value of the un-namespaced attribute name, whatever its
// case, trimmed. Namespaced ones (FreshRSS writes frss:…) are extensions
// that must not be taken for the standard attributes.
func (o *outline) attr(name string) string {
	for _, a := range o.Attrs {
		if a.Name.Space == "" && strings.EqualFold(a.Name.Local, name) {
			return strings.TrimSpace(a.Value)
		}
	}
	return ""
}

// label is what a reader shows for an outline: its text, else its title,
// with runs of white space (attribute values may span lines) made one space.
func (o *outline) label() string {
	t := o.attr("text")
	if t == "" {
		t = o.attr("title")
	}
	return strings.Join(strings.Fields(t), " ")
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Parse reads an OPML 1.0 or 2.0 subscription list. Every outline with an
// xmlUrl is a feed, in document order; outlines without one are folders
// whose labels become the categories of the feeds inside them (an outline
// that is itself a feed is not a folder of outlines nested in it). A feed
// listed several times is returned once, at its first place, with the
// categories of every listing. Documents in another encoding than UTF-8
// are decoded according to their byte order mark or XML declaration.
func Parse(r io.Reader) ([]Feed, error) {
	// Subscription lists are small; holding one whole tells an empty
	// document from one without any element.
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("opml: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("opml: the document is empty")
	}
	var doc document
	err = decode(data, &doc)
	var syn *xml.SyntaxError
	if errors.As(err, &syn) && strings.Contains(syn.Msg, "entity") && !isUTF16(data) {
		// Hand-edited lists hold bare '&' in URLs ("?a=1&b=2"), which
		// readers accept. Escaped, the document is read again, strictly
		// still: encoding/xml's lenient mode would also mend mismatched
		// tags, which must be reported. Escaping adds no line, so the
		// second reading's errors have the right line numbers.
		doc = document{}
		err = decode(bareAmpersand.ReplaceAllFunc(data, escapeBare), &doc)
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("opml: not an OPML document: no XML element in it")
		}
		// *xml.SyntaxError reads "XML syntax error on line N: …".
		return nil, fmt.Errorf("opml: %w", err)
	}
	if !strings.EqualFold(doc.XMLName.Local, "opml") {
		return nil, fmt.Errorf("opml: not an OPML document: the root element is <%s>, not <opml>", doc.XMLName.Local)
	}
	if doc.Body == nil {
		return nil, errors.New("opml: no <body>")
	}
	p := parser{index: map[string]int{}}
	p.walk(doc.Body.Outlines, nil)
	return p.feeds, nil
}

// bareAmpersand matches every '&', with the reference it starts if any.
// In the encodings read through a CharsetReader (ASCII-compatible ones: no
// GBK or GB18030 byte after the first of a character is below 0x30) the
// byte '&' is only ever that character; in UTF-16 it is not, and UTF-16
// files are not rewritten.
var bareAmpersand = regexp.MustCompile(`&(?:#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z_][A-Za-z0-9._-]*;)?`)

func escapeBare(m []byte) []byte {
	if len(m) == 1 {
		return []byte("&amp;")
	}
	return m
}

// isUTF16 reports whether data starts with a UTF-16 byte order mark.
func isUTF16(data []byte) bool {
	return bytes.HasPrefix(data, []byte{0xFE, 0xFF}) || bytes.HasPrefix(data, []byte{0xFF, 0xFE})
}

// decode reads the root element of data into doc. The decoder is strict:
// encoding/xml's lenient mode would mend mismatched tags that should be
// reported.
func decode(data []byte, doc *document) error {
	var in io.Reader = bytes.NewReader(data)
	bom := false
	if bytes.HasPrefix(data, utf8BOM) {
		// encoding/xml would take the BOM for text before the root.
		in = bytes.NewReader(data[len(utf8BOM):])
	} else if isUTF16(data) {
		// A UTF-16 BOM outranks the declaration (RFC 7303 §3), which
		// then no longer describes the bytes encoding/xml reads.
		in = transform.NewReader(in, unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder())
		bom = true
	}
	d := xml.NewDecoder(in)
	// Titles exported from HTML pages carry &nbsp; and the like.
	d.Entity = xml.HTMLEntity
	d.CharsetReader = func(label string, input io.Reader) (io.Reader, error) {
		if bom {
			return input, nil
		}
		return charset.NewReader(label, input)
	}
	return d.Decode(doc)
}

// parser collects feeds, merging those listed more than once.
type parser struct {
	feeds []Feed
	index map[string]int // xmlUrl → position in feeds
}

func (p *parser) walk(outlines []outline, folders []string) {
	for i := range outlines {
		o := &outlines[i]
		label := o.label()
		u := o.attr("xmlUrl")
		if u == "" {
			inner := folders
			if label != "" {
				// A fresh slice: siblings must not share the append.
				inner = append(folders[:len(folders):len(folders)], label)
			}
			p.walk(o.Outlines, inner)
			continue
		}
		cats := append([]string(nil), folders...)
		cats = append(cats, categoryAttr(o.attr("category"))...)
		p.add(Feed{Title: label, XMLURL: u, HTMLURL: o.attr("htmlUrl"), Categories: cats})
		p.walk(o.Outlines, folders)
	}
}

func (p *parser) add(f Feed) {
	i, seen := p.index[f.XMLURL]
	if !seen {
		p.index[f.XMLURL] = len(p.feeds)
		f.Categories = union(nil, f.Categories)
		p.feeds = append(p.feeds, f)
		return
	}
	g := &p.feeds[i]
	if g.Title == "" {
		g.Title = f.Title
	}
	if g.HTMLURL == "" {
		g.HTMLURL = f.HTMLURL
	}
	g.Categories = union(g.Categories, f.Categories)
}

// union appends to a the strings of b it does not hold yet.
func union(a, b []string) []string {
	for _, s := range b {
		dup := false
		for _, t := range a {
			if s == t {
				dup = true
				break
			}
		}
		if !dup {
			a = append(a, s)
		}
	}
	return a
}

// categoryAttr reads OPML 2.0's category attribute: comma-separated
// slash-delimited paths ("/Boston/Weather,/Tech"), of which a category is
// the last element.
func categoryAttr(v string) []string {
	var cats []string
	for _, path := range strings.Split(v, ",") {
		parts := strings.Split(path, "/")
		for i := len(parts) - 1; i >= 0; i-- {
			if c := strings.Join(strings.Fields(parts[i]), " "); c != "" {
				cats = append(cats, c)
				break
			}
		}
	}
	return cats
}

// The elements Write writes.
type (
	outDoc struct {
		XMLName xml.Name `xml:"opml"`
		Version string   `xml:"version,attr"`
		Head    outHead  `xml:"head"`
		Body    outBody  `xml:"body"`
	}
	outHead struct {
		Title       string `xml:"title"`
		DateCreated string `xml:"dateCreated,omitempty"`
	}
	outBody struct {
		Outlines []outOutline `xml:"outline"`
	}
	outOutline struct {
		Type     string       `xml:"type,attr,omitempty"`
		Text     string       `xml:"text,attr"` // required by OPML 2.0
		Title    string       `xml:"title,attr,omitempty"`
		XMLURL   string       `xml:"xmlUrl,attr,omitempty"`
		HTMLURL  string       `xml:"htmlUrl,attr,omitempty"`
		Outlines []outOutline `xml:"outline"`
	}
)

// Write writes an OPML 2.0 document titled title: one folder outline per
// group holding one type="rss" outline per feed. A group without a title
// has its feeds written at the top of the body. The category of a feed is
// its group: Feed.Categories is not written. dateCreated is created in
// RFC 822 form (left out when created is zero). Every feed needs an XMLURL,
// else Parse would not see it.
func Write(w io.Writer, title string, created time.Time, groups []Group) error {
	doc := outDoc{Version: "2.0", Head: outHead{Title: title}}
	if !created.IsZero() {
		// RFC 1123 is RFC 822 with a four-digit year, which OPML 2.0
		// prefers; a numeric zone keeps the operator's offset.
		doc.Head.DateCreated = created.Format(time.RFC1123Z)
	}
	for _, g := range groups {
		outlines := make([]outOutline, 0, len(g.Feeds))
		for _, f := range g.Feeds {
			if strings.TrimSpace(f.XMLURL) == "" {
				return fmt.Errorf("opml: feed %q has no xmlUrl", f.Title)
			}
			outlines = append(outlines, outOutline{Type: "rss", Text: f.Title, Title: f.Title, XMLURL: f.XMLURL, HTMLURL: f.HTMLURL})
		}
		if g.Title == "" {
			doc.Body.Outlines = append(doc.Body.Outlines, outlines...)
		} else {
			doc.Body.Outlines = append(doc.Body.Outlines, outOutline{Text: g.Title, Title: g.Title, Outlines: outlines})
		}
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(xml.Header)
	e := xml.NewEncoder(bw)
	e.Indent("", "  ")
	if err := e.Encode(doc); err != nil {
		return fmt.Errorf("opml: %w", err)
	}
	bw.WriteByte('\n')
	return bw.Flush()
}
