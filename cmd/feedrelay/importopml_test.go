package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/config"
	"github.com/feedrelay/feedrelay/opml"
)

// importOPMLConfig runs import-opml on file and loads its output, pasted
// after the lines of an existing config, as `feedrelay check` would.
func importOPMLConfig(t *testing.T, file string) (*config.Config, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := runImportOPML([]string{file}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	data := "listen: 127.0.0.1:8080\nbase_url: https://feeds.example.org/\n\n" + stdout.String()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatalf("the config loader refuses the output: %v\n%s", err, data)
	}
	return cfg, stdout.String(), stderr.String()
}

func TestImportOPML(t *testing.T) {
	cfg, out, errOut := importOPMLConfig(t, "testdata/import.opml")

	if !strings.HasPrefix(out, "# Imported by feedrelay import-opml from \"testdata/import.opml\": 11 sources in 6 categories.\n") {
		t.Errorf("output does not start by saying where it came from:\n%s", out)
	}
	// The newsboat exec: feed cannot be polled: left out, and said so.
	if !strings.Contains(errOut, `skipped "Local script" (exec:~/bin/weather-feed): only http and https feeds can be polled`) {
		t.Errorf("stderr does not name the skipped feed:\n%s", errOut)
	}

	var cats []config.Category
	for _, c := range cfg.Categories {
		cats = append(cats, config.Category{Slug: c.Slug, Title: c.Title})
	}
	wantCats := []config.Category{
		{Slug: "caijing", Title: "财经"},
		{Slug: "hongguan", Title: "宏观"},
		{Slug: "tech-code", Title: "Tech & Code"},
		{Slug: "tech", Title: "tech"},
		{Slug: "all-2", Title: "All"}, // "all" is every category's feed
		{Slug: "imported", Title: "Imported"},
	}
	if !reflect.DeepEqual(cats, wantCats) {
		t.Errorf("categories\n got %v\nwant %v", cats, wantCats)
	}

	type src struct{ Name, Slug, URL, SiteURL, Cats string }
	var got []src
	for _, s := range cfg.Sources {
		got = append(got, src{s.Name, s.Slug, s.URL, s.SiteURL, strings.Join(s.Categories, ",")})
		if s.Interval != config.DefaultInterval {
			t.Errorf("%s: interval %v, want the default", s.Slug, s.Interval)
		}
	}
	want := []src{
		{"证券时报网", "zhengquanshibaowang", "https://rsshub.app/stcn/yw", "https://www.stcn.com/", "caijing"},
		{"东方财富网: 要闻 #1", "dongfangcaifuwang-yaowen-1", "https://rsshub.app/eastmoney/news", "https://www.eastmoney.com/", "caijing"},
		// Listed as feed:// in 财经 and http:// in 宏观: one source.
		{"中国证券网", "zhongguozhengquanwang", "http://news.cnstock.com/rss/yw.xml", "https://www.cnstock.com/", "caijing,hongguan"},
		{"Hacker News: Front Page", "hacker-news-front-page", "https://hnrss.org/frontpage?points=100&count=50", "https://news.ycombinator.com/", "tech-code"},
		// A relative htmlUrl is no site_url.
		{"C# Weekly", "c-weekly", "https://csharpweekly.example/rss", "", "tech-code"},
		{"Blog", "blog", "https://one.example/blog/rss", "", "tech-code"},
		{"Blog", "blog-2", "https://two.example/blog/rss", "", "tech"},
		{`"Quoted" & [bracketed] - yes`, "quoted-bracketed-yes", "https://quoted.example/feed", "", "tech"},
		{"Catégorie générale", "categorie-generale", "https://fr.example/rss", "", "all-2"},
		// No title: the host names it.
		{"untitled.example", "untitled-example", "https://www.untitled.example/feed.xml", "https://www.untitled.example/", "imported"},
		{"LWN.net", "lwn-net", "https://lwn.net/headlines/rss", "https://lwn.net", "imported"},
	}
	if len(got) != len(want) {
		t.Errorf("%d sources, want %d", len(got), len(want))
	}
	for i := 0; i < len(got) && i < len(want); i++ {
		if got[i] != want[i] {
			t.Errorf("source %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// Titles that YAML would read as something else, or not at all, unless
// quoted, written into an OPML file by opml.Write.
func TestImportOPMLQuoting(t *testing.T) {
	names := []string{
		"yes", "No", "null", "~", "123", "1e3", "0x1F", "- dash", "? question", ": colon",
		"key: value", "trailing:", "#hash", "mid #hash", "&anchor", "*alias", "!tag", "%percent",
		"@at", "`tick", "|pipe", ">fold", "{brace}", "[bracket]", "'single'", `"double"`,
		`back\slash`, "tab\there", "证券时报网：“要闻”", "日本語のニュース", "🙂",
	}
	var feeds []opml.Feed
	for i, n := range names {
		feeds = append(feeds, opml.Feed{Title: n, XMLURL: "https://q.example/" + strings.Repeat("x", i+1)})
	}
	file := filepath.Join(t.TempDir(), "quoting.opml")
	var b bytes.Buffer
	if err := opml.Write(&b, "quoting", time.Now(), []opml.Group{{Title: "true", Feeds: feeds[:5]}, {Title: "财经: #1", Feeds: feeds[5:]}}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, _ := importOPMLConfig(t, file)
	if len(cfg.Sources) != len(names) {
		t.Fatalf("%d sources, want %d", len(cfg.Sources), len(names))
	}
	seen := map[string]bool{}
	for i, s := range cfg.Sources {
		want := strings.Join(strings.Fields(names[i]), " ") // OPML titles are read with white space collapsed
		if s.Name != want {
			t.Errorf("source %d: name %q, want %q", i, s.Name, want)
		}
		if seen[s.Slug] {
			t.Errorf("slug %q twice", s.Slug)
		}
		seen[s.Slug] = true
	}
	if c := cfg.Categories; len(c) != 2 || c[0].Title != "true" || c[1].Title != "财经: #1" || c[1].Slug != "caijing-1" {
		t.Errorf("categories %+v", c)
	}
}

func TestImportOPMLErrors(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "no-http.opml")
	if err := os.WriteFile(empty, []byte(`<opml version="2.0"><body><outline text="q" xmlUrl="query:unread:unread = &quot;yes&quot;"/></body></opml>`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string // in stderr
	}{
		{"missing file", []string{"testdata/does-not-exist.opml"}, 1, []string{"testdata/does-not-exist.opml", "no such file"}},
		{"malformed file", []string{"testdata/malformed.opml"}, 1, []string{"testdata/malformed.opml: opml: XML syntax error on line 10: element <outline> closed by </body>"}},
		{"not OPML", []string{"importopml.go"}, 1, []string{"importopml.go: opml: not an OPML document"}},
		{"a directory", []string{"testdata"}, 1, []string{"testdata"}},
		{"nothing to import", []string{empty}, 1, []string{empty + ": no feed to import", "skipped"}},
		{"no file", nil, 2, []string{"usage: feedrelay import-opml FILE"}},
		{"two files", []string{"a.opml", "b.opml"}, 2, []string{"usage: feedrelay import-opml FILE"}},
		{"unknown flag", []string{"-o"}, 2, []string{"unknown flag -o"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runImportOPML(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout is not empty:\n%s", stdout.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q lacks %q", stderr.String(), w)
				}
			}
		})
	}

	var stdout, stderr bytes.Buffer
	if code := runImportOPML([]string{"-h"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "usage:") {
		t.Errorf("-h: exit %d, stdout %q", code, stdout.String())
	}
}
