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
	"sort"
	"strings"
	"time"

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
	Skipped int
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
	if s.html != nil {
		r, err = s.parseHTML(body, pageURL, loc, now)
	} else {
		r, err = s.parseJSON(body, pageURL, loc, now)
	}
	if err != nil {
		return nil, err
	}
	if r.Matched > 0 && r.Skipped == r.Matched {
		// Every item lost its link: the link (or guid) selector no
		// longer matches, which is a layout change too.
		return nil, fmt.Errorf("all %d items have neither guid nor link: check fields.guid %q and fields.link %q",
			r.Matched, s.spec.Fields["guid"], s.spec.Fields["link"])
	}
	return r, nil
}

// item builds one gofeed item from raw field values; it returns nil when
// the item has neither guid nor link.
func (s *Scraper) item(v map[string][]string, base *url.URL, loc *time.Location, now time.Time) *gofeed.Item {
	first := func(name string) string {
		for _, x := range v[name] {
			if x = strings.TrimSpace(x); x != "" {
				return x
			}
		}
		return ""
	}
	it := &gofeed.Item{
		Title:       first("title"),
		GUID:        first("guid"),
		Link:        resolve(base, first("link")),
		Description: first("summary"),
		Content:     first("content"),
	}
	if it.GUID == "" && it.Link == "" {
		return nil
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
	return it
}

// dropLabel removes the label Chinese pages put before a name: "作者：张三",
// "来源：证券时报网" (a colon, full-width or not, within the first five
// characters).
func dropLabel(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	for i := 0; i < len(r) && i < 5; i++ {
		if r[i] == '：' || r[i] == ':' {
			return strings.TrimSpace(string(r[i+1:]))
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
