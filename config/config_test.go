package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// locName names a location, nil included, for comparisons.
func locName(l *time.Location) string {
	if l == nil {
		return "<nil>"
	}
	return l.String()
}

func mustLoad(t *testing.T, path string) *Config {
	t.Helper()
	c, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s): unexpected error:\n%v", path, err)
	}
	return c
}

func TestLoadValid(t *testing.T) {
	path := filepath.Join("testdata", "valid.yaml")
	c := mustLoad(t, path)

	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"Path", c.Path, path},
		{"Listen", c.Listen, "127.0.0.1:9090"},
		{"BaseURL (trailing slash added)", c.BaseURL, "https://relay.example.org/news/"},
		{"Database (beside the file)", c.Database, filepath.Join("testdata", "data", "relay.db")},
		{"Timezone", c.Timezone, "Asia/Shanghai"},
		{"Location", locName(c.Location), "Asia/Shanghai"},
		{"Language", c.Language, "zh-CN"},
		{"PageSize", c.PageSize, 20},
		{"Concurrency", c.Concurrency, 4},
		{"UserAgent", c.UserAgent, "feedrelay-test/1.0"},
		{"Attribution (default)", c.Attribution, DefaultAttribution},
		{"Log (flow mapping)", c.Log, Log{Format: "json", Level: "debug"}},
		{"Defaults", c.Defaults, Defaults{Interval: 15 * time.Minute, MaxInterval: 6 * time.Hour, Timeout: 30 * time.Second, IdleTimeout: 15 * time.Second, MaxBodySize: 16 << 20, Retention: Retention{Days: 0, MinItems: 50}}},
		{"Categories", c.Categories, []Category{
			{Slug: "zhengquanshibaowang", Title: "证券时报网", DedupTitles: true}, // slug is the title in pinyin
			{Slug: "caijing", Title: "财经要闻", DedupTitles: true},
			{Slug: "hongguan", Title: "宏观与政策", DedupTitles: true},
		}},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}

	// Sources are compared without Location (a pointer), checked by name below.
	want := []Source{{
		Name: "证券时报网", Slug: "stcn",
		URL: "https://rsshub.app/stcn/yw", SiteURL: "https://www.stcn.com/",
		Categories: []string{"zhengquanshibaowang", "caijing"},
		Interval:   5 * time.Minute, MaxInterval: 6 * time.Hour, Timeout: 30 * time.Second, IdleTimeout: 15 * time.Second, MaxBodySize: 16 << 20, Retention: Retention{Days: 0, MinItems: 50}, Kind: KindFeed,
		UserAgent: "feedrelay-test/1.0",
	}, {
		Name: "中国新闻网财经", Slug: "zhongguoxinwenwangcaijing",
		URL:        "https://www.chinanews.com.cn/rss/finance.xml",
		Categories: []string{"caijing"}, Charset: "gb18030",
		Interval: 15 * time.Minute, MaxInterval: 6 * time.Hour, Timeout: 30 * time.Second, IdleTimeout: 15 * time.Second, MaxBodySize: 512 << 10, Retention: Retention{Days: 0, MinItems: 50}, Kind: KindFeed,
		UserAgent: "feedrelay-test/1.0",
	}, {
		Name: "FT中文网", Slug: "ftzhongwenwang",
		URL:        "https://www.ftchinese.com/rss/news",
		Categories: []string{"caijing", "hongguan"},
		Interval:   30 * time.Minute, MaxInterval: 6 * time.Hour, Timeout: 10 * time.Second, IdleTimeout: 15 * time.Second, MaxBodySize: 16 << 20, Retention: Retention{Days: 0, MinItems: 50}, Kind: KindFeed,
		UserAgent: "Mozilla/5.0",
	}, {
		Name: "华尔街见闻", Slug: "wallstreetcn",
		URL:        "https://rsshub.app/wallstreetcn/news/global",
		Categories: []string{"caijing"}, Timezone: "America/New_York",
		Interval: 15 * time.Minute, MaxInterval: 6 * time.Hour, Timeout: 30 * time.Second, IdleTimeout: 15 * time.Second, MaxBodySize: 16 << 20, Retention: Retention{Days: 0, MinItems: 50}, Kind: KindFeed,
		UserAgent: "feedrelay-test/1.0",
		Headers:   map[string]string{"Referer": "https://wallstreetcn.com/"},
	}}
	wantLoc := []string{"Asia/Shanghai", "Asia/Shanghai", "Asia/Shanghai", "America/New_York"}
	if len(c.Sources) != len(want) {
		t.Fatalf("got %d sources, want %d", len(c.Sources), len(want))
	}
	for i := range want {
		got := c.Sources[i]
		if l := locName(got.Location); l != wantLoc[i] {
			t.Errorf("sources[%d].Location = %s, want %s", i, l, wantLoc[i])
		}
		got.Location = nil
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("sources[%d] =\n  %+v\nwant\n  %+v", i, got, want[i])
		}
	}
}

func TestLoadDefaults(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "minimal.yaml"))
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"Listen", c.Listen, "127.0.0.1:8080"},
		{"BaseURL (from listen)", c.BaseURL, "http://127.0.0.1:8080/"},
		{"Database", c.Database, filepath.Join("testdata", "feedrelay.db")},
		{"Timezone", c.Timezone, "UTC"},
		{"Location", locName(c.Location), "UTC"},
		{"PageSize", c.PageSize, 50},
		{"Concurrency", c.Concurrency, 8},
		{"Language", c.Language, "zh-CN"},
		{"Attribution", c.Attribution, DefaultAttribution},
		{"Log", c.Log, Log{Format: "text", Level: "info"}},
		{"UserAgent", c.UserAgent, ""},
		{"Defaults.Interval", c.Defaults.Interval, 15 * time.Minute},
		{"Defaults.Timeout", c.Defaults.Timeout, 30 * time.Second},
		{"Defaults.MaxBodySize", c.Defaults.MaxBodySize, ByteSize(16 * 1024 * 1024)},
		{"Categories", c.Categories, []Category{{Slug: "zhengquanshibaowang", Title: "证券时报网", DedupTitles: true}}},
		{"Source.Slug", c.Sources[0].Slug, "zhengquanshibaowang"},
		{"Source.Interval", c.Sources[0].Interval, 15 * time.Minute},
		{"Source.Timeout", c.Sources[0].Timeout, 30 * time.Second},
		{"Source.MaxBodySize", c.Sources[0].MaxBodySize, ByteSize(16 << 20)},
		{"Source.Location", locName(c.Sources[0].Location), "UTC"},
		{"Source.Timezone (left unset)", c.Sources[0].Timezone, ""},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.name, tc.got, tc.want)
		}
	}
}

// TestParseDefaults covers defaults that depend on other keys: base_url from
// listen, database and source values from the file's directory and defaults.
func TestParseDefaults(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "feedrelay.yaml")
	abs := filepath.Join(dir, "elsewhere", "x.db")
	for _, tc := range []struct {
		name, yaml string
		check      func(*Config) (got, want any)
	}{
		{"base_url from default listen", "language: en\n",
			func(c *Config) (any, any) { return c.BaseURL, "http://127.0.0.1:8080/" }},
		{"base_url from listen", "listen: 10.0.0.1:9000\n",
			func(c *Config) (any, any) { return c.BaseURL, "http://10.0.0.1:9000/" }},
		{"base_url from listen without host", "listen: :8080\n",
			func(c *Config) (any, any) { return c.BaseURL, "http://localhost:8080/" }},
		{"base_url from listen on 0.0.0.0", "listen: 0.0.0.0:8080\n",
			func(c *Config) (any, any) { return c.BaseURL, "http://localhost:8080/" }},
		{"base_url from listen on [::]", "listen: '[::]:8080'\n",
			func(c *Config) (any, any) { return c.BaseURL, "http://localhost:8080/" }},
		{"base_url from IPv6 listen", "listen: '[::1]:8080'\n",
			func(c *Config) (any, any) { return c.BaseURL, "http://[::1]:8080/" }},
		{"base_url gets a trailing slash", "base_url: https://example.org/relay\n",
			func(c *Config) (any, any) { return c.BaseURL, "https://example.org/relay/" }},
		{"base_url kept", "base_url: https://example.org/\n",
			func(c *Config) (any, any) { return c.BaseURL, "https://example.org/" }},
		{"listen kept when base_url set", "listen: :8080\nbase_url: https://example.org/\n",
			func(c *Config) (any, any) { return c.Listen, ":8080" }},
		{"database beside the file", "language: en\n",
			func(c *Config) (any, any) { return c.Database, filepath.Join(dir, "feedrelay.db") }},
		{"relative database beside the file", "database: data/x.db\n",
			func(c *Config) (any, any) { return c.Database, filepath.Join(dir, "data", "x.db") }},
		{"absolute database kept", "database: " + abs + "\n",
			func(c *Config) (any, any) { return c.Database, abs }},
		{"postgres URL kept as written", "database: postgres://relay:pw@db:5432/feedrelay?sslmode=disable\n",
			func(c *Config) (any, any) {
				return c.Database, "postgres://relay:pw@db:5432/feedrelay?sslmode=disable"
			}},
		{"postgresql URL from PG* variables kept", "database: postgresql://\n",
			func(c *Config) (any, any) { return c.Database, "postgresql://" }},
		{"global timezone", "timezone: Asia/Shanghai\n",
			func(c *Config) (any, any) { return locName(c.Location), "Asia/Shanghai" }},
		{"source inherits the global timezone",
			"timezone: Asia/Shanghai\nsources:\n  - {name: a, url: 'https://a.example/'}\n",
			func(c *Config) (any, any) { return locName(c.Sources[0].Location), "Asia/Shanghai" }},
		{"source timezone overrides the global one",
			"timezone: Asia/Shanghai\nsources:\n  - {name: a, url: 'https://a.example/', timezone: Europe/London}\n",
			func(c *Config) (any, any) { return locName(c.Sources[0].Location), "Europe/London" }},
		{"source inherits defaults",
			"defaults: {interval: 2m, timeout: 5s, idle_timeout: 2s, max_body_size: 1MB}\nsources:\n  - {name: a, url: 'https://a.example/'}\n",
			func(c *Config) (any, any) {
				s := c.Sources[0]
				return []any{s.Interval, s.Timeout, s.IdleTimeout, s.MaxBodySize}, []any{2 * time.Minute, 5 * time.Second, 2 * time.Second, ByteSize(1000000)}
			}},
		{"source retention overrides the default, field by field",
			"defaults: {retention: {days: 30, min_items: 10}}\nsources:\n  - {name: a, url: 'https://a.example/', retention: {days: 7}}\n  - {name: b, url: 'https://b.example/'}\n",
			func(c *Config) (any, any) {
				return []Retention{c.Sources[0].Retention, c.Sources[1].Retention}, []Retention{{7, 10}, {30, 10}}
			}},
		{"title matching off", "dedup: {title_window: 0s}\ncategories:\n  - {slug: a, dedup_titles: false}\n",
			func(c *Config) (any, any) {
				return []any{c.Dedup.TitleWindow, c.Categories[0].DedupTitles}, []any{time.Duration(0), false}
			}},
		{"interval at the minimum", "defaults: {interval: 1s}\n",
			func(c *Config) (any, any) { return c.Defaults.Interval, time.Second }},
		{"source user_agent from the global one",
			"user_agent: ua/1\nsources:\n  - {name: a, url: 'https://a.example/'}\n",
			func(c *Config) (any, any) { return c.Sources[0].UserAgent, "ua/1" }},
		{"category title defaults to its slug", "categories:\n  - slug: caijing\n",
			func(c *Config) (any, any) {
				return c.Categories[0], Category{Slug: "caijing", Title: "caijing", DedupTitles: true}
			}},
		{"anchors and merge keys",
			"sources:\n  - &a {name: a, url: 'https://a.example/', interval: 2m, categories: &cats [x]}\n  - <<: *a\n    name: b\n    url: 'https://b.example/'\n    categories: *cats\ncategories: [{slug: x}]\n",
			func(c *Config) (any, any) {
				b := c.Sources[1]
				return []any{b.Name, b.URL, b.Interval, b.Categories}, []any{"b", "https://b.example/", 2 * time.Minute, []string{"x"}}
			}},
		{"empty values leave the defaults", "listen:\ndefaults:\n  interval: ~\nsources:\n",
			func(c *Config) (any, any) {
				return []any{c.Listen, c.Defaults.Interval}, []any{"127.0.0.1:8080", DefaultInterval}
			}},
		{"document marker only", "---\n",
			func(c *Config) (any, any) { return c.PageSize, 50 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(name, []byte(tc.yaml))
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got, want := tc.check(c); !reflect.DeepEqual(got, want) {
				t.Errorf("got %#v, want %#v", got, want)
			}
		})
	}
}

// invalidTests pairs each testdata/invalid-*.yaml with the exact error
// report, one line per problem.
var invalidTests = []struct {
	file string
	want []string
}{
	{"invalid-filters.yaml", []string{
		":4: categories[0].filters.include[1]: bad regular expression: error parsing regexp: missing closing ): `(港股`",
		":9: sources[0].filters.exclude[0]: bad regular expression: error parsing regexp: missing closing ]: `[`",
		":10: sources[0].retention.days: must not be negative (0 keeps everything)",
	}},
	{"invalid-scrape.yaml", []string{
		`:5: sources[0].items: "ul.list > li[": CSS selector does not compile: expected identifier, found EOF instead`,
		`:8: sources[0].fields.link: ".tt a @": attribute name "" is not valid: write "SELECTOR @attr", e.g. ".tt a @href"`,
		`:9: sources[0].fields.pubdate: ".time": unknown field (known: title, link, guid, published, updated, author, origin, summary, content, categories)`,
		`:10: sources[0].time_format: "nonsense": not a Go layout: write the reference time Mon Jan 2 15:04:05 MST 2006 as the site writes dates (e.g. "2006-01-02 15:04", "01月02日 15:04"), or use unix / unix_ms`,
		`:13: sources[0].full_text.remove[1]: "div[[": CSS selector does not compile: expected identifier, found [ instead`,
		`:20: sources[1].fields.guid: "info(code": unclosed '('`,
		`:22: sources[1].full_text.path: needs full_text.url: path reads the JSON answer of that URL`,
		`:25: sources[2].items: only for kind: html or json (this source is kind: feed, its items are the feed's)`,
		`:26: sources[2].full_text.url: only for kind: json (a feed item's article is at its link)`,
		`:29: sources[3].kind: must be feed, html or json, not "xml"`,
	}},
	{"invalid-unknown-key.yaml", []string{
		`:8: sources[0].categroy: unknown key "categroy"; did you mean "categories"?`,
	}},
	{"invalid-unknown-key-top.yaml", []string{
		`:2: databse: unknown key "databse"; did you mean "database"?`,
		`:4: defaults.intervall: unknown key "intervall"; did you mean "interval"?`,
	}},
	{"invalid-interval-int.yaml", []string{
		":6: sources[1].interval: 300 needs a unit, e.g. 5m, 90s, 1h",
	}},
	{"invalid-interval-words.yaml", []string{
		`:2: defaults.interval: "5 min" is not a duration; write e.g. 5m, 90s, 1h30m`,
	}},
	{"invalid-page-size.yaml", []string{
		`:2: page_size: expected a whole number, got "abc"`,
	}},
	{"invalid-page-size-range.yaml", []string{
		`:1: page_size: must be between 1 and 1000, not 0`,
		`:2: concurrency: must be at least 1, not 0`,
		`:3: per_host_concurrency: must be at least 1, not -1`,
	}},
	{"invalid-types.yaml", []string{
		`:2: page_size: expected a whole number, got "abc"`,
		`:4: defaults.interval: 300 needs a unit, e.g. 5m, 90s, 1h`,
		`:5: defaults.timeout: "five minutes or so" is not a duration; write e.g. 5m, 90s, 1h30m`,
		`:6: defaults.max_body_size: expected a size such as 16MiB, got a list`,
		`:7: categories: expected a list of categories, got "caijing"`,
		`:11: sources[0].headers: expected a mapping of header names to values, got a list`,
		`:12: sources[0].categories: expected a list of category slugs, got a mapping`,
	}},
	{"invalid-flow-style.yaml", []string{
		`:1: log.levle: unknown key "levle"; did you mean "level"?`,
		`:2: defaults.interval: 300 needs a unit, e.g. 5m, 90s, 1h`,
		`:2: defaults.max_body_size: "lots" is not a size; write e.g. 16MiB, 512KB, 1GB`,
		`:4: categories[0].slgu: unknown key "slgu"; did you mean "slug"?`,
	}},
	{"invalid-unknown-category.yaml", []string{
		`:7: sources[0].categories[1]: unknown category "zhengquanshibaowang" (declare it under categories:)`,
		`:11: sources[1].categories[0]: unknown category "caijng"; did you mean "caijing"?`,
	}},
	{"invalid-duplicate-source.yaml", []string{
		`:4: sources[1].name: duplicate source name "证券时报网" (also sources[0] on line 2); set slug: on one of them to tell them apart`,
		`:10: sources[3].slug: duplicate source slug "stcn" (also sources[2] on line 6)`,
	}},
	{"invalid-duplicate-category.yaml", []string{
		`:3: categories[1].slug: duplicate category slug "zhengquanshibaowang" (also categories[0] on line 2)`,
		`:6: categories[3].slug: duplicate category slug "caijing" (also categories[2] on line 5)`,
	}},
	{"invalid-duplicate-url.yaml", []string{
		`:5: sources[1].url: the same URL is already polled by sources[0] on line 3`,
	}},
	{"invalid-url-scheme.yaml", []string{
		`:3: sources[0].url: "ftp://example.org/feed.xml": scheme must be http, https or file`,
	}},
	{"invalid-url-no-host.yaml", []string{
		`:3: sources[0].url: "http:///feed.xml" has no host`,
	}},
	{"invalid-url-missing.yaml", []string{
		`:2: sources[0].url: a source needs a url`,
		`:5: sources[1].url: "example.org/feed.xml": scheme must be http, https or file`,
	}},
	{"invalid-url-file-host.yaml", []string{
		`:3: sources[0].url: "file://feeds/x.xml" names the host "feeds": write file:path (relative to this file) or file:///absolute/path`,
	}},
	{"invalid-site-url.yaml", []string{
		`:4: sources[0].site_url: "www.example.org" is not an absolute URL`,
	}},
	{"invalid-interval-short.yaml", []string{
		`:2: defaults.interval: 500ms is below the minimum of 1s`,
		`:3: defaults.timeout: 0s is below the minimum of 1ms`,
		`:7: sources[0].interval: 999ms is below the minimum of 1s`,
	}},
	{"invalid-timezone.yaml", []string{
		`:1: timezone: unknown time zone "Asia/Beijing" (use an IANA name such as Asia/Shanghai)`,
		`:5: sources[0].timezone: unknown time zone "CST+8" (use an IANA name such as Asia/Shanghai)`,
	}},
	{"invalid-charset.yaml", []string{
		`:4: sources[0].charset: unknown charset "gb-2312-ish"`,
	}},
	{"invalid-max-body-size.yaml", []string{
		`:2: defaults.max_body_size: "16 megabytes" is not a size; write e.g. 16MiB, 512KB, 1GB`,
		`:6: sources[0].max_body_size: "16mib" is not a size; write e.g. 16MiB, 512KB, 1GB`,
	}},
	{"invalid-max-body-size-range.yaml", []string{
		`:2: defaults.max_body_size: 512 bytes is below the minimum of 1KiB`,
		`:6: sources[0].max_body_size: 0 bytes is below the minimum of 1KiB`,
	}},
	{"invalid-max-body-size-huge.yaml", []string{
		`:2: defaults.max_body_size: "99999999999GiB" is too large a size`,
	}},
	{"invalid-category-all.yaml", []string{
		`:2: categories[0].slug: "all" is reserved for the feed of every category`,
		`:4: categories[1].slug: "all" is reserved for the feed of every category`,
	}},
	{"invalid-category-slug.yaml", []string{
		`:2: categories[0].slug: "Caijing" is not a valid slug (use a-z, 0-9, - and _)`,
		`:3: categories[1].slug: cannot make a slug of "!!!"; set slug:`,
		`:4: categories[2]: a category needs a title or a slug`,
		`:6: sources[0]: a source needs a name`,
		`:7: sources[1].slug: cannot make a slug of "???"; set slug:`,
		`:10: sources[2].slug: "c/d" is not a valid slug (use a-z, 0-9, - and _)`,
	}},
	{"invalid-listen.yaml", []string{
		`:1: listen: "8080" is not host:port`,
	}},
	{"invalid-listen-port.yaml", []string{
		`:1: listen: "127.0.0.1:99999" is not host:port`,
	}},
	{"invalid-headers.yaml", []string{
		`:1: user_agent: "feedrelay\r\nX-Injected: 1" cannot be sent in an HTTP header (a line break or control character)`,
		`:5: sources[0].user_agent: "bad\nagent" cannot be sent in an HTTP header (a line break or control character)`,
		`:7: sources[0].headers.Bad Header: "Bad Header" is not an HTTP header name (letters, digits and !#$%&'*+-.^_` + "`" + `|~ only)`,
		`:9: sources[0].headers.X-Token: "line\nbreak" cannot be sent in an HTTP header (a line break or control character)`,
	}},
	{"invalid-export-websub.yaml", []string{
		`:2: export.prune: prunes nothing without export.jekyll`,
		`:4: websub.hubs[1]: "hub.example" is not an absolute http(s) URL`,
		`:4: websub.hubs[2]: "ftp://hub.example/" is not an absolute http(s) URL`,
	}},
	{"invalid-base-url.yaml", []string{
		`:2: base_url: "/feeds/" is not an absolute http(s) URL`,
	}},
	{"invalid-base-url-query.yaml", []string{
		`:2: base_url: "http://127.0.0.1:8080/?q=1" has a query or fragment: the published paths are appended to it; write the address of the folder, e.g. https://news.example.org/feeds/`,
	}},
	{"invalid-base-url-fragment.yaml", []string{
		`:2: base_url: "https://news.example.org/news#frag" has a query or fragment: the published paths are appended to it; write the address of the folder, e.g. https://news.example.org/feeds/`,
	}},
	{"invalid-base-url-userinfo.yaml", []string{
		`:2: base_url: "http://user:pw@news.example.org/" holds a user name or password: every published link would carry it`,
	}},
	{"invalid-log.yaml", []string{
		`:2: log.format: must be text or json, not "xml"`,
		`:3: log.level: must be debug, info, warn or error, not "verbose"`,
	}},
	{"invalid-attribution-field.yaml", []string{
		`:1: attribution: not a valid template: template: attribution:1:23: executing "attribution" at <.Sourc>: can't evaluate field Sourc in type attribution.Line (it sees .Source, .Origin, .Link and .Author)`,
	}},
	{"invalid-attribution-branch.yaml", []string{
		`:2: attribution: not a valid template: template: attribution:1:40: executing "attribution" at <.Origin.Name>: can't evaluate field Name in type string (it sees .Source, .Origin, .Link and .Author)`,
	}},
	{"invalid-attribution.yaml", []string{
		`:1: attribution: not a valid template: template: attribution:1: bad character U+007D '}'`,
	}},
	{"invalid-multiple.yaml", []string{
		`:3: timezone: unknown time zone "Mars/Olympus" (use an IANA name such as Asia/Shanghai)`,
		`:4: page_size: must be between 1 and 1000, not 5000`,
		`:5: log.format: must be text or json, not "yaml"`,
		`:8: defaults.timeout: 0s is below the minimum of 1ms`,
		`:10: categories[0].slug: "all" is reserved for the feed of every category`,
		`:14: sources[0].url: "ftp://example.org/stcn.xml": scheme must be http, https or file`,
		`:15: sources[0].categories[1]: unknown category "hongguan" (declare it under categories:)`,
		`:16: sources[0].interval: 10ms is below the minimum of 1s`,
		`:17: sources[1].name: duplicate source name "证券时报网" (also sources[0] on line 13); set slug: on one of them to tell them apart`,
		`:19: sources[1].charset: unknown charset "klingon"`,
	}},
	{"invalid-order.yaml", []string{
		`:2: log.level: must be debug, info, warn or error, not "loud"`,
		`:3: page_size: must be between 1 and 1000, not -1`,
		`:4: timezone: unknown time zone "Nowhere/Else" (use an IANA name such as Asia/Shanghai)`,
		`:6: sources[0].charset: unknown charset "klingon"`,
		`:7: sources[0].interval: 0s is below the minimum of 1s`,
		`:8: sources[0].url: "gopher://example.org/": scheme must be http, https or file`,
		`:10: listen: "nope" is not host:port`,
	}},
	{"invalid-duplicate-key.yaml", []string{
		`:3: listen: already set on line 1; keep one of them`,
	}},
	// A value that cannot be read does not stop the checks on the others.
	{"invalid-interval-duplicate-scheme.yaml", []string{
		`:7: sources[0].interval: 5 needs a unit, e.g. 5m, 90s, 1h`,
		`:8: sources[1].name: duplicate source name "证券时报网" (also sources[0] on line 5); set slug: on one of them to tell them apart`,
		`:11: sources[2].url: "ftp://example.org/cnstock.xml": scheme must be http, https or file`,
	}},
	{"invalid-ten.yaml", []string{
		`:2: page_size: expected a whole number, got "lots"`,
		`:3: timezone: unknown time zone "Asia/Beijing" (use an IANA name such as Asia/Shanghai)`,
		`:4: log.format: must be text or json, not "xml"`,
		`:6: defaults.interval: 15 needs a unit, e.g. 5m, 90s, 1h`,
		":11: categories[0].filters.include[0]: bad regular expression: error parsing regexp: missing closing ): `(港股`",
		`:15: sources[0].categories: expected a list of category slugs, got a mapping`,
		`:16: sources[0].intervall: unknown key "intervall"; did you mean "interval"?`,
		`:17: sources[1].name: duplicate source name "证券时报网" (also sources[0] on line 13); set slug: on one of them to tell them apart`,
		`:18: sources[1].url: "ftp://example.org/stcn.xml": scheme must be http, https or file`,
		`:19: sources[1].categories[0]: unknown category "caijng"; did you mean "caijing"?`,
	}},
	// Syntax errors: the file cannot be read as YAML, so there is no key.
	{"invalid-syntax-tab.yaml", []string{
		`:6: indented with a tab; YAML indents with spaces only`,
	}},
	{"invalid-syntax.yaml", []string{
		`:4: found unexpected end of stream`,
	}},
	{"invalid-syntax-indent.yaml", []string{
		`:4: did not find expected key`,
	}},
	{"invalid-syntax-mapping.yaml", []string{
		`:3: mapping values are not allowed in this context`,
	}},
	{"invalid-empty.yaml", []string{
		`:1: the file is empty`,
	}},
	{"invalid-not-mapping.yaml", []string{
		`:1: expected a mapping with keys such as listen:, base_url:, database:, …, got a list`,
	}},
}

// keyless lists the fixtures whose errors cannot name a key.
var keyless = map[string]bool{
	"invalid-syntax.yaml":         true,
	"invalid-syntax-indent.yaml":  true,
	"invalid-syntax-mapping.yaml": true,
	"invalid-syntax-tab.yaml":     true,
	"invalid-empty.yaml":          true,
	"invalid-not-mapping.yaml":    true,
}

func TestLoadInvalid(t *testing.T) {
	for _, tc := range invalidTests {
		t.Run(strings.TrimSuffix(tc.file, ".yaml"), func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			c, err := Load(path)
			if err == nil {
				t.Fatalf("Load(%s) succeeded, want errors", path)
			}
			if c != nil {
				t.Errorf("Load(%s) returned a config along with its errors", path)
			}
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = path + w
			}
			if got := err.Error(); got != strings.Join(want, "\n") {
				t.Errorf("Load(%s) errors:\n%s\nwant:\n%s", path, got, strings.Join(want, "\n"))
			}

			// Every problem is a separate *Error naming this file, a line
			// that exists in it, and (unless YAML itself failed) a key.
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want config.Errors", err)
			}
			if len(errs) != len(tc.want) {
				t.Errorf("got %d errors, want %d", len(errs), len(tc.want))
			}
			data, _ := os.ReadFile(path)
			lines := strings.Count(string(data), "\n")
			prev := 0
			for _, e := range errs {
				if e.File != path {
					t.Errorf("%v: File = %q, want %q", e, e.File, path)
				}
				if e.Line < 1 || e.Line > lines {
					t.Errorf("%v: line %d is not in the file (1..%d)", e, e.Line, lines)
				}
				if e.Line < prev {
					t.Errorf("%v: errors are not in line order", e)
				}
				prev = e.Line
				if (e.Key == "") != keyless[tc.file] {
					t.Errorf("%v: Key = %q; a key is expected: %v", e, e.Key, !keyless[tc.file])
				}
			}
		})
	}
}

// TestInvalidFixturesAreTested keeps testdata and the table in step.
func TestInvalidFixturesAreTested(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid-*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tested := map[string]bool{}
	for _, tc := range invalidTests {
		if tested[tc.file] {
			t.Errorf("%s is in the table twice", tc.file)
		}
		tested[tc.file] = true
	}
	for _, f := range files {
		if !tested[filepath.Base(f)] {
			t.Errorf("%s has no entry in invalidTests", f)
		}
		delete(tested, filepath.Base(f))
	}
	for f := range tested {
		t.Errorf("invalidTests names %s, which is not in testdata", f)
	}
}

// TestChecksDespiteTypeErrors: a value that cannot be read is reported,
// and so is every problem of the values that could.
func TestChecksDespiteTypeErrors(t *testing.T) {
	_, err := Parse("f.yaml", []byte("page_size: abc\ntimezone: Nowhere/Else\nsources:\n  - {name: a, url: 'https://a.example/', interval: 5}\n  - {name: b, url: 'https://a.example/'}\n"))
	want := `f.yaml:1: page_size: expected a whole number, got "abc"
f.yaml:2: timezone: unknown time zone "Nowhere/Else" (use an IANA name such as Asia/Shanghai)
f.yaml:4: sources[0].interval: 5 needs a unit, e.g. 5m, 90s, 1h
f.yaml:5: sources[1].url: the same URL is already polled by sources[0] on line 4`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

// TestNoErrorsFromUnreadValues: checks on a value that could not be read
// would only repeat its error (a source whose name is a list "needs a
// name"; a source's categories are unknown when the categories could not be
// read), so they are not made.
func TestNoErrorsFromUnreadValues(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"name not text", "sources:\n  - {name: [a], url: 'https://a.example/'}\n",
			"f.yaml:2: sources[0].name: expected text, got a list"},
		{"url not text", "sources:\n  - name: a\n    url: {href: x}\n",
			"f.yaml:3: sources[0].url: expected text, got a mapping"},
		{"source not a mapping", "sources:\n  - https://a.example/\n",
			`f.yaml:2: sources[0]: expected a mapping with keys such as name:, slug:, url:, …, got "https://a.example/"`},
		{"categories not a list", "categories: caijing\nsources:\n  - {name: a, url: 'https://a.example/', categories: [caijing]}\n",
			`f.yaml:1: categories: expected a list of categories, got "caijing"`},
		{"a category's slug not text", "categories:\n  - {slug: [caijing], filters: {include: ['(']}}\nsources:\n  - {name: a, url: 'https://a.example/', categories: [caijing]}\n",
			"f.yaml:2: categories[0].slug: expected text, got a list\nf.yaml:2: categories[0].filters.include[0]: bad regular expression: error parsing regexp: missing closing ): `(`"},
		{"interval not a duration", "defaults:\n  interval: 5\nsources:\n  - {name: a, url: 'https://a.example/'}\n",
			"f.yaml:2: defaults.interval: 5 needs a unit, e.g. 5m, 90s, 1h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.yaml))
			if err == nil || err.Error() != tc.want {
				t.Errorf("got\n%v\nwant\n%s", err, tc.want)
			}
		})
	}
}

// TestAliasLimit: aliases are followed (see TestParseDefaults), but not
// without end, as yaml.v3's own decoder does not either.
func TestAliasLimit(t *testing.T) {
	src := "sources:\n  - {name: &n a, url: 'https://a.example/', categories: [x]}\n" +
		"categories:\n  - {slug: x}\ndedup:\n  tracking_params: [" + strings.Repeat("*n, ", maxAliases) + "*n]\n"
	_, err := Parse("f.yaml", []byte(src))
	want := fmt.Sprintf("f.yaml:6: dedup.tracking_params[%d]: more than %d aliases (*name) in the file", maxAliases, maxAliases)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %.300v, want %s", err, want)
	}
}

// TestSyntaxErrorLine: a file yaml.v3 cannot read is reported at the line
// that breaks it, whatever line yaml.v3's own message names.
func TestSyntaxErrorLine(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		line       int
		msg        string // "" : yaml.v3's own words, not checked
	}{
		{"tab before a key of a list item", "listen: a\nsources:\n  - name: a\n    url: https://x/\n  - name: b\n\turl: https://y/\n", 6, "indented with a tab; YAML indents with spaces only"},
		{"tab before a top-level key", "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\n\tf: 6\n", 6, "indented with a tab; YAML indents with spaces only"},
		{"tab under a key", "a: 1\nb: 2\nc: 3\nd: 4\ne:\n\tf: 6\n", 6, "indented with a tab; YAML indents with spaces only"},
		{"tab before a list item", "a: 1\nb: 2\nc: 3\nd:\n  - 4\n\t- 5\n", 6, "indented with a tab; YAML indents with spaces only"},
		{"tab in a block scalar", "a: 1\nb: 2\nc: |\n  x\n\ty\n", 5, "indented with a tab; YAML indents with spaces only"},
		{"tab on line 1", "\ta: 1\n", 1, "indented with a tab; YAML indents with spaces only"},
		{"list item among keys", "a: 1\nb: 2\nc: 3\n- oops\n", 4, ""},
		{"key indented too little", "a: 1\nb:\n  - c\n d: 2\n", 4, ""},
		{"key indented too much", "a: 1\n  b: 2\n", 2, ""},
		{"nested key indented too much", "a:\n  b: 1\n   c: 2\n", 3, ""},
		{"two colons on line 1", "a: b: c\n", 1, ""},
		{"unclosed quote", "a: 1\nb: 'x\nc: 2\n", 2, ""},
		{"unclosed flow list", "a: [1, 2\nb: 3\n", 1, ""},
		{"unknown alias", "a: 1\nb: *x\n", 2, ""},
		{"no final newline", "a: 1\nb: 2\n\tc: 3", 3, "indented with a tab; YAML indents with spaces only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tc.yaml))
			var errs Errors
			if !errors.As(err, &errs) || len(errs) != 1 {
				t.Fatalf("got %v, want one syntax error", err)
			}
			e := errs[0]
			if e.Line != tc.line || e.Key != "" || (tc.msg != "" && e.Msg != tc.msg) {
				t.Errorf("got %v (line %d), want line %d %s", e, e.Line, tc.line, tc.msg)
			}
			if strings.HasPrefix(e.Msg, "yaml:") || strings.HasPrefix(e.Msg, "line ") {
				t.Errorf("message %q repeats yaml.v3's prefix", e.Msg)
			}
		})
	}
}

// TestYAMLProblemNewWording: yaml.v3's prefixes are cut from its message
// (TestSyntaxErrorLine checks that on real errors); a message of another
// shape is shown whole rather than cut wrongly.
func TestYAMLProblemNewWording(t *testing.T) {
	if got, want := yamlProblem("yaml: line five: new words"), "line five: new words"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestAnyStructDecodes: a key is a struct field with a yaml tag. The
// decoder reads field types the Config does not use yet (a pointer for a
// per-source override, numbers, nested lists and mappings, an embedded
// struct), and reports each bad value at its own key.
func TestAnyStructDecodes(t *testing.T) {
	type common struct {
		Kind string `yaml:"kind"`
	}
	type item struct {
		common `yaml:",inline"`
		Allow  *bool            `yaml:"allow_private_networks"`
		Ratio  float64          `yaml:"ratio"`
		Items  []int            `yaml:"items"`
		Fields map[string][]int `yaml:"fields"`
		Skip   string           `yaml:"-"`
		Plain  string
	}
	type doc struct {
		List []item `yaml:"list"`
	}
	decode := func(src string) (doc, Errors) {
		var root yaml.Node
		if err := yaml.Unmarshal([]byte(src), &root); err != nil {
			t.Fatal(err)
		}
		var out doc
		d := decoder{file: "f.yaml", w: newWritten()}
		d.value("", 1, root.Content[0], reflect.ValueOf(&out).Elem(), "")
		return out, d.errs
	}

	got, errs := decode("list:\n  - {kind: html, allow_private_networks: true, ratio: 0.5, items: [1, 2], fields: {a: [3]}, plain: x}\n  - {}\n")
	if len(errs) != 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}
	yes := true
	want := doc{List: []item{{common: common{Kind: "html"}, Allow: &yes, Ratio: 0.5, Items: []int{1, 2}, Fields: map[string][]int{"a": {3}}, Plain: "x"}, {}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}

	_, errs = decode("list:\n  - allow_private_networks: maybe\n    ratio: [1]\n    items: [1, x]\n    fields: {a: 3}\n    skip: y\n    kinds: z\n")
	wantErrs := `f.yaml:2: list[0].allow_private_networks: expected true or false, got "maybe"
f.yaml:3: list[0].ratio: expected a number, got a list
f.yaml:4: list[0].items[1]: expected a whole number, got "x"
f.yaml:5: list[0].fields.a: expected a list, got 3
f.yaml:6: list[0].skip: unknown key "skip"
f.yaml:7: list[0].kinds: unknown key "kinds"; did you mean "kind"?`
	if errs.Error() != wantErrs {
		t.Errorf("got\n%v\nwant\n%s", errs, wantErrs)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join("testdata", "no-such-file.yaml")
	_, err := Load(path)
	if err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v does not wrap os.ErrNotExist", err)
	}
	if want := "read config: open " + path + ": no such file or directory"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestFileURLs(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "file-urls.yaml"))
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	fileURL := func(p string) string { return "file://" + filepath.ToSlash(p) }
	want := map[string]string{
		"relative":     fileURL(filepath.Join(testdata, "feeds", "x.xml")),
		"dot-relative": fileURL(filepath.Join(testdata, "feeds", "y.xml")),
		"parent":       fileURL(filepath.Join(filepath.Dir(testdata), "shared", "z.xml")),
		"absolute":     "file:///var/lib/scraper/feed.xml",
		"localhost":    "file:///var/lib/scraper/other.xml",
	}
	if len(c.Sources) != len(want) {
		t.Fatalf("got %d sources, want %d", len(c.Sources), len(want))
	}
	for _, s := range c.Sources {
		if s.URL != want[s.Name] {
			t.Errorf("source %s: URL = %q, want %q", s.Name, s.URL, want[s.Name])
		}
	}
}

// bySlug finds the category or source with the given slug, or nil.
func bySlug[T any](items []T, slug func(*T) string, want string) *T {
	for i := range items {
		if slug(&items[i]) == want {
			return &items[i]
		}
	}
	return nil
}

func sourceSlug(s *Source) string { return s.Slug }

// TestShippedConfigs loads the commented config.yaml at the top of the
// repository and the offline demo: what users copy must stay valid.
func TestShippedConfigs(t *testing.T) {
	t.Run("config.yaml", func(t *testing.T) {
		c := mustLoad(t, filepath.Join("..", "config.yaml"))
		if got := len(c.Sources); got != 5 {
			t.Errorf("got %d sources, want 5", got)
		}
		// The three kinds of issue 13: 证券时报网 read directly, an
		// Eastmoney-shaped API, and a feed with full text.
		for slug, kind := range map[string]string{"stcn": KindHTML, "eastmoney": KindJSON, "chinanews-finance": KindFeed} {
			if s := bySlug(c.Sources, sourceSlug, slug); s == nil || s.Kind != kind || s.Extractor == nil {
				t.Errorf("source %s: want kind %s with full_text, got %+v", slug, kind, s)
			}
		}
		if bySlug(c.Categories, func(c *Category) string { return c.Slug }, "zhengquanshibaowang") == nil {
			t.Error("category zhengquanshibaowang (slug from the title 证券时报网) is missing")
		}
		if s := bySlug(c.Sources, sourceSlug, "wallstreetcn"); s == nil || locName(s.Location) != "Asia/Shanghai" {
			t.Errorf("source wallstreetcn: %+v", s)
		}
	})
	t.Run("examples/demo.yaml", func(t *testing.T) {
		path := filepath.Join("..", "examples", "demo.yaml")
		c := mustLoad(t, path)
		feeds, err := filepath.Abs(filepath.Join("..", "examples", "feeds"))
		if err != nil {
			t.Fatal(err)
		}
		s := bySlug(c.Sources, sourceSlug, "zhengquanshibaowang")
		if s == nil {
			t.Fatal("source zhengquanshibaowang (slug from the name 证券时报网) is missing")
		}
		if want := "file://" + filepath.ToSlash(filepath.Join(feeds, "stcn.xml")); s.URL != want {
			t.Errorf("URL = %q, want %q", s.URL, want)
		}
		for slug, kind := range map[string]string{"stcn-yw": KindHTML, "eastmoney-kuaixun": KindJSON} {
			if s := bySlug(c.Sources, sourceSlug, slug); s == nil || s.Kind != kind || s.Scraper == nil {
				t.Errorf("source %s: want kind %s, got %+v", slug, kind, s)
			}
		}
		if want := filepath.Join("..", "examples", "demo.db"); c.Database != want {
			t.Errorf("Database = %q, want %q", c.Database, want)
		}
	})
}

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    ByteSize
		wantErr string
	}{
		{in: "0", want: 0},
		{in: "2048", want: 2048},
		{in: "4B", want: 4},
		{in: "1K", want: 1000},
		{in: "1KB", want: 1000},
		{in: "1Ki", want: 1024},
		{in: "1KiB", want: 1024},
		{in: "512KB", want: 512000},
		{in: "16MiB", want: 16 << 20},
		{in: "16 MiB", want: 16 << 20},
		{in: "16MB", want: 16000000},
		{in: "1GB", want: 1000000000},
		{in: "2GiB", want: 2 << 30},
		{in: "8589934591GiB", want: 8589934591 << 30}, // the largest that fits
		{in: "8589934592GiB", wantErr: `"8589934592GiB" is too large a size`},
		{in: "99999999999999999999", wantErr: `"99999999999999999999" is too large a size`},
		{in: "16mib", wantErr: `"16mib" is not a size; write e.g. 16MiB, 512KB, 1GB`},
		{in: "1.5MiB", wantErr: `"1.5MiB" is not a size; write e.g. 16MiB, 512KB, 1GB`},
		{in: "-1", wantErr: `"-1" is not a size; write e.g. 16MiB, 512KB, 1GB`},
		{in: "1TB", wantErr: `"1TB" is not a size; write e.g. 16MiB, 512KB, 1GB`},
		{in: "abc", wantErr: `"abc" is not a size; write e.g. 16MiB, 512KB, 1GB`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseByteSize(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Errorf("got %d, error %v; want error %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("got %d, error %v; want %d", got, err, tc.want)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&Error{File: "c.yaml", Line: 3, Key: "sources[1].interval", Msg: "too short"}, "c.yaml:3: sources[1].interval: too short"},
		{&Error{File: "c.yaml", Line: 3, Msg: "bad YAML"}, "c.yaml:3: bad YAML"},
		{&Error{File: "c.yaml", Key: "base_url", Msg: "bad"}, "c.yaml: base_url: bad"},
		{&Error{File: "c.yaml", Msg: "bad"}, "c.yaml: bad"},
		{Errors{{File: "a", Line: 1, Msg: "x"}, {File: "a", Line: 2, Key: "k", Msg: "y"}}, "a:1: x\na:2: k: y"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// The keys of issue 13 compile into the source: a scraper for kind: html and
// json, an extractor for full_text of any kind (readability for {}).
func TestScrapeSources(t *testing.T) {
	c, err := Parse("scrape.yaml", []byte(`
sources:
  - name: 证券时报网
    url: https://www.stcn.com/article/list.html?type=yw
    kind: html
    items: "ul.list > li"
    fields: {title: ".tt a", link: ".tt a @href", published: ".time", summary: ".text"}
    full_text: {selector: ".detail-content", remove: [".share", "script"]}
  - name: 东方财富网
    url: http://api.example.cn/web/webapi?type=45
    kind: json
    items: nodeList
    fields: {title: title, guid: infocode, link: "http://finance.example.cn/a?c={infocode}", published: showtime, origin: from}
    full_text: {url: "http://finance.example.cn/GetNewsText.do?id={infocode}", path: text}
  - name: feed
    url: https://example.org/rss.xml
    full_text: {}
  - name: plain
    url: https://example.org/plain.xml
`))
	if err != nil {
		t.Fatal(err)
	}
	type compiled struct {
		kind               string
		scraper, extractor bool
	}
	var got []compiled
	for _, s := range c.Sources {
		got = append(got, compiled{s.Kind, s.Scraper != nil, s.Extractor != nil})
	}
	want := []compiled{{KindHTML, true, true}, {KindJSON, true, true}, {KindFeed, false, true}, {KindFeed, false, false}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
