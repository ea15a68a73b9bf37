// Package config reads feedrelay's YAML file: schema, defaults and
// validation, with every error naming the file, line and key.
package config

import (
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/feedrelay/feedrelay/filter"
)

// Config is the whole YAML file after defaults and validation.
type Config struct {
	Listen      string        `yaml:"listen"`
	BaseURL     string        `yaml:"base_url"`
	Database    string        `yaml:"database"`
	Timezone    string        `yaml:"timezone"`
	UserAgent   string        `yaml:"user_agent"`
	PageSize    int           `yaml:"page_size"`
	CacheMaxAge time.Duration `yaml:"cache_max_age"`
	// ShutdownTimeout bounds a graceful stop (SIGTERM, SIGINT).
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	Concurrency     int           `yaml:"concurrency"`
	PerHost         int           `yaml:"per_host_concurrency"`
	Attribution     string        `yaml:"attribution"`
	Language        string        `yaml:"language"`
	Log             Log           `yaml:"log"`
	Dedup           Dedup         `yaml:"dedup"`
	Defaults        Defaults      `yaml:"defaults"`
	Categories      []Category    `yaml:"categories"`
	Sources         []Source      `yaml:"sources"`

	// Path is the file the config was read from; relative paths in it
	// (database, file: sources) are resolved against its directory.
	Path string `yaml:"-"`
	// Location is Timezone loaded.
	Location *time.Location `yaml:"-"`
}

// Log selects the slog handler.
type Log struct {
	Format string `yaml:"format"` // text or json
	Level  string `yaml:"level"`  // debug, info, warn, error
}

// Dedup says when items of different sources are one story.
type Dedup struct {
	// TrackingParams are dropped from links before comparing them; a
	// trailing * matches any suffix. Unset (nil): story.DefaultTrackingParams,
	// applied where links are keyed (feeds.Feed.KeyStories).
	TrackingParams []string `yaml:"tracking_params"`
	// TitleWindow: items with the same title fingerprint published this
	// close together are one story. 0s turns title matching off.
	TitleWindow time.Duration `yaml:"title_window"`
}

// Filters are regular expressions on an item's title and content: with
// include rules, an item must match one; it must match no exclude rule.
type Filters struct {
	Include []string `yaml:"include"`
	Exclude []string `yaml:"exclude"`

	Rules *filter.Rules `yaml:"-"`
}

// Retention says which items to prune: those older than Days (by first
// seen), keeping at least the newest MinItems of each source. Days 0 keeps
// everything.
type Retention struct {
	Days     int `yaml:"days"`
	MinItems int `yaml:"min_items"`
}

// Defaults apply to every source that does not set its own value.
type Defaults struct {
	Interval    time.Duration `yaml:"interval"`
	MaxInterval time.Duration `yaml:"max_interval"`
	Timeout     time.Duration `yaml:"timeout"`
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	MaxBodySize ByteSize      `yaml:"max_body_size"`
	Retention   Retention     `yaml:"retention"`
}

// Category is one published feed grouping several sources.
type Category struct {
	Slug    string  `yaml:"slug"`
	Title   string  `yaml:"title"`
	Filters Filters `yaml:"filters"`
	// DedupTitles folds items with the same title into one story (see
	// Dedup.TitleWindow); default true.
	DedupTitles bool `yaml:"dedup_titles"`
}

// Source is one feed we poll.
type Source struct {
	Name        string            `yaml:"name"`
	Slug        string            `yaml:"slug"`
	URL         string            `yaml:"url"`
	SiteURL     string            `yaml:"site_url"`
	Categories  []string          `yaml:"categories"`
	Interval    time.Duration     `yaml:"interval"`
	MaxInterval time.Duration     `yaml:"max_interval"`
	Timeout     time.Duration     `yaml:"timeout"`
	IdleTimeout time.Duration     `yaml:"idle_timeout"`
	Timezone    string            `yaml:"timezone"`
	Charset     string            `yaml:"charset"`
	MaxBodySize ByteSize          `yaml:"max_body_size"`
	UserAgent   string            `yaml:"user_agent"`
	Headers     map[string]string `yaml:"headers"`
	Filters     Filters           `yaml:"filters"`
	Retention   Retention         `yaml:"retention"`

	// Location is Timezone loaded, else the global one.
	Location *time.Location `yaml:"-"`
}

// Category returns the category with the given slug, or nil.
func (c *Config) Category(slug string) *Category {
	for i := range c.Categories {
		if c.Categories[i].Slug == slug {
			return &c.Categories[i]
		}
	}
	return nil
}

// Source returns the source with the given slug, or nil.
func (c *Config) Source(slug string) *Source {
	for i := range c.Sources {
		if c.Sources[i].Slug == slug {
			return &c.Sources[i]
		}
	}
	return nil
}

// ByteSize is a size in bytes, written in YAML as a number or with a unit
// (16MiB, 512KB, 1GB).
type ByteSize int64

var sizePattern = regexp.MustCompile(`^(\d+)\s*([KMG]i?B?|B)?$`)

// UnmarshalYAML accepts plain integers and unit suffixes.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	m := sizePattern.FindStringSubmatch(strings.TrimSpace(n.Value))
	if n.Kind != yaml.ScalarNode || m == nil {
		// A TypeError is collected with the decoder's other errors.
		return &yaml.TypeError{Errors: []string{
			fmt.Sprintf("line %d: cannot read %q as a size (e.g. 16MiB)", n.Line, n.Value)}}
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	unit := strings.TrimSuffix(strings.ToUpper(m[2]), "B")
	mult := map[string]int64{"": 1, "K": 1000, "M": 1000 * 1000, "G": 1000 * 1000 * 1000,
		"KI": 1 << 10, "MI": 1 << 20, "GI": 1 << 30}[unit]
	if v > math.MaxInt64/mult {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %q is too large a size", n.Line, n.Value)}}
	}
	*b = ByteSize(v * mult)
	return nil
}

// Error is one problem in the config file.
type Error struct {
	File string
	Line int
	Key  string // dotted path, e.g. sources[2].interval
	Msg  string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Key == "" {
		return loc + ": " + e.Msg
	}
	return loc + ": " + e.Key + ": " + e.Msg
}

// Errors is every problem found in one file, in line order.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates a config; name is used in error messages and
// to resolve relative paths.
func Parse(name string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{yamlSyntaxError(name, err)}
	}
	if len(root.Content) == 0 {
		return nil, Errors{{File: name, Line: 1, Msg: "the file is empty"}}
	}
	idx := newIndex(root.Content[0])

	var c Config
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, Errors{yamlSyntaxError(name, err)}
		}
		var errs Errors
		for _, msg := range te.Errors {
			errs = append(errs, idx.typeError(name, msg))
		}
		return nil, errs
	}
	c.Path = name
	v := validator{file: name, idx: idx}
	v.validate(&c)
	if len(v.errs) > 0 {
		sort.SliceStable(v.errs, func(i, j int) bool { return v.errs[i].Line < v.errs[j].Line })
		return nil, v.errs
	}
	return &c, nil
}

var lineMsg = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// parserProblems are the errors of yaml's parser (as opposed to its
// scanner): yaml reports their line counting from 0, and leaves the line out
// when that is 0.
var parserProblems = map[string]bool{
	"did not find expected key":              true,
	"did not find expected '-' indicator":    true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"did not find expected node content":     true,
	"did not find expected <document start>": true,
}

func yamlSyntaxError(name string, err error) *Error {
	e := &Error{File: name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
	if m := lineMsg.FindStringSubmatch(err.Error()); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Msg = m[2]
	}
	if parserProblems[e.Msg] {
		e.Line++
	}
	return e
}

// index remembers where each key of the YAML document sits, so that errors
// found after decoding can still name a line.
type index struct {
	lines  map[string]int     // path → line of its key (or item)
	byLine map[int]string     // line → deepest path whose key or value is on it
	onLine map[int][]*written // line → every key and scalar item on it, in order
}

// written is one key (or sequence item) as it appears in the file. Several
// share a line in flow style ({interval: 5m, timeout: 30s}); decoder errors
// name only the line, so they are told apart by key or value.
type written struct {
	path, key, value string
	claimed          bool // an error already names it
}

func newIndex(n *yaml.Node) *index {
	idx := &index{lines: map[string]int{}, byLine: map[int]string{}, onLine: map[int][]*written{}}
	if n.Kind == yaml.MappingNode { // else the decoder rejects the whole file
		idx.walk("", n)
	}
	return idx
}

func (idx *index) walk(path string, n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			idx.lines[p] = k.Line
			idx.byLine[k.Line] = p
			idx.onLine[k.Line] = append(idx.onLine[k.Line], &written{path: p, key: k.Value, value: scalar(v)})
			if v.Line != k.Line {
				idx.byLine[v.Line] = p
			}
			idx.walk(p, v)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			idx.lines[p] = item.Line
			if _, ok := idx.byLine[item.Line]; !ok || item.Kind == yaml.ScalarNode {
				idx.byLine[item.Line] = p
			}
			if item.Kind == yaml.ScalarNode {
				idx.onLine[item.Line] = append(idx.onLine[item.Line], &written{path: p, value: item.Value})
			}
			idx.walk(p, item)
		}
	}
}

// has reports whether the key at path was written in the file.
func (idx *index) has(path string) bool {
	_, ok := idx.lines[path]
	return ok
}

// line is the line of path, else of its closest written parent.
func (idx *index) line(path string) int {
	for p := path; p != ""; {
		if l, ok := idx.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

func scalar(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

// claim returns the path of the first unclaimed key on line n that match
// accepts, else def.
func (idx *index) claim(n int, def string, match func(*written) bool) string {
	for _, w := range idx.onLine[n] {
		if !w.claimed && match(w) {
			w.claimed = true
			return w.path
		}
	}
	return def
}

var (
	unknownField = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	// badValue matches yaml's "cannot unmarshal !!int `300` into ..." (long
	// values cut to 7 bytes and "...", lists and mappings not shown: they
	// match a key whose value is not a scalar) and ByteSize's own message.
	badValue = regexp.MustCompile("^cannot (?:unmarshal \\S+(?: `(.*)`)? into |read (\".*\") as a size)")
)

func (idx *index) typeError(file, msg string) *Error {
	m := lineMsg.FindStringSubmatch(msg)
	if m == nil {
		return &Error{File: file, Msg: msg}
	}
	n, _ := strconv.Atoi(m[1])
	text := m[2]
	key := idx.byLine[n]
	if u := unknownField.FindStringSubmatch(text); u != nil {
		text = fmt.Sprintf("unknown key %q", u[1])
		key = idx.claim(n, key, func(w *written) bool { return w.key == u[1] })
	} else if b := badValue.FindStringSubmatch(text); b != nil {
		val := b[1]
		if b[2] != "" {
			val, _ = strconv.Unquote(b[2])
		}
		cut, short := strings.CutSuffix(val, "...")
		key = idx.claim(n, key, func(w *written) bool {
			return w.value == val || short && len(w.value) > 10 && strings.HasPrefix(w.value, cut)
		})
	}
	return &Error{File: file, Line: n, Key: key, Msg: text}
}
