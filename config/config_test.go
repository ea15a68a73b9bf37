package config

import (
	"errors"
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
		Interval:   5 * time.Minute, MaxInterval: 6 * time.Hour, Timeout: 30 * time.Second, IdleTimeout: 15 * time.Second, MaxBodySize: 16 << 20, Retention: Retention{Days: 0, MinItems: 50},
		UserAgent: "feedrelay-test/1.0",
	}, {
		Name: "中国新闻网财经", Slug: "zhongguoxinwenwangcaijing",
		URL:        "https://www.chinanews.com.cn/rss/finance.xml",
		Categories: []string{"caijing"}, Charset: "gb18030",
		Interval: 15 * time.Minute, MaxInterval: 6 * time.Hour, Timeout: 30 * time.Second, IdleTimeout: 15 * time.Second, MaxBodySize: 512 << 10, Retention: Retention{Days: 0, MinItems: 50},
		UserAgent: "feedrelay-test/1.0",
	}, {
		Name: "FT中文网", Slug: "ftzhongwenwang",
		URL:        "https://www.ftchinese.com/rss/news",
		Categories: []string{"caijing", "hongguan"},
		Interval:   30 * time.Minute, MaxInterval: 6 * time.Hour, Timeout: 10 * time.Second, IdleTimeout: 15 * time.Second, MaxBodySize: 16 << 20, Retention: Retention{Days: 0, MinItems: 50},
		UserAgent: "Mozilla/5.0",
	}, {
		Name: "华尔街见闻", Slug: "wallstreetcn",
		URL:        "https://rsshub.app/wallstreetcn/news/global",
		Categories: []string{"caijing"}, Timezone: "America/New_York",
		Interval: 15 * time.Minute, MaxInterval: 6 * time.Hour, Timeout: 30 * time.Second, IdleTimeout: 15 * time.Second, MaxBodySize: 16 << 20, Retention: Retention{Days: 0, MinItems: 50},
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
	{"invalid-unknown-key.yaml", []string{
		`:8: sources[0].categroy: unknown key "categroy"`,
	}},
	{"invalid-unknown-key-top.yaml", []string{
		`:2: databse: unknown key "databse"`,
		`:4: defaults.intervall: unknown key "intervall"`,
	}},
	{"invalid-interval-int.yaml", []string{
		":6: sources[1].interval: cannot unmarshal !!int `300` into time.Duration",
	}},
	{"invalid-interval-words.yaml", []string{
		":2: defaults.interval: cannot unmarshal !!str `5 min` into time.Duration",
	}},
	{"invalid-page-size.yaml", []string{
		":2: page_size: cannot unmarshal !!str `abc` into int",
	}},
	{"invalid-page-size-range.yaml", []string{
		`:1: page_size: must be between 1 and 1000, not 0`,
		`:2: concurrency: must be at least 1, not 0`,
		`:3: per_host_concurrency: must be at least 1, not -1`,
	}},
	{"invalid-types.yaml", []string{
		":2: page_size: cannot unmarshal !!str `abc` into int",
		":4: defaults.interval: cannot unmarshal !!int `300` into time.Duration",
		":5: defaults.timeout: cannot unmarshal !!str `five mi...` into time.Duration",
		`:6: defaults.max_body_size: cannot read "" as a size (e.g. 16MiB)`,
		":7: categories: cannot unmarshal !!str `caijing` into []config.Category",
		":11: sources[0].headers: cannot unmarshal !!seq into map[string]string",
		":12: sources[0].categories: cannot unmarshal !!map into []string",
	}},
	{"invalid-flow-style.yaml", []string{
		`:1: log.levle: unknown key "levle"`,
		":2: defaults.interval: cannot unmarshal !!int `300` into time.Duration",
		`:2: defaults.max_body_size: cannot read "lots" as a size (e.g. 16MiB)`,
		`:4: categories[0].slgu: unknown key "slgu"`,
	}},
	{"invalid-unknown-category.yaml", []string{
		`:7: sources[0].categories[1]: unknown category "zhengquanshibaowang" (declare it under categories:)`,
		`:11: sources[1].categories[0]: unknown category "caijng" (declare it under categories:)`,
	}},
	{"invalid-duplicate-source.yaml", []string{
		`:4: sources[1].slug: duplicate source slug "zhengquanshibaowang" (also sources[0]); set slug: to tell them apart`,
		`:10: sources[3].slug: duplicate source slug "stcn" (also sources[2]); set slug: to tell them apart`,
	}},
	{"invalid-duplicate-category.yaml", []string{
		`:3: categories[1].slug: duplicate category slug "zhengquanshibaowang" (also categories[0])`,
		`:6: categories[3].slug: duplicate category slug "caijing" (also categories[2])`,
	}},
	{"invalid-duplicate-url.yaml", []string{
		`:5: sources[1].url: the same URL is already polled by sources[0]`,
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
		`:2: defaults.max_body_size: cannot read "16 megabytes" as a size (e.g. 16MiB)`,
		`:6: sources[0].max_body_size: cannot read "16mib" as a size (e.g. 16MiB)`,
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
	{"invalid-base-url.yaml", []string{
		`:2: base_url: "/feeds/" is not an absolute http(s) URL`,
	}},
	{"invalid-log.yaml", []string{
		`:2: log.format: must be text or json, not "xml"`,
		`:3: log.level: must be debug, info, warn or error, not "verbose"`,
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
		`:17: sources[1].slug: duplicate source slug "zhengquanshibaowang" (also sources[0]); set slug: to tell them apart`,
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
		`:3: listen: mapping key "listen" already defined at line 1`,
	}},
	// Syntax errors: the file cannot be read as YAML, so there is no key.
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
		`:1: cannot unmarshal !!seq into config.Config`,
	}},
}

// keyless lists the fixtures whose errors cannot name a key.
var keyless = map[string]bool{
	"invalid-syntax.yaml":         true,
	"invalid-syntax-indent.yaml":  true,
	"invalid-syntax-mapping.yaml": true,
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

// TestTypeErrorsFirst pins down that a file which cannot be decoded reports
// only its decoding errors; the checks on values come once those are fixed.
func TestTypeErrorsFirst(t *testing.T) {
	_, err := Parse("f.yaml", []byte("page_size: abc\ntimezone: Nowhere/Else\n"))
	want := "f.yaml:1: page_size: cannot unmarshal !!str `abc` into int"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
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

// TestShippedConfigs loads the commented config.yaml at the top of the
// repository and the offline demo: what users copy must stay valid.
func TestShippedConfigs(t *testing.T) {
	t.Run("config.yaml", func(t *testing.T) {
		c := mustLoad(t, filepath.Join("..", "config.yaml"))
		if got := len(c.Sources); got != 4 {
			t.Errorf("got %d sources, want 4", got)
		}
		if c.Category("zhengquanshibaowang") == nil {
			t.Error("category zhengquanshibaowang (slug from the title 证券时报网) is missing")
		}
		if s := c.Source("wallstreetcn"); s == nil || locName(s.Location) != "Asia/Shanghai" {
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
		s := c.Source("zhengquanshibaowang")
		if s == nil {
			t.Fatal("source zhengquanshibaowang (slug from the name 证券时报网) is missing")
		}
		if want := "file://" + filepath.ToSlash(filepath.Join(feeds, "stcn.xml")); s.URL != want {
			t.Errorf("URL = %q, want %q", s.URL, want)
		}
		if want := filepath.Join("..", "examples", "demo.db"); c.Database != want {
			t.Errorf("Database = %q, want %q", c.Database, want)
		}
	})
}

func TestLookup(t *testing.T) {
	c := mustLoad(t, filepath.Join("testdata", "valid.yaml"))
	for _, tc := range []struct {
		slug      string
		wantTitle string // "" for no such category
	}{
		{"zhengquanshibaowang", "证券时报网"},
		{"caijing", "财经要闻"},
		{"all", ""},
		{"", ""},
		{"CAIJING", ""},
	} {
		got := c.Category(tc.slug)
		switch {
		case tc.wantTitle == "" && got != nil:
			t.Errorf("Category(%q) = %+v, want nil", tc.slug, got)
		case tc.wantTitle != "" && (got == nil || got.Title != tc.wantTitle):
			t.Errorf("Category(%q) = %+v, want title %q", tc.slug, got, tc.wantTitle)
		}
	}
	for _, tc := range []struct {
		slug     string
		wantName string // "" for no such source
	}{
		{"stcn", "证券时报网"},
		{"ftzhongwenwang", "FT中文网"},
		{"zhengquanshibaowang", ""}, // the explicit slug replaces the pinyin
		{"", ""},
	} {
		got := c.Source(tc.slug)
		switch {
		case tc.wantName == "" && got != nil:
			t.Errorf("Source(%q) = %+v, want nil", tc.slug, got)
		case tc.wantName != "" && (got == nil || got.Name != tc.wantName):
			t.Errorf("Source(%q) = %+v, want name %q", tc.slug, got, tc.wantName)
		}
	}
	// The lookups return the config's own values, not copies.
	if c.Source("stcn") != &c.Sources[0] || c.Category("caijing") != &c.Categories[1] {
		t.Error("lookups return copies")
	}
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
		{in: "8589934592GiB", wantErr: `line 1: "8589934592GiB" is too large a size`},
		{in: "16mib", wantErr: `line 1: cannot read "16mib" as a size (e.g. 16MiB)`},
		{in: "1.5MiB", wantErr: `line 1: cannot read "1.5MiB" as a size (e.g. 16MiB)`},
		{in: "-1", wantErr: `line 1: cannot read "-1" as a size (e.g. 16MiB)`},
		{in: "1TB", wantErr: `line 1: cannot read "1TB" as a size (e.g. 16MiB)`},
		{in: "abc", wantErr: `line 1: cannot read "abc" as a size (e.g. 16MiB)`},
		{in: "[1]", wantErr: `line 1: cannot read "" as a size (e.g. 16MiB)`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var v struct {
				Size ByteSize `yaml:"size"`
			}
			err := yaml.Unmarshal([]byte("size: "+tc.in), &v)
			if tc.wantErr != "" {
				var te *yaml.TypeError
				if !errors.As(err, &te) || len(te.Errors) != 1 || te.Errors[0] != tc.wantErr {
					t.Errorf("got error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if v.Size != tc.want {
				t.Errorf("got %d, want %d", v.Size, tc.want)
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
