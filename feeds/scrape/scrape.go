// Package scrape turns a web page that publishes no feed into feed items:
// an HTML list page read through CSS selectors (kind: html), or a JSON API
// answer read through gjson paths (kind: json).
//
// It only reads: the page arrives already fetched and decoded to UTF-8 by
// the fetcher's charset rules, and the items leave as a *gofeed.Feed, so that
// package feeds normalizes them exactly as it normalizes RSS, Atom and JSON
// Feed items (sanitized HTML, absolute links, dates in the source's zone,
// identity). It does not import feeds.
package scrape

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/mmcdole/gofeed"
)

// Kind is the shape of the page a Spec reads.
type Kind string

// The kinds of page a Spec can read.
const (
	HTML Kind = "html" // a list page; items and fields are CSS selectors
	JSON Kind = "json" // an API answer; items and fields are gjson paths
)

// Fields are the item fields a Spec may map; "categories" may yield several
// values, the others one.
var Fields = []string{"title", "link", "guid", "published", "updated", "author",
	"origin", "summary", "content", "categories"}

// Keys of gofeed.Item.Custom under which a scraped item carries what
// gofeed.Item has no field for.
const (
	// CustomOrigin is the original publisher the source names for the item
	// (the "origin" field), e.g. 证券时报网 for an item Eastmoney relays.
	CustomOrigin = "origin"
	// CustomFullTextURL is the absolute URL of the item's article body when
	// it is not the item's link: Spec.FullTextURL expanded with the item's
	// own JSON fields.
	CustomFullTextURL = "full_text_url"
	// CustomRelativePublished and CustomRelativeUpdated are set ("1")
	// when that date was written relative to the poll's clock ("3小时前",
	// 刚刚): each poll reads it anew, a little differently, so it is an
	// approximation that must not count as a change of the item.
	CustomRelativePublished = "published_relative"
	CustomRelativeUpdated   = "updated_relative"
)

// Spec says how to read the items of one source. Its field names are the
// YAML keys of issue 13 (items, fields, time_format, full_text.url).
type Spec struct {
	Kind Kind
	// Items selects one element (html: CSS selector) or one array (json:
	// gjson path) whose members are the items.
	Items string
	// Fields maps a field name (see Fields) to where its value is, relative
	// to one item. html: "SELECTOR" for the element's text (its inner HTML
	// for summary and content), "SELECTOR @attr" for an attribute, "@attr"
	// for an attribute of the item element itself. json: a gjson path, or a
	// template in which each {path} is replaced by that path's value.
	Fields map[string]string
	// TimeFormat, when set, reads published and updated as a Go layout
	// ("2006-01-02 15:04"; without a year, the year is inferred), "unix"
	// (seconds) or "unix_ms". Without it, dates are left to the feed date
	// rules of package feeds.
	TimeFormat string
	// FullTextURL (json only) is a template of the URL of each item's
	// article body, e.g. "http://…/GetNewsText.do?id={infocode}". It is
	// expanded here, where the item's raw fields are at hand, and carried in
	// Custom[CustomFullTextURL]; storage then needs only that URL, never
	// the raw JSON, to fetch or retry the article later.
	FullTextURL string
}

// FieldError says which key of a Spec is wrong and why. Its Field is the
// YAML key path ("items", "fields.link", "time_format", "full_text.url"),
// so that a config checker can point at the line.
type FieldError struct {
	Field string
	Value string
	Err   error
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %q: %v", e.Field, e.Value, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// ErrNoItems is returned when the items selector or path matches nothing:
// a site that changes its layout answers 200 with a page that no longer has
// the items, and an empty success would hide that.
var ErrNoItems = errors.New("items selector matched nothing: the page layout may have changed")

// Result is what Parse read from one page.
type Result struct {
	// Feed holds the items in page order. Item dates are raw strings
	// (Published/Updated) unless TimeFormat parsed them (PublishedParsed/
	// UpdatedParsed); links are absolute.
	Feed *gofeed.Feed
	// Matched is how many elements the items selector matched.
	Matched int
	// Skipped is how many of them had neither guid nor link and were
	// left out: such an item could never be recognized on the next poll.
	// A link that is no web address (javascript:void(0)) counts as none.
	Skipped int
	// Warnings are what reading the page warns of, one sentence each in
	// words the editor of the spec can act on: a field that matched
	// nothing in any item (after a redesign, the likely failure), links
	// that are no web address. The items were read all the same.
	Warnings []string
}

// Scraper is a compiled Spec. It is safe for concurrent use.
type Scraper struct {
	spec     Spec
	html     *htmlSpec
	json     *jsonSpec
	timeFunc func(raw string, loc *time.Location, now time.Time) (time.Time, bool)
}

// Compile checks a Spec and compiles its selectors and paths once. The
// error lists every problem, each a *FieldError (errors.Join: use
// interface{ Unwrap() []error } to walk them).
func Compile(spec Spec) (*Scraper, error) {
	var errs []error
	bad := func(field, value string, err error) {
		errs = append(errs, &FieldError{Field: field, Value: value, Err: err})
	}
	if strings.TrimSpace(spec.Items) == "" {
		bad("items", spec.Items, errors.New("required"))
	}
	known := map[string]bool{}
	for _, f := range Fields {
		known[f] = true
	}
	for _, name := range sortedKeys(spec.Fields) {
		if !known[name] {
			bad("fields."+name, spec.Fields[name], fmt.Errorf("unknown field (known: %s)", strings.Join(Fields, ", ")))
		}
	}
	if spec.Fields["guid"] == "" && spec.Fields["link"] == "" {
		bad("fields", "", errors.New("guid or link is required: items are recognized by them"))
	}
	s := &Scraper{spec: spec}
	tf, err := compileTimeFormat(spec.TimeFormat)
	if err != nil {
		bad("time_format", spec.TimeFormat, err)
	}
	s.timeFunc = tf
	switch spec.Kind {
	case HTML:
		if spec.FullTextURL != "" {
			bad("full_text.url", spec.FullTextURL, errors.New("only for kind: json (an html item's article is its link)"))
		}
		s.html, errs = compileHTML(spec, errs)
	case JSON:
		s.json, errs = compileJSON(spec, errs)
	default:
		bad("kind", string(spec.Kind), errors.New("must be html or json"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return s, nil
}

// Parse reads the items of one page. body is the page decoded to UTF-8;
// pageURL is where it came from after redirects (relative links resolve
// against it); loc is the source's zone, for time_format layouts without
// one; now is the poll time, for dates written without a year.
func (s *Scraper) Parse(body []byte, pageURL string, loc *time.Location, now time.Time) (*Result, error) {
	if loc == nil {
		loc = time.UTC // time.ParseInLocation panics on a nil Location
	}
	var (
		r   *Result
		err error
	)
	t := &tally{kind: s.spec.Kind}
	if s.html != nil {
		r, err = s.parseHTML(body, pageURL, loc, now, t)
	} else {
		r, err = s.parseJSON(body, pageURL, loc, now, t)
	}
	if err != nil {
		return nil, err
	}
	if r.Matched > 0 && r.Skipped == r.Matched {
		// Every item lost its link: the link (or guid) selector no
		// longer matches, which is a layout change too.
		err := fmt.Errorf("all %d items have neither guid nor link: check fields.guid %q and fields.link %q",
			r.Matched, s.spec.Fields["guid"], s.spec.Fields["link"])
		if w := t.linkWarning(); w != "" {
			err = fmt.Errorf("%w: %s", err, w)
		}
		return nil, err
	}
	r.Warnings = t.warnings(s.spec, r.Matched)
	return r, nil
}

// tally is what the items of one page had, for Result.Warnings.
type tally struct {
	kind Kind
	// found counts, per field, the items in which it gave a value.
	found map[string]int
	// badLinks counts the items whose link was no web address, with the
	// first few distinct values as the page gave them.
	badLinks    int
	badExamples []string
	// altAttr (html) is an attribute of such a link's element whose value
	// is a web address: where the URL probably is (@data-url).
	altAttr string
}

// maxLinkExamples is how many bad links a warning quotes.
const maxLinkExamples = 3

// see counts the fields that gave a value in one item's raw values.
func (t *tally) see(v map[string][]string) {
	if t.found == nil {
		t.found = map[string]int{}
	}
	for name, vals := range v {
		if slices.ContainsFunc(vals, func(x string) bool { return strings.TrimSpace(x) != "" }) {
			t.found[name]++
		}
	}
}

// badLink counts one item's link that is no web address.
func (t *tally) badLink(raw string) {
	t.badLinks++
	if len(t.badExamples) < maxLinkExamples && !slices.Contains(t.badExamples, raw) {
		t.badExamples = append(t.badExamples, raw)
	}
}

// warnings are the page's warnings: the configured fields (and
// full_text.url) that gave nothing in any of its matched items, then the
// links that are no web address.
func (t *tally) warnings(spec Spec, matched int) []string {
	var out []string
	if matched > 0 {
		var empty []string
		for _, name := range Fields {
			if _, ok := spec.Fields[name]; ok && t.found[name] == 0 {
				empty = append(empty, "fields."+name)
			}
		}
		if spec.FullTextURL != "" && t.found[fullTextField] == 0 {
			empty = append(empty, "full_text.url")
		}
		if len(empty) > 0 {
			what := fmt.Sprintf("in any of %d items", matched)
			if matched == 1 {
				what = "in the page's only item"
			}
			out = append(out, fmt.Sprintf("%s matched nothing %s", strings.Join(empty, ", "), what))
		}
	}
	if w := t.linkWarning(); w != "" {
		out = append(out, w)
	}
	return out
}

// linkWarning says which links were no web address, and where the URL
// may be instead; "" when every link was one.
func (t *tally) linkWarning() string {
	if t.badLinks == 0 {
		return ""
	}
	quoted := make([]string, len(t.badExamples))
	for i, e := range t.badExamples {
		quoted[i] = fmt.Sprintf("%q", e)
	}
	if t.badLinks > len(t.badExamples) && len(t.badExamples) > 1 {
		quoted = append(quoted, "…")
	}
	noun := "items"
	if t.badLinks == 1 {
		noun = "item"
	}
	var hint string
	switch {
	case t.altAttr != "":
		hint = fmt.Sprintf("the URL may be in another attribute, e.g. @%s", t.altAttr)
	case t.kind == HTML:
		hint = "the URL may be in another attribute, e.g. @data-url, or only in a script"
	default:
		hint = `the URL may be in another field, or built from the item's id with a template ("https://…/{id}.html")`
	}
	return fmt.Sprintf("fields.link gave %s for %d %s: not a web address; %s",
		strings.Join(quoted, ", "), t.badLinks, noun, hint)
}

// item builds one gofeed item from raw field values; it returns nil when
// the item has neither guid nor link. A link that is no web address once
// resolved (javascript:void(0), mailto:…) is no link: it is returned as
// badLink, and the item keeps only its guid, if it has one. Kept, it would
// be the item's identity, and every story later in the same slot of the
// page, behind the same javascript:void(0), would overwrite it.
func (s *Scraper) item(v map[string][]string, base *url.URL, loc *time.Location, now time.Time) (it *gofeed.Item, badLink string) {
	first := func(name string) string {
		for _, x := range v[name] {
			if x = strings.TrimSpace(x); x != "" {
				return x
			}
		}
		return ""
	}
	link, ok := webLink(base, first("link"))
	if !ok {
		badLink = first("link")
	}
	it = &gofeed.Item{
		Title:       first("title"),
		GUID:        first("guid"),
		Link:        link,
		Description: first("summary"),
		Content:     first("content"),
	}
	if it.GUID == "" && it.Link == "" {
		return nil, badLink
	}
	if a := dropLabel(first("author")); a != "" {
		it.Authors = []*gofeed.Person{{Name: a}}
	}
	custom := map[string]string{}
	var relative bool
	if it.Published, it.PublishedParsed, relative = s.date(first("published"), loc, now); relative {
		custom[CustomRelativePublished] = "1"
	}
	if it.Updated, it.UpdatedParsed, relative = s.date(first("updated"), loc, now); relative {
		custom[CustomRelativeUpdated] = "1"
	}
	seen := map[string]bool{}
	for _, c := range v["categories"] {
		if c = strings.Join(strings.Fields(c), " "); c != "" && !seen[c] {
			seen[c] = true
			it.Categories = append(it.Categories, c)
		}
	}
	if o := dropLabel(first("origin")); o != "" {
		custom[CustomOrigin] = o
	}
	if u := resolve(base, first(fullTextField)); u != "" {
		custom[CustomFullTextURL] = u
	}
	if len(custom) > 0 {
		it.Custom = custom
	}
	return it, badLink
}

// webLink is ref resolved against base, and whether it may be an item's
// link: an http(s) URL with a host, or, on a page without a web address
// (a file read from disk), a relative reference left as it is. Any other
// scheme (javascript:, data:, vbscript:, about:, mailto:, file:…) is no
// web address (DESIGN: only http(s) links are published).
func webLink(base *url.URL, ref string) (string, bool) {
	link := resolve(base, ref)
	if link == "" {
		return "", true // none, or one that does not parse: dropped as before
	}
	u, err := url.Parse(link)
	switch {
	case err != nil:
		return "", false
	case u.Scheme == "" && base == nil:
		return link, true
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host != "":
		return link, true
	}
	return "", false
}

// maxLabel is the longest label dropLabel removes, in characters
// ("Published", 更新时间).
const maxLabel = 10

// dropLabel removes the label Chinese pages put before a name or a date:
// "作者：张三", "来源：证券时报网", "发布时间：2026-12-01 09:15" (a colon,
// full-width or not, after at most maxLabel letters). A label holds no
// digit: the colon of "15:05" or "今天 08:30" is a time's.
func dropLabel(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	for i := 0; i < len(r) && i <= maxLabel; i++ {
		switch c := r[i]; {
		case c == '：' || c == ':':
			return strings.TrimSpace(string(r[i+1:]))
		case !unicode.IsLetter(c) && !strings.ContainsRune(" /·、", c):
			return s
		}
	}
	return s
}

// fullTextField is the internal name under which the expanded FullTextURL
// travels with the other raw values of a JSON item.
const fullTextField = "\x00full_text_url"

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
