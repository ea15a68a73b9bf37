// Package article extracts the body of one article from its fetched page:
// by CSS selector (minus what the operator removes), by readability when
// no selector is given, or from a JSON body API answer by path.
//
// Its functions are pure: bytes in (decoded to UTF-8 by the fetcher's
// charset rules), an HTML fragment out, with the address its relative
// links resolve against (the page's <base href>, else its URL). The
// fragment is not safe to publish: package feeds sanitizes it like any
// feed content, resolving its relative links against that address.
package article

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"

	readability "codeberg.org/readeck/go-readability/v2"
	"github.com/PuerkitoBio/goquery"
	"github.com/andybalholm/cascadia"
	"github.com/tidwall/gjson"
	"golang.org/x/net/html"

	"github.com/feedrelay/feedrelay/feeds/scrape"
)

// Spec is a source's full_text block (issue 13), less its url: the URL
// template is expanded by package scrape while the item's JSON fields are
// at hand (scrape.Spec.FullTextURL), so an item arrives here with the URL
// already made.
type Spec struct {
	// Selector picks the article: one match is the article (its inner
	// HTML), several are its parts (each match's outer HTML, in page
	// order: ".detail-content > p" keeps its paragraphs). Empty:
	// readability finds it.
	Selector string
	// Remove are removed from the whole page before anything is taken
	// (share bars, scripts, ads, a "责任编辑" line): an element the
	// selector matches goes too.
	Remove []string
	// Path, when set, reads the page as a JSON answer and takes the HTML
	// string at this gjson path ("text" for Eastmoney's body API).
	Path string
}

// ErrNoArticle is returned when the selector matches nothing on the page:
// most often the site changed its article layout.
var ErrNoArticle = errors.New("article selector matched nothing: the article layout may have changed")

// Extractor is a compiled Spec. It is safe for concurrent use.
type Extractor struct {
	spec   Spec
	sel    cascadia.Selector
	remove []cascadia.Selector
}

// Compile checks a Spec and compiles its selectors once. Every problem is
// a *scrape.FieldError naming the key (full_text.selector,
// full_text.remove[i], full_text.path), joined with errors.Join.
func Compile(spec Spec) (*Extractor, error) {
	var errs []error
	e := &Extractor{spec: spec}
	if s := strings.TrimSpace(spec.Selector); s != "" {
		sel, err := cascadia.Compile(s)
		if err != nil {
			errs = append(errs, &scrape.FieldError{Field: "full_text.selector", Value: spec.Selector,
				Err: fmt.Errorf("CSS selector does not compile: %w", err)})
		}
		e.sel = sel
	}
	for i, r := range spec.Remove {
		sel, err := cascadia.Compile(strings.TrimSpace(r))
		if err != nil {
			errs = append(errs, &scrape.FieldError{Field: fmt.Sprintf("full_text.remove[%d]", i), Value: r,
				Err: fmt.Errorf("CSS selector does not compile: %w", err)})
			continue
		}
		e.remove = append(e.remove, sel)
	}
	if spec.Path != "" {
		if err := scrape.CheckPath(spec.Path); err != nil {
			errs = append(errs, &scrape.FieldError{Field: "full_text.path", Value: spec.Path, Err: err})
		}
		if spec.Selector != "" || len(spec.Remove) > 0 {
			errs = append(errs, &scrape.FieldError{Field: "full_text.path", Value: spec.Path,
				Err: errors.New("a JSON body has no selector or remove: give path alone")})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return e, nil
}

// Extract returns the article's HTML from its fetched page (content), and
// base, the address its relative links resolve against: the page's
// <base href> when that is a web address, else pageURL, where the page
// came from after redirects (nil when neither is a web address).
// Readability resolves the article's links against base itself.
func (e *Extractor) Extract(page []byte, pageURL string) (content string, base *url.URL, err error) {
	if e.spec.Path != "" {
		// A JSON answer has no <base>: its HTML is read against its URL.
		base, err = scrape.WebBase(pageURL)
		if err == nil {
			content, err = e.fromJSON(page)
		}
	} else {
		content, base, err = e.fromPage(page, pageURL)
	}
	if err != nil {
		return "", nil, err
	}
	if strings.TrimSpace(content) == "" {
		return "", nil, errors.New("the article is empty")
	}
	return content, base, nil
}

// fromPage parses an HTML page, removes what Remove names from all of it,
// and takes the article by selector or readability.
func (e *Extractor) fromPage(page []byte, pageURL string) (string, *url.URL, error) {
	base, err := scrape.WebBase(pageURL)
	if err != nil {
		return "", nil, err
	}
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(page))
	if err != nil {
		return "", nil, fmt.Errorf("parse article page: %w", err)
	}
	base = scrape.DocumentBase(doc, base)
	// Removed from the whole page first (README: "removed first"), so
	// that a match of the selector is removed too, not only what it
	// holds.
	for _, r := range e.remove {
		doc.FindMatcher(r).Remove()
	}
	var out string
	if e.sel != nil {
		out, err = e.bySelector(doc)
	} else {
		out, err = byReadability(doc, base)
	}
	return out, base, err
}

// bySelector takes the selector's matches out of doc: one match's inner
// HTML (what stored articles have always held), or several matches' outer
// HTML in page order, so that ".detail-content > p" keeps its paragraphs.
// A match inside an earlier match is part of it already.
func (e *Extractor) bySelector(doc *goquery.Document) (string, error) {
	found := doc.FindMatcher(e.sel)
	switch found.Length() {
	case 0:
		if len(e.remove) > 0 {
			// remove may be what took the matches.
			return "", fmt.Errorf("%w (selector %q, once remove was applied)", ErrNoArticle, e.spec.Selector)
		}
		return "", fmt.Errorf("%w (selector %q)", ErrNoArticle, e.spec.Selector)
	case 1:
		h, err := found.Html()
		if err != nil {
			return "", fmt.Errorf("render article: %w", err)
		}
		return strings.TrimSpace(h), nil
	}
	var b strings.Builder
	var last *html.Node // the latest match written
	for i, n := range found.Nodes {
		if last != nil && within(n, last) {
			continue
		}
		h, err := goquery.OuterHtml(found.Eq(i))
		if err != nil {
			return "", fmt.Errorf("render article: %w", err)
		}
		last = n
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(h)
	}
	return b.String(), nil
}

// within reports whether n is a descendant of ancestor.
func within(n, ancestor *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p == ancestor {
			return true
		}
	}
	return false
}

// readabilityChars is the text length below which readability retries
// with looser rules (Readability.js's charThreshold, 500 by default). It
// counts characters, and a Chinese news article says in 200 characters
// what takes 500 in English: with 500, a short 快讯 fails the first,
// strictest pass and the looser ones let sidebars in.
const readabilityChars = 200

// byReadability finds the article of doc (Remove already applied) and
// renders it, its links made absolute against base.
func byReadability(doc *goquery.Document, base *url.URL) (string, error) {
	p := readability.NewParser()
	p.CharThresholds = readabilityChars
	art, err := p.ParseAndMutate(doc.Nodes[0], base) // nil base: links left as they are
	if err != nil {
		return "", fmt.Errorf("readability: %w", err)
	}
	if art.Node == nil {
		return "", errors.New("readability found no article on the page: give full_text.selector")
	}
	var b strings.Builder
	if err := art.RenderHTML(&b); err != nil {
		return "", fmt.Errorf("render article: %w", err)
	}
	return b.String(), nil
}

func (e *Extractor) fromJSON(body []byte) (string, error) {
	doc, err := scrape.UnwrapJSON(body)
	if err != nil {
		return "", fmt.Errorf("body answer: %w", err)
	}
	v := gjson.GetBytes(doc, e.spec.Path)
	switch {
	case !v.Exists() || v.Type == gjson.Null:
		return "", fmt.Errorf("path %q matched nothing in the body answer", e.spec.Path)
	case v.Type != gjson.String:
		return "", fmt.Errorf("path %q is a %s, not a string of HTML", e.spec.Path, v.Type)
	}
	return v.Str, nil
}
