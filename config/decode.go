package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The file is read in two steps: yaml.v3 turns it into a tree of nodes
// (only syntax can fail there), then decoder walks that tree against the
// Config structs, one node at a time. A value that cannot be read is an
// Error at its own key and line, and the walk goes on, so that one run
// reports every problem. The keys a mapping accepts are the yaml tags of
// its struct's fields: adding a key is adding a field.
//
// A field may carry an `expect:"…"` tag saying in an editor's words what
// its value should be ("a list of category slugs"); without one the
// wording comes from the field's type.

// written records where each key and list item of the file sits, and
// which of them could not be read.
type written struct {
	lines map[string]int  // path (sources[2].interval) → line of its key or item
	empty map[string]bool // paths written without a value (interval: or interval: ~)
	bad   map[string]bool // paths whose value was not read
}

func newWritten() *written {
	return &written{lines: map[string]int{}, empty: map[string]bool{}, bad: map[string]bool{}}
}

// has reports whether the key at path was written in the file with a
// value: a key left empty takes its default, as a key left out does.
func (w *written) has(path string) bool {
	_, ok := w.lines[path]
	return ok && !w.empty[path]
}

// line is the line of path, else of its closest written parent.
func (w *written) line(path string) int {
	for p := path; p != ""; p = parent(p) {
		if l, ok := w.lines[p]; ok {
			return l
		}
	}
	return 0
}

// failed reports whether path, or a value it is part of, could not be
// read: checks on it would only repeat that error.
func (w *written) failed(path string) bool {
	for p := path; p != ""; p = parent(p) {
		if w.bad[p] {
			return true
		}
	}
	return false
}

// parent is the path one step up: sources[2].interval → sources[2] →
// sources → "".
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

type decoder struct {
	file    string
	w       *written
	errs    Errors
	aliases int // aliases followed so far
}

// maxAliases bounds the aliases followed in one file: a few nested
// anchors can otherwise stand for billions of values.
const maxAliases = 10000

// fail reports that the value at path could not be read.
func (d *decoder) fail(path string, line int, format string, args ...any) {
	d.w.bad[path] = true
	d.report(path, line, format, args...)
}

func (d *decoder) report(path string, line int, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: path, Msg: fmt.Sprintf(format, args...)})
}

// scalarValue is a config type read from one scalar with its own rules and
// wording (ByteSize): setScalar's error says what is wrong with the value,
// expected what a value looks like.
type scalarValue interface {
	setScalar(n *yaml.Node) error
	expected() string
}

var (
	durationType    = reflect.TypeFor[time.Duration]()
	scalarValueType = reflect.TypeFor[scalarValue]()
)

// value decodes n, written at path on line, into v. expect is the field's
// expect tag, if any.
func (d *decoder) value(path string, line int, n *yaml.Node, v reflect.Value, expect string) {
	if n.Kind == yaml.AliasNode {
		if d.aliases++; d.aliases > maxAliases {
			d.fail(path, line, "more than %d aliases (*name) in the file", maxAliases)
			return
		}
		n = n.Alias
	}
	if isNull(n) {
		d.w.empty[path] = true
		return
	}
	if expect == "" {
		expect = describe(v.Type())
	}
	wrongKind := func() { d.fail(path, line, "expected %s, got %s", expect, shown(n)) }
	switch {
	case reflect.PointerTo(v.Type()).Implements(scalarValueType):
		if n.Kind != yaml.ScalarNode {
			wrongKind()
		} else if err := v.Addr().Interface().(scalarValue).setScalar(n); err != nil {
			d.fail(path, line, "%v", err)
		}
		return
	case v.Type() == durationType:
		d.duration(path, line, n, v, wrongKind)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if d.value(path, line, n, p.Elem(), expect); !d.w.bad[path] {
			v.Set(p)
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			wrongKind()
			return
		}
		fields := fieldsOf(v.Type())
		d.mapping(path, n, func(p string, key, val *yaml.Node) {
			f, ok := lookup(fields, key.Value)
			if !ok {
				d.fail(p, key.Line, "%s", unknownKey(key.Value, fields))
				return
			}
			d.value(p, key.Line, val, v.FieldByIndex(f.index), f.expect)
		})
	case reflect.Map:
		if n.Kind != yaml.MappingNode || v.Type().Key().Kind() != reflect.String {
			wrongKind()
			return
		}
		m := reflect.MakeMap(v.Type())
		d.mapping(path, n, func(p string, key, val *yaml.Node) {
			e := reflect.New(v.Type().Elem()).Elem()
			d.value(p, key.Line, val, e, "")
			k := reflect.New(v.Type().Key()).Elem()
			k.SetString(key.Value)
			m.SetMapIndex(k, e)
		})
		v.Set(m)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			wrongKind()
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.w.lines[p] = item.Line
			d.value(p, item.Line, item, s.Index(i), "")
		}
		v.Set(s)
	default: // strings, numbers, booleans: yaml.v3 reads the one scalar
		if n.Kind != yaml.ScalarNode {
			wrongKind()
			return
		}
		if v.Kind() == reflect.String {
			v.SetString(n.Value) // any scalar is text: a name may be 2024
			return
		}
		p := reflect.New(v.Type())
		if err := n.Decode(p.Interface()); err != nil {
			// yaml.v3's error only restates the mismatch, in Go
			// terms; ours says what the key takes.
			wrongKind()
			return
		}
		v.Set(p.Elem())
	}
}

// field is one key a struct accepts.
type field struct {
	key    string
	index  []int
	expect string
}

// fieldsOf lists the keys a struct accepts, in field order: each field's
// yaml tag name, else its name in lower case (as yaml.v3 does). `yaml:"-"`
// fields are not keys; an embedded struct's fields are keys of the struct
// that embeds it.
func fieldsOf(t reflect.Type) []field {
	var fs []field
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || f.Anonymous || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fs = append(fs, field{key: name, index: f.Index, expect: f.Tag.Get("expect")})
	}
	return fs
}

func lookup(fs []field, key string) (field, bool) {
	for _, f := range fs {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

func unknownKey(key string, fs []field) string {
	keys := make([]string, len(fs))
	for i, f := range fs {
		keys[i] = f.key
	}
	if s := didYouMean(key, keys); s != "" {
		return fmt.Sprintf("unknown key %q; did you mean %q?", key, s)
	}
	return fmt.Sprintf("unknown key %q", key)
}

// mapping decodes the entries of a mapping node, each through entry with
// its path. Keys set twice are errors, and so are keys that are not text.
func (d *decoder) mapping(path string, n *yaml.Node, entry func(p string, key, val *yaml.Node)) {
	seen := map[string]int{}
	for _, kv := range entries(n) {
		key, val := kv[0], kv[1]
		if key.Kind != yaml.ScalarNode {
			d.report(path, key.Line, "a key must be a plain word, not %s", shown(key))
			continue
		}
		p := join(path, key.Value)
		if first, dup := seen[key.Value]; dup {
			d.fail(p, key.Line, "already set on line %d; keep one of them", first)
			continue
		}
		seen[key.Value] = key.Line
		d.w.lines[p] = key.Line
		entry(p, key, val)
	}
}

// entries lists a mapping's key/value pairs, with YAML merge keys
// (<<: *anchor) expanded: a key written in the mapping itself wins over a
// merged one, and an earlier merged mapping over a later one.
func entries(n *yaml.Node) [][2]*yaml.Node {
	var own, merged [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!merge" {
			own = append(own, [2]*yaml.Node{k, v})
			continue
		}
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		srcs := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			srcs = v.Content
		}
		for _, s := range srcs {
			if s.Kind == yaml.AliasNode {
				s = s.Alias
			}
			if s.Kind == yaml.MappingNode {
				merged = append(merged, entries(s)...)
			}
		}
	}
	set := map[string]bool{}
	for _, kv := range own {
		set[kv[0].Value] = true
	}
	for _, kv := range merged {
		if !set[kv[0].Value] {
			set[kv[0].Value] = true
			own = append(own, kv)
		}
	}
	return own
}

func (d *decoder) duration(path string, line int, n *yaml.Node, v reflect.Value, wrongKind func()) {
	if n.Kind != yaml.ScalarNode {
		wrongKind()
		return
	}
	dur, err := time.ParseDuration(n.Value)
	switch {
	case err == nil:
		v.SetInt(int64(dur))
	case isNumber(n.Value):
		d.fail(path, line, "%s needs a unit, e.g. 5m, 90s, 1h", n.Value)
	default:
		d.fail(path, line, "%s is not a duration; write e.g. 5m, 90s, 1h30m", shown(n))
	}
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	return err == nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe says in an editor's words what a value of type t looks like.
func describe(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration such as 5m, 90s or 1h"
	case reflect.PointerTo(t).Implements(scalarValueType):
		return reflect.New(t).Interface().(scalarValue).expected()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return describe(t.Elem())
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Map:
		return "a mapping"
	case reflect.Struct:
		var keys []string
		for _, f := range fieldsOf(t) {
			if len(keys) == 3 {
				keys = append(keys, "…")
				break
			}
			keys = append(keys, f.key+":")
		}
		return "a mapping with keys such as " + strings.Join(keys, ", ")
	}
	return t.String()
}

// shown names what was written: a mapping, a list, or the value itself.
func shown(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return shown(n.Alias)
	}
	v := n.Value
	if utf8.RuneCountInString(v) > 40 {
		v = string([]rune(v)[:40]) + "…"
	}
	if n.ShortTag() == "!!str" {
		return strconv.Quote(v)
	}
	return v
}

// didYouMean returns the candidate closest to word, if it is close enough
// to be a likely typo, else "".
func didYouMean(word string, candidates []string) string {
	best, bestDist := "", 0
	w := strings.ToLower(word)
	for _, c := range candidates {
		dist := editDistance(w, c)
		// Up to two edits, more for long words (categroy → categories).
		limit := max(2, utf8.RuneCountInString(c)*2/5)
		if dist <= limit && (best == "" || dist < bestDist) {
			best, bestDist = c, dist
		}
	}
	return best
}

// editDistance counts the insertions, deletions, substitutions and swaps
// of neighbours that turn a into b (optimal string alignment).
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}
