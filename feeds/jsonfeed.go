package feeds

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// mendJSONFeed rewrites a JSON Feed document whose optional fields have
// the wrong JSON type, so that gofeed, which unmarshals strictly and fails
// the whole feed on one such field, reads the rest: NetNewsWire and
// feedparser read those feeds, and one item's "tags": "a,b" must not cost
// 84 items. Each field of the spec (jsonfeed.org/version/1.1) that is not
// of its type is mended when its meaning is plain — tags "a,b" → ["a","b"],
// an author given as a string → its name, an author or attachment object
// where an array is wanted → an array of one, a number or boolean where a
// string is wanted → its text — and dropped otherwise. Fields the spec
// does not name are left alone (gofeed ignores them), as are those gofeed
// already coerces (id, expired, size_in_bytes, duration_in_seconds).
//
// It returns the document re-encoded and one note per kind of repair,
// such as `items[].tags: a string read as a comma-separated list, 3
// times`; ok is false when the document is not an object with an "items"
// array, which no repair makes a feed of.
func mendJSONFeed(doc []byte) (mended []byte, notes []string, ok bool) {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber() // numbers re-encode as written
	var top map[string]any
	if err := d.Decode(&top); err != nil {
		return nil, nil, false
	}
	if _, isList := top["items"].([]any); !isList {
		return nil, nil, false
	}
	m := &jsonMender{counts: map[[2]string]int{}}
	m.object(top, "", feedFields)
	if len(m.counts) == 0 {
		return nil, nil, false // nothing of ours was wrong: keep gofeed's error
	}
	out, err := json.Marshal(top)
	if err != nil {
		return nil, nil, false
	}
	return out, m.notes(), true
}

// jsonShape is the JSON type the spec gives a field.
type jsonShape int

const (
	shapeString      jsonShape = iota
	shapeStrings               // an array of strings: tags
	shapeAuthor                // an author object
	shapeAuthors               // an array of author objects
	shapeItems                 // the items array
	shapeAttachments           // an array of attachment objects
)

// The fields of JSON Feed 1.1 gofeed decodes, with their shapes; id,
// expired and the attachment numbers are missing on purpose (gofeed
// coerces them itself).
var (
	feedFields = map[string]jsonShape{
		"version": shapeString, "title": shapeString, "home_page_url": shapeString,
		"feed_url": shapeString, "description": shapeString, "user_comment": shapeString,
		"next_url": shapeString, "icon": shapeString, "favicon": shapeString,
		"language": shapeString, "author": shapeAuthor, "authors": shapeAuthors, "items": shapeItems,
	}
	itemFields = map[string]jsonShape{
		"url": shapeString, "external_url": shapeString, "title": shapeString,
		"content_html": shapeString, "content_text": shapeString, "summary": shapeString,
		"image": shapeString, "banner_image": shapeString, "date_published": shapeString,
		"date_modified": shapeString, "language": shapeString, "author": shapeAuthor,
		"authors": shapeAuthors, "tags": shapeStrings, "attachments": shapeAttachments,
	}
	authorFields     = map[string]jsonShape{"name": shapeString, "url": shapeString, "avatar": shapeString}
	attachmentFields = map[string]jsonShape{"url": shapeString, "mime_type": shapeString, "title": shapeString}
)

// jsonMender mends one document and counts what it did, by field path and
// repair.
type jsonMender struct {
	counts map[[2]string]int
}

func (m *jsonMender) note(path, what string) { m.counts[[2]string{path, what}]++ }

// notes are the repairs in words, sorted by field path.
func (m *jsonMender) notes() []string {
	out := make([]string, 0, len(m.counts))
	for k, n := range m.counts {
		times := "times"
		if n == 1 {
			times = "time"
		}
		out = append(out, fmt.Sprintf("%s: %s, %d %s", k[0], k[1], n, times))
	}
	sort.Strings(out)
	return out
}

// object mends the fields of obj that fields names; path is obj's own.
func (m *jsonMender) object(obj map[string]any, path string, fields map[string]jsonShape) {
	for key, v := range obj {
		shape, known := fields[key]
		if !known || v == nil {
			continue
		}
		p := key
		if path != "" {
			p = path + "." + key
		}
		if fixed, keep := m.value(v, p, shape); keep {
			obj[key] = fixed
		} else {
			delete(obj, key)
		}
	}
}

// value mends one field's value v to shape; keep is false when it must be
// dropped.
func (m *jsonMender) value(v any, path string, shape jsonShape) (fixed any, keep bool) {
	switch shape {
	case shapeString:
		switch x := v.(type) {
		case string:
			return x, true
		case json.Number:
			m.note(path, "a number read as text")
			return x.String(), true
		case bool:
			m.note(path, "a boolean read as text")
			return strconv.FormatBool(x), true
		}
		m.note(path, kindOf(v)+" dropped")
		return nil, false
	case shapeStrings:
		switch x := v.(type) {
		case string:
			m.note(path, "a string read as a comma-separated list")
			var tags []any
			for _, t := range strings.Split(x, ",") {
				if t = strings.TrimSpace(t); t != "" {
					tags = append(tags, t)
				}
			}
			return tags, true
		case []any:
			tags := x[:0]
			for _, t := range x {
				switch tv := t.(type) {
				case string:
					tags = append(tags, tv)
				case json.Number:
					m.note(path, "a number read as text")
					tags = append(tags, tv.String())
				default:
					m.note(path+"[]", kindOf(t)+" dropped")
				}
			}
			return tags, true
		}
		m.note(path, kindOf(v)+" dropped")
		return nil, false
	case shapeAuthor:
		switch x := v.(type) {
		case map[string]any:
			m.object(x, path, authorFields)
			return x, true
		case string:
			m.note(path, "a string read as the author's name")
			return map[string]any{"name": x}, true
		}
		m.note(path, kindOf(v)+" dropped")
		return nil, false
	case shapeAuthors, shapeAttachments:
		fields := authorFields
		if shape == shapeAttachments {
			fields = attachmentFields
		}
		list, isList := v.([]any)
		if !isList {
			_, isObj := v.(map[string]any)
			_, isStr := v.(string)
			switch {
			case isObj:
				m.note(path, "an object read as an array of one")
			case isStr && shape == shapeAuthors:
				m.note(path, "a string read as the author's name")
			default:
				m.note(path, kindOf(v)+" dropped")
				return nil, false
			}
			list = []any{v}
		}
		kept := list[:0]
		for _, e := range list {
			switch x := e.(type) {
			case map[string]any:
				m.object(x, path+"[]", fields)
				kept = append(kept, x)
				continue
			case string:
				if shape == shapeAuthors {
					if isList {
						m.note(path+"[]", "a string read as the author's name")
					}
					kept = append(kept, map[string]any{"name": x})
					continue
				}
			}
			m.note(path+"[]", kindOf(e)+" dropped")
		}
		return kept, true
	case shapeItems:
		list := v.([]any) // mendJSONFeed checked
		kept := list[:0]
		for _, e := range list {
			if obj, isObj := e.(map[string]any); isObj {
				m.object(obj, "items[]", itemFields)
				kept = append(kept, obj)
				continue
			}
			m.note("items[]", kindOf(e)+" dropped (not an item object)")
		}
		return kept, true
	}
	return v, true
}

// kindOf names the JSON type of a decoded value, with its article.
func kindOf(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "a value"
}
