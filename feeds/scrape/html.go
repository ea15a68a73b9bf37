package scrape

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"github.com/mmcdole/gofeed"
)

// htmlField is one compiled field of a kind: html spec.
type htmlField struct {
	name string
	sel  cascadia.Selector // nil: the item element itself
	attr string            // "": the element's text (inner HTML when html)
	html bool              // summary, content: markup is kept (sanitized later)
	all  bool              // every match counts, not just the first
}

type htmlSpec struct {
	items  cascadia.Selector
	fields []htmlField
}

// compileHTML compiles the CSS selectors with cascadia, which goquery uses
// underneath: goquery itself turns a selector that does not compile into
// one that silently matches nothing, which would look like a layout change.
func compileHTML(spec Spec, errs []error) (*htmlSpec, []error) {
	h := &htmlSpec{}
	if strings.TrimSpace(spec.Items) != "" {
		sel, err := cascadia.Compile(spec.Items)
		if err != nil {
			errs = append(errs, &FieldError{Field: "items", Value: spec.Items, Err: fmt.Errorf("CSS selector does not compile: %w", err)})
		}
		h.items = sel
	}
	for _, name := range sortedKeys(spec.Fields) {
		value := spec.Fields[name]
		f, err := compileHTMLField(name, value)
		if err != nil {
			errs = append(errs, &FieldError{Field: "fields." + name, Value: value, Err: err})
			continue
		}
		h.fields = append(h.fields, f)
	}
	return h, errs
}

// compileHTMLField reads "SELECTOR", "SELECTOR @attr" or "@attr".
func compileHTMLField(name, value string) (htmlField, error) {
	f := htmlField{name: name, html: name == "summary" || name == "content",
		all: name == "categories" || name == "summary" || name == "content"}
	v := strings.TrimSpace(value)
	if v == "" {
		return f, errors.New("empty: remove the field or give a CSS selector")
	}
	if strings.ContainsAny(v, "{}") {
		return f, errors.New("templates ({path}) are for kind: json; give a CSS selector, with @attr for an attribute")
	}
	sel := v
	if i := strings.LastIndex(v, "@"); i == 0 || (i > 0 && v[i-1] == ' ') {
		sel, f.attr = strings.TrimSpace(v[:i]), strings.TrimSpace(v[i+1:])
		if f.attr == "" || strings.ContainsAny(f.attr, " \t\"'=<>/[]") {
			return f, fmt.Errorf("attribute name %q is not valid: write \"SELECTOR @attr\", e.g. \".tt a @href\"", f.attr)
		}
		f.attr = strings.ToLower(f.attr) // x/net/html lower-cases attribute names
	}
	if sel != "" {
		c, err := cascadia.Compile(sel)
		if err != nil {
			return f, fmt.Errorf("CSS selector does not compile: %w", err)
		}
		f.sel = c
	}
	return f, nil
}

// DocumentBase is what the relative links of doc, a page fetched from
// base, resolve against: its first <base href>, resolved against base,
// when that is a web address (a javascript: or data: base would turn
// every relative link into what the sanitizer removes), else base. List
// pages and article pages read it alike.
func DocumentBase(doc *goquery.Document, base *url.URL) *url.URL {
	if base == nil {
		return nil
	}
	href, ok := doc.Find("base[href]").First().Attr("href")
	if !ok {
		return base
	}
	if b, err := base.Parse(strings.TrimSpace(href)); err == nil && (b.Scheme == "http" || b.Scheme == "https") {
		return b
	}
	return base
}

func (s *Scraper) parseHTML(body []byte, pageURL string, loc *time.Location, now time.Time, t *tally) (*Result, error) {
	base, err := WebBase(pageURL)
	if err != nil {
		return nil, err
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parse HTML page: %w", err)
	}
	base = DocumentBase(doc, base)
	items := doc.FindMatcher(s.html.items)
	if items.Length() == 0 {
		return nil, fmt.Errorf("%w (items %q)", ErrNoItems, s.spec.Items)
	}
	r := &Result{
		Feed: &gofeed.Feed{
			Title: strings.Join(strings.Fields(doc.Find("title").First().Text()), " "),
			Link:  pageURL,
		},
		Matched: items.Length(),
	}
	items.Each(func(_ int, el *goquery.Selection) {
		v := make(map[string][]string, len(s.html.fields))
		var link *htmlField
		for i, f := range s.html.fields {
			v[f.name] = f.values(el)
			if f.name == "link" {
				link = &s.html.fields[i]
			}
		}
		t.see(v)
		it, bad := s.item(v, base, loc, now)
		if bad != "" {
			t.badLink(bad)
			if t.altAttr == "" && link != nil {
				t.altAttr = link.webAttr(el, base)
			}
		}
		if it != nil {
			r.Feed.Items = append(r.Feed.Items, it)
		} else {
			r.Skipped++
		}
	})
	return r, nil
}

// webAttr is the name of another attribute of the link field's element in
// item whose value is a web address ("data-url" of <a href="javascript:
// void(0)" data-url="/article/1003.html">), "" for none: where the URL a
// javascript: link hides probably is.
func (f htmlField) webAttr(item *goquery.Selection, base *url.URL) string {
	el := item
	if f.sel != nil {
		el = item.FindMatcher(f.sel).First()
	}
	if el.Length() == 0 {
		return ""
	}
	for _, a := range el.Nodes[0].Attr {
		v := strings.TrimSpace(a.Val)
		if a.Key == f.attr || v == "" || strings.ContainsAny(v, " \t\n") || !looksLikeURL(v) {
			continue
		}
		if link, ok := webLink(base, v); ok && link != "" {
			return a.Key
		}
	}
	return ""
}

// looksLikeURL tells an attribute value that may be a URL from a word
// ("title", "_blank"): an absolute or rooted one, or a path to a page.
func looksLikeURL(v string) bool {
	lower := strings.ToLower(v)
	return strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") ||
		strings.HasPrefix(v, "/") || strings.HasPrefix(v, "./") || strings.HasPrefix(v, "../") ||
		strings.Contains(lower, ".htm") || strings.Contains(lower, ".shtml") || strings.Contains(lower, ".php")
}

// values returns the field's values within one item element: each match's
// for categories, the matches' markup joined for summary and content, and
// the first non-empty one otherwise.
func (f htmlField) values(item *goquery.Selection) []string {
	matches := item
	if f.sel != nil {
		matches = item.FindMatcher(f.sel)
	}
	var out []string
	var joined strings.Builder
	for i := range matches.Nodes {
		m := matches.Eq(i)
		var v string
		switch {
		case f.attr != "":
			v, _ = m.Attr(f.attr)
		case f.html:
			v, _ = m.Html()
		default:
			v = strings.Join(strings.Fields(m.Text()), " ")
		}
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		if f.html && f.all {
			if joined.Len() > 0 {
				joined.WriteByte('\n')
			}
			joined.WriteString(v)
			continue
		}
		out = append(out, v)
		if !f.all {
			break
		}
	}
	if joined.Len() > 0 {
		out = append(out, joined.String())
	}
	return out
}
