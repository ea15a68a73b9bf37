// Package config reads feedrelay's YAML file: schema, defaults and
// validation. Every problem in a file is reported at once, each naming the
// file, line and key. A key is a struct field with a yaml tag (see
// decode.go); its default and checks are in validate.go.
package config

import (
	"fmt"
	"math"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/feedrelay/feedrelay/feeds/article"
	"github.com/feedrelay/feedrelay/feeds/scrape"
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
	Categories      []Category    `yaml:"categories" expect:"a list of categories"`
	Sources         []Source      `yaml:"sources" expect:"a list of sources"`
	Export          Export        `yaml:"export"`
	WebSub          WebSub        `yaml:"websub"`

	// AllowPrivateNetworks lets every source's fetches reach loopback,
	// private and link-local addresses (see Source.AllowPrivateNetworks).
	AllowPrivateNetworks bool `yaml:"allow_private_networks"`

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
	// applied where links are keyed (feeds.Source.Identify).
	TrackingParams []string `yaml:"tracking_params" expect:"a list of query parameter names"`
	// TitleWindow: items with the same title fingerprint published this
	// close together are one story. 0s turns title matching off.
	TitleWindow time.Duration `yaml:"title_window"`
}

// Export is what `serve` keeps exported as files.
type Export struct {
	// Jekyll is a Jekyll site's folder (relative to the config file) whose
	// _posts and category pages serve rewrites after each poll that
	// changed something; empty: none.
	Jekyll string `yaml:"jekyll"`
	// Prune removes there the posts of entries no longer published.
	Prune bool `yaml:"prune"`
}

// WebSub names the hubs told of every change to a published feed.
type WebSub struct {
	Hubs []string `yaml:"hubs" expect:"a list of hub URLs"`
}

// Filters are regular expressions on an item's title and content: with
// include rules, an item must match one; it must match no exclude rule.
type Filters struct {
	Include []string `yaml:"include" expect:"a list of regular expressions"`
	Exclude []string `yaml:"exclude" expect:"a list of regular expressions"`

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
	Categories  []string          `yaml:"categories" expect:"a list of category slugs"`
	Interval    time.Duration     `yaml:"interval"`
	MaxInterval time.Duration     `yaml:"max_interval"`
	Timeout     time.Duration     `yaml:"timeout"`
	IdleTimeout time.Duration     `yaml:"idle_timeout"`
	Timezone    string            `yaml:"timezone"`
	Charset     string            `yaml:"charset"`
	MaxBodySize ByteSize          `yaml:"max_body_size"`
	UserAgent   string            `yaml:"user_agent"`
	Headers     map[string]string `yaml:"headers" expect:"a mapping of header names to values"`
	Filters     Filters           `yaml:"filters"`
	Retention   Retention         `yaml:"retention"`

	// AllowPrivateNetworks lets the source's fetches, redirects included,
	// reach non-public addresses; otherwise only the address its url
	// names literally (or localhost) is allowed besides public ones.
	// Unset: the global allow_private_networks.
	AllowPrivateNetworks bool `yaml:"allow_private_networks"`

	// Kind is what url answers (issue 13): feed (the default: RSS, Atom,
	// JSON Feed), html (a list page read with CSS selectors) or json (an
	// API answer read with gjson paths).
	Kind string `yaml:"kind"`
	// Items selects the items of an html or json page: a CSS selector
	// matching one element per item, or the path of the array.
	Items string `yaml:"items"`
	// Fields map item fields (scrape.Fields: title, link, guid, …) to a
	// CSS selector ("SEL" for the text, "SEL @attr" for an attribute) or
	// a path ("{path}" in a value makes it a template).
	Fields map[string]string `yaml:"fields" expect:"a mapping of item fields (title, link, …) to selectors or paths"`
	// TimeFormat reads published and updated: a Go layout, unix or
	// unix_ms; unset, dates are read as feed dates are.
	TimeFormat string `yaml:"time_format"`
	// FullText, when set, fetches each new item's page once and keeps its
	// article (any kind).
	FullText *FullText `yaml:"full_text"`

	// Location is Timezone loaded, else the global one.
	Location *time.Location `yaml:"-"`
	// Scraper is Kind, Items, Fields, TimeFormat and FullText.URL
	// compiled; nil for kind: feed.
	Scraper *scrape.Scraper `yaml:"-"`
	// Extractor is FullText compiled; nil without full_text.
	Extractor *article.Extractor `yaml:"-"`
}

// Source kinds.
const (
	KindFeed = "feed"
	KindHTML = "html"
	KindJSON = "json"
)

// FullText says how to take the article out of an item's page. Empty
// ({}), readability finds it.
type FullText struct {
	// Selector picks the article on the item's page; empty: readability.
	Selector string `yaml:"selector"`
	// Remove are removed from the whole page first (share bars, scripts, an
	// editor's line), elements Selector matches included.
	Remove []string `yaml:"remove" expect:"a list of CSS selectors"`
	// URL (kind: json) is a template of the article's URL, when it is not
	// the item's link: "http://…/GetNewsText.do?id={infocode}".
	URL string `yaml:"url"`
	// Path reads the answer of URL as JSON: the path of the article's HTML.
	Path string `yaml:"path"`
}

// ByteSize is a size in bytes, written in YAML as a number or with a unit
// (16MiB, 512KB, 1GB).
type ByteSize int64

var sizePattern = regexp.MustCompile(`^(\d+)\s*([KMG]i?B?|B)?$`)

// parseByteSize reads a size; its errors are worded for the config's editor.
func parseByteSize(s string) (ByteSize, error) {
	m := sizePattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a size; write e.g. 16MiB, 512KB, 1GB", s)
	}
	v, err := strconv.ParseInt(m[1], 10, 64)
	unit := strings.TrimSuffix(strings.ToUpper(m[2]), "B")
	mult := map[string]int64{"": 1, "K": 1000, "M": 1000 * 1000, "G": 1000 * 1000 * 1000,
		"KI": 1 << 10, "MI": 1 << 20, "GI": 1 << 30}[unit]
	if err != nil || v > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is too large a size", s)
	}
	return ByteSize(v * mult), nil
}

func (b *ByteSize) setScalar(n *yaml.Node) error {
	v, err := parseByteSize(n.Value)
	if err != nil {
		return err
	}
	*b = v
	return nil
}

func (*ByteSize) expected() string { return "a size such as 16MiB" }

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
// to resolve relative paths. The error is Errors, every problem found.
func Parse(name string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Errors{syntaxError(name, data, err)}
	}
	if len(root.Content) == 0 {
		return nil, Errors{{File: name, Line: 1, Msg: "the file is empty"}}
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode && !isNull(doc) {
		return nil, Errors{{File: name, Line: doc.Line,
			Msg: fmt.Sprintf("expected %s, got %s", describe(reflect.TypeFor[Config]()), shown(doc))}}
	}

	var c Config
	w := newWritten()
	d := decoder{file: name, w: w}
	d.value("", doc.Line, doc, reflect.ValueOf(&c).Elem(), "")
	c.Path = name
	// The checks run on what could be read, so that one run reports
	// every problem; those on values that could not be read are skipped.
	v := validator{file: name, w: w}
	v.validate(&c)
	errs := append(d.errs, v.errs...)
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	return &c, nil
}

// FindSource is the source whose slug, or else whose name, is s (as the
// commands' -source takes it); the error names the config and the slug s
// is likely a typo of.
func (c *Config) FindSource(s string) (*Source, error) {
	for i := range c.Sources {
		if c.Sources[i].Slug == s {
			return &c.Sources[i], nil
		}
	}
	for i := range c.Sources {
		if c.Sources[i].Name == s {
			return &c.Sources[i], nil
		}
	}
	slugs := make([]string, len(c.Sources))
	for i, src := range c.Sources {
		slugs[i] = src.Slug
	}
	if near := didYouMean(s, slugs); near != "" {
		return nil, fmt.Errorf("%s has no source %q; did you mean %q?", c.Path, s, near)
	}
	return nil, fmt.Errorf("%s has no source %q (-source takes a source's slug or name)", c.Path, s)
}
