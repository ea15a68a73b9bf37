package scrape

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"net/url"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/tidwall/gjson"
)

// jsonField is one compiled field of a kind: json spec: a gjson path, or a
// template of paths.
type jsonField struct {
	name string
	path string    // when tmpl is nil
	tmpl *template // a value with {path} in it
}

type jsonSpec struct {
	fields []jsonField
}

// compileJSON checks what of a gjson path can be checked: gjson has no
// compile step and answers a path that can never match with "does not
// exist", exactly as for a missing key.
func compileJSON(spec Spec, errs []error) (*jsonSpec, []error) {
	j := &jsonSpec{}
	if strings.TrimSpace(spec.Items) != "" {
		if err := CheckPath(spec.Items); err != nil {
			errs = append(errs, &FieldError{Field: "items", Value: spec.Items, Err: err})
		}
	}
	for _, name := range sortedKeys(spec.Fields) {
		value := strings.TrimSpace(spec.Fields[name])
		f := jsonField{name: name}
		var err error
		switch {
		case value == "":
			err = errors.New("empty: remove the field or give a path")
		case strings.ContainsAny(value, "{}"):
			f.tmpl, err = compileTemplate(value, name == "link")
		default:
			f.path, err = value, CheckPath(value)
		}
		if err != nil {
			errs = append(errs, &FieldError{Field: "fields." + name, Value: spec.Fields[name], Err: err})
			continue
		}
		j.fields = append(j.fields, f)
	}
	if spec.FullTextURL != "" {
		t, err := compileTemplate(spec.FullTextURL, true)
		if err == nil && len(t.parts) == 1 && t.parts[0].path == "" {
			err = errors.New("has no {path}: every item would fetch the same URL")
		}
		if err != nil {
			errs = append(errs, &FieldError{Field: "full_text.url", Value: spec.FullTextURL, Err: err})
		} else {
			j.fields = append(j.fields, jsonField{name: fullTextField, tmpl: t})
		}
	}
	return j, errs
}

func (s *Scraper) parseJSON(body []byte, pageURL string, loc *time.Location, now time.Time, t *tally) (*Result, error) {
	base, err := WebBase(pageURL)
	if err != nil {
		return nil, err
	}
	doc, err := UnwrapJSON(body)
	if err != nil {
		return nil, err
	}
	list := gjson.GetBytes(doc, s.spec.Items)
	switch {
	case !list.Exists() || list.Type == gjson.Null:
		return nil, fmt.Errorf("%w (items %q)", ErrNoItems, s.spec.Items)
	case list.IsObject():
		return nil, fmt.Errorf("items %q is an object, not an array (for an object whose values are the items, write %q)",
			s.spec.Items, s.spec.Items+"|@values")
	case !list.IsArray():
		return nil, fmt.Errorf("items %q is a %s, not an array", s.spec.Items, list.Type)
	}
	// An existing empty array is an empty list, not a layout change
	// (FreshRSS makes the same distinction, FreshRSS#4425).
	elems := list.Array()
	r := &Result{Feed: &gofeed.Feed{}, Matched: len(elems)}
	for _, el := range elems {
		v := make(map[string][]string, len(s.json.fields))
		for _, f := range s.json.fields {
			if f.tmpl != nil {
				if x := f.tmpl.expand(el); x != "" {
					v[f.name] = []string{x}
				}
			} else {
				v[f.name] = jsonValues(el.Get(f.path))
			}
			if textFields[f.name] {
				for i, x := range v[f.name] {
					v[f.name][i] = html.UnescapeString(x)
				}
			}
		}
		t.see(v)
		it, bad := s.item(v, base, loc, now)
		if bad != "" {
			t.badLink(bad)
		}
		if it != nil {
			r.Feed.Items = append(r.Feed.Items, it)
		} else {
			r.Skipped++
		}
	}
	return r, nil
}

// textFields are the fields of an API answer that are plain text, whose
// character references are read once: Chinese APIs (东方财富, 新浪) write
// their titles as they write HTML, "沪指&nbsp;震荡上行", "&quot;十五五&quot;",
// which a reader would otherwise show as such (feeds reads a JSON Feed's
// titles the same way). summary and content are HTML already: their
// references are the sanitizer's to read.
var textFields = map[string]bool{"title": true, "author": true, "origin": true, "categories": true}

// jsonValues turns a path's result into field values: each member of an
// array (tags.#.name), else the value itself; numbers keep their digits
// (an id 20261126093000123 is not rounded through a float).
func jsonValues(r gjson.Result) []string {
	if !r.Exists() || r.Type == gjson.Null {
		return nil
	}
	if r.IsArray() {
		var out []string
		for _, m := range r.Array() {
			if m.Type != gjson.Null && !m.IsObject() && !m.IsArray() {
				out = append(out, m.String())
			}
		}
		return out
	}
	if r.IsObject() {
		return nil // an object is no field value; the path is too short
	}
	return []string{r.String()}
}

// UnwrapJSON returns the JSON in body: as is, or unwrapped from the
// JSONP forms Chinese APIs often answer with (`cb({...})`,
// `var x = {...};`). It fails on anything that is then not valid JSON.
func UnwrapJSON(body []byte) ([]byte, error) {
	doc := bytes.TrimSpace(body)
	if len(doc) > 0 && doc[0] != '{' && doc[0] != '[' {
		i := bytes.IndexAny(doc, "{[")
		j := bytes.LastIndexAny(doc, "}]")
		if i > 0 && j > i {
			doc = doc[i : j+1]
		}
	}
	if !gjson.ValidBytes(doc) {
		head := doc
		if len(head) > 40 {
			head = head[:40]
		}
		return nil, fmt.Errorf("not valid JSON (starts %q)", head)
	}
	return doc, nil
}

// CheckPath rejects gjson paths that can never match: unbalanced brackets
// or quotes, a trailing separator, an unknown @modifier. gjson itself has
// no compile step: such a path just never exists.
func CheckPath(p string) error {
	var stack []byte
	inQuote := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\':
			i++ // the next character is literal
		case inQuote:
			if c == '"' {
				inQuote = false
			}
		case c == '"':
			inQuote = true
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, c)
		case c == ')' || c == ']' || c == '}':
			open := map[byte]byte{')': '(', ']': '[', '}': '{'}[c]
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return fmt.Errorf("unbalanced %q at %d", c, i)
			}
			stack = stack[:len(stack)-1]
		case c == '@' && len(stack) == 0 && (i == 0 || p[i-1] == '.' || p[i-1] == '|'):
			j := i + 1
			for j < len(p) && !strings.ContainsRune(".|:[{(", rune(p[j])) {
				j++
			}
			if name := p[i+1 : j]; !gjson.ModifierExists(name, nil) {
				return fmt.Errorf("unknown modifier @%s", name)
			}
		}
	}
	switch {
	case inQuote:
		return errors.New("unterminated quote")
	case len(stack) > 0:
		return fmt.Errorf("unclosed %q", stack[len(stack)-1])
	case strings.HasSuffix(p, ".") && !strings.HasSuffix(p, `\.`), strings.HasSuffix(p, "|"):
		return errors.New("ends with a separator")
	}
	return nil
}

// template is a field value with {path} placeholders, each a gjson path
// into the item: "http://…/NewsShare.html?infoCode={infocode}".
type template struct {
	parts []tplPart
	isURL bool // values are escaped for where they stand in the URL
}

type tplPart struct {
	lit   string
	path  string // "" for a literal part
	query bool   // the placeholder stands after '?' (or '#') in a URL
}

func compileTemplate(s string, isURL bool) (*template, error) {
	t := &template{isURL: isURL}
	inQuery := false
	for rest := s; rest != ""; {
		open := strings.IndexByte(rest, '{')
		if close := strings.IndexByte(rest, '}'); close >= 0 && (open < 0 || close < open) {
			return nil, errors.New("'}' without '{'")
		}
		if open < 0 {
			t.parts = append(t.parts, tplPart{lit: rest})
			break
		}
		if open > 0 {
			lit := rest[:open]
			t.parts = append(t.parts, tplPart{lit: lit})
			inQuery = inQuery || strings.ContainsAny(lit, "?#")
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, errors.New("'{' without '}'")
		}
		path := strings.TrimSpace(rest[open+1 : open+end])
		if path == "" {
			return nil, errors.New("empty {}: write the path of the value, e.g. {infocode}")
		}
		if err := CheckPath(path); err != nil {
			return nil, fmt.Errorf("{%s}: %w", path, err)
		}
		t.parts = append(t.parts, tplPart{path: path, query: inQuery})
		rest = rest[open+end+1:]
	}
	return t, nil
}

// expand fills the template from one item. A placeholder whose value is
// missing or empty makes the whole value missing: a link to "…?infoCode="
// would be a wrong link, not an absent one.
func (t *template) expand(item gjson.Result) string {
	whole := len(t.parts) == 1 // "{url}": the value as it is
	var b strings.Builder
	for _, p := range t.parts {
		if p.path == "" {
			b.WriteString(p.lit)
			continue
		}
		vals := jsonValues(item.Get(p.path))
		if len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
			return ""
		}
		v := strings.TrimSpace(vals[0])
		switch {
		case whole || !t.isURL:
		case p.query:
			v = url.QueryEscape(v)
		default:
			v = url.PathEscape(v)
		}
		b.WriteString(v)
	}
	return b.String()
}
