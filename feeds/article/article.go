// Package article extracts the body of one article from its fetched page:
// by CSS selector (minus what the operator removes), by readability when
// no selector is given, or from a JSON body API answer by path.
//
// Its functions are pure: bytes in (decoded to UTF-8 by the fetcher's
// charset rules), an HTML fragment out. The fragment is not safe to
// publish: package feeds sanitizes it like any feed content, resolving its
// relative links against the article's URL.
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

	"github.com/feedrelay/feedrelay/feeds/scrape"
)

// Spec is a source's full_text block (issue 13), less its url: the URL
// template is expanded by package scrape while the item's JSON fields are
// at hand (scrape.Spec.FullTextURL), so an item arrives here with the URL
// already made.
type Spec struct {
	// Selector picks the article; several matches are joined in page
	// order. Empty: readability finds it.
	Selector string
	// Remove are removed inside the article (inside the whole page for
	// readability) before anything is taken: share bars, scripts, ads.
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

// Extract returns the article's HTML from its fetched page. pageURL is
// where the page came from after redirects; readability resolves the
// article's relative links against it.
func (e *Extractor) Extract(page []byte, pageURL string) (string, error) {
	var (
		out string
		err error
	)
	switch {
	case e.spec.Path != "":
		out, err = e.fromJSON(page)
	case e.sel != nil:
		out, err = e.bySelector(page)
	default:
		out, err = e.byReadability(page, pageURL)
	}
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(out) == "" {
		return "", errors.New("the article is empty")
	}
	return out, nil
}

func (e *Extractor) bySelector(page []byte) (string, error) {
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(page))
	if err != nil {
		return "", fmt.Errorf("parse article page: %w", err)
	}
	found := doc.FindMatcher(e.sel)
	if found.Length() == 0 {
		return "", fmt.Errorf("%w (selector %q)", ErrNoArticle, e.spec.Selector)
	}
	for _, r := range e.remove {
		found.FindMatcher(r).Remove()
	}
	var b strings.Builder
	for i := range found.Nodes {
		h, err := found.Eq(i).Html()
		if err != nil {
			return "", fmt.Errorf("render article: %w", err)
		}
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(h)
	}
	return b.String(), nil
}

// readabilityChars is the text length below which readability retries
// with looser rules (Readability.js's charThreshold, 500 by default). It
// counts characters, and a Chinese news article says in 200 characters
// what takes 500 in English: with 500, a short 快讯 fails the first,
// strictest pass and the looser ones let sidebars in.
const readabilityChars = 200

func (e *Extractor) byReadability(page []byte, pageURL string) (string, error) {
	doc, err := goquery.NewDocumentFromReader(bytes.NewReader(page))
	if err != nil {
		return "", fmt.Errorf("parse article page: %w", err)
	}
	for _, r := range e.remove {
		doc.FindMatcher(r).Remove()
	}
	u, _ := url.Parse(pageURL) // nil leaves links as they are
	p := readability.NewParser()
	p.CharThresholds = readabilityChars
	art, err := p.ParseAndMutate(doc.Nodes[0], u)
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
