package export_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"html"
	"html/template"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/feedrelay/feedrelay/export"
	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/storage"
)

// hostile is a title that broke the old site's hand-written front matter.
const hostile = "\"马上消费\": 坚持 # 不是注释\n--- 第二行 'quoted' & <b>"

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// site is a store with two sources in one category, and a Jekyll export of
// it; save stores items as a poll does.
type site struct {
	t    *testing.T
	db   *storage.DB
	opts *publish.Options
	j    *export.Jekyll
	dir  string
}

func newSite(t *testing.T) *site {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(ctx, filepath.Join(t.TempDir(), "feedrelay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.SyncSources(ctx, []storage.SourceInfo{{Slug: "stcn", Name: "证券时报网"}, {Slug: "cnstock", Name: "中国证券网"}}); err != nil {
		t.Fatal(err)
	}
	opts := &publish.Options{
		BaseURL: "https://news.example.org/site/", Title: "feedrelay", PageSize: 2, TitleWindow: 48 * time.Hour,
		Attribution: template.Must(template.New("a").Parse(`<p>（文章来源：{{.Source}}）</p>`)),
		Categories: []publish.Category{
			{Slug: "zhengquanshibaowang", Title: "证券时报网新闻", Sources: []string{"stcn"}},
			{Slug: "markets", Title: "市场 综合", Sources: []string{"stcn", "cnstock"}, DedupTitles: true},
		},
		Sources: []publish.Source{{Slug: "stcn", Name: "证券时报网"}, {Slug: "cnstock", Name: "中国证券网"}},
	}
	s := &site{t: t, db: db, opts: opts, dir: t.TempDir()}
	s.j = &export.Jekyll{Publisher: publish.New(db, opts), Categories: opts.Categories, BaseURL: opts.BaseURL, Location: shanghai}
	return s
}

func (s *site) save(src string, seen time.Time, items ...feeds.Item) {
	s.t.Helper()
	s.db.Now = func() time.Time { return seen }
	for i := range items {
		it := &items[i]
		it.Identity = it.Link
		it.Hash = it.Title + it.Content + it.Published.String()
	}
	f := &feeds.Feed{Title: src, Items: items}
	(&feeds.Source{Slug: src, Name: src}).Identify(f, seen)
	if _, err := s.db.Save(context.Background(), &feeds.Result{Source: src, Attempted: seen, StatusCode: 200, Feed: f}); err != nil {
		s.t.Fatal(err)
	}
}

func (s *site) export(o export.JekyllOptions) *export.Result {
	s.t.Helper()
	res, err := s.j.Export(context.Background(), s.dir, o)
	if err != nil {
		s.t.Fatal(err)
	}
	return res
}

var day = time.Date(2022, 1, 12, 7, 23, 2, 0, time.UTC) // 15:23:02 +0800

// fill stores five items of stcn (one hostile, one untitled, one with
// Liquid and Markdown in its text) and one of cnstock.
func (s *site) fill() {
	s.save("stcn", day,
		feeds.Item{Title: hostile, Link: "https://stcn.example/1.html", Content: "<p>正文一</p>", Published: day},
		feeds.Item{Title: "", Link: "https://stcn.example/2.html", Content: "<p>没有标题的快讯：两市成交额连续第三日突破万亿元，北向资金净买入超50亿元</p>", Published: day.Add(time.Hour)},
		feeds.Item{Title: "模板 {{ site.title }} 与 {% raw %}", Link: "https://stcn.example/3.html?a={x}", Content: "<p>{{ page.title }} {% include x %} *不是强调* _也不是_</p>", Published: day.Add(2 * time.Hour)},
		feeds.Item{Title: "沪指涨0.35%：券商板块领涨", Link: "https://stcn.example/4.html", Content: "<p>正文四</p>", Published: day.Add(3 * time.Hour),
			Enclosures: []feeds.Enclosure{{URL: "https://cdn.stcn.example/4.mp3", Length: 1234, Type: "audio/mpeg"}}},
		feeds.Item{Title: "北向资金午后加速流入", Link: "https://stcn.example/5.html", Content: "<p>正文五</p>", Published: day.Add(4 * time.Hour)},
	)
	s.save("cnstock", day.Add(time.Minute),
		feeds.Item{Title: "中国证券网：科创板新股首日表现", Link: "https://cnstock.example/1.html", Content: "<p>正文六</p>", Published: day.Add(5 * time.Hour)})
}

// posts reads every file in _posts: name → front matter (parsed by a real
// YAML parser) and body.
func (s *site) posts() map[string]post {
	s.t.Helper()
	des, err := os.ReadDir(filepath.Join(s.dir, "_posts"))
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string]post{}
	for _, de := range des {
		data, err := os.ReadFile(filepath.Join(s.dir, "_posts", de.Name()))
		if err != nil {
			s.t.Fatal(err)
		}
		out[de.Name()] = parsePost(s.t, de.Name(), data)
	}
	return out
}

type post struct {
	front map[string]any
	body  string
}

func parsePost(t *testing.T, name string, data []byte) post {
	t.Helper()
	rest, ok := bytes.CutPrefix(data, []byte("---\n"))
	head, body, ok2 := bytes.Cut(rest, []byte("\n---\n"))
	if !ok || !ok2 {
		t.Fatalf("%s: no front matter between --- lines:\n%s", name, data)
	}
	var fm map[string]any
	if err := yaml.Unmarshal(head, &fm); err != nil {
		t.Fatalf("%s: front matter is not YAML: %v\n%s", name, err, head)
	}
	return post{front: fm, body: string(body)}
}

func byTitle(ps map[string]post) map[string]post {
	out := map[string]post{}
	for _, p := range ps {
		out[p.front["title"].(string)] = p
	}
	return out
}

func TestJekyll_FrontMatter(t *testing.T) {
	s := newSite(t)
	s.fill()
	res := s.export(export.JekyllOptions{})
	ps := s.posts()
	if len(ps) != 6 || len(res.Written) != 8 { // 6 posts, 2 category pages
		t.Fatalf("%d posts, written %v; want 6 posts + 2 category pages", len(ps), res.Written)
	}
	name := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}-feedrelay-\d+\.md$`)
	for n, p := range ps {
		if !name.MatchString(n) {
			t.Errorf("post file %q: not {date}-feedrelay-{id}.md", n)
		}
		title, _ := p.front["title"].(string)
		date, _ := p.front["date"].(string)
		if strings.TrimSpace(title) == "" || p.front["layout"] != "post" {
			t.Errorf("%s: layout %v, title %q", n, p.front["layout"], title)
		}
		d, err := time.Parse("2006-01-02 15:04:05 -0700", date)
		if err != nil {
			t.Errorf("%s: date %q: %v", n, date, err)
		} else if !strings.HasPrefix(n, d.Format("2006-01-02")) || !strings.HasSuffix(date, "+0800") {
			t.Errorf("%s: date %q is not the file's day in +0800", n, date)
		}
	}
	titles := byTitle(ps)
	p, ok := titles[hostile]
	if !ok {
		t.Fatalf("the hostile title did not read back as written; titles: %q", slices.Collect(mapsKeys(titles)))
	}
	if p.front["date"] != "2022-01-12 15:23:02 +0800" {
		t.Errorf("date %q, want 2022-01-12 15:23:02 +0800 (the old site's form)", p.front["date"])
	}
	if p.front["categories"] != "zhengquanshibaowang" && !slices.Equal(anyStrings(p.front["categories"]), []string{"zhengquanshibaowang", "markets"}) {
		t.Errorf("categories %v", p.front["categories"])
	}
	if got := anyStrings(p.front["tags"]); !slices.Equal(got, []string{"证券时报网新闻", "市场 综合"}) {
		t.Errorf("tags %q, want both categories' titles as a list (one has a space)", got)
	}
	for _, want := range []string{
		"<p>正文一</p>",
		"（文章来源：证券时报网）",
		"\n<https://stcn.example/1.html>\n",
		"[返回证券时报网新闻](/site/category/zhengquanshibaowang.html)｜[返回市场 综合](/site/category/markets.html)｜[返回首页](/site/)",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("body lacks %q:\n%s", want, p.body)
		}
	}
	// A post with a file names it for a layout that plays it, and links it.
	pod := titles["沪指涨0.35%：券商板块领涨"]
	if encs, _ := pod.front["enclosures"].([]any); len(encs) != 1 ||
		!reflect.DeepEqual(encs[0], map[string]any{"url": "https://cdn.stcn.example/4.mp3", "type": "audio/mpeg", "length": 1234}) {
		t.Errorf("enclosures in the front matter: %#v", pod.front["enclosures"])
	}
	if !strings.Contains(pod.body, "\n附件：<https://cdn.stcn.example/4.mp3>\n") {
		t.Errorf("body does not link the enclosure:\n%s", pod.body)
	}
	if _, ok := p.front["enclosures"]; ok {
		t.Errorf("a post without files has enclosures: %v", p.front["enclosures"])
	}
	untitled, ok := titles["没有标题的快讯：两市成交额连续第三日突破万亿元，北向资金净买…"]
	if !ok {
		t.Errorf("the untitled entry is not titled by its text; titles: %q", slices.Collect(mapsKeys(titles)))
	} else if untitled.front["date"] != "2022-01-12 16:23:02 +0800" {
		t.Errorf("untitled entry's date %q", untitled.front["date"])
	}
	liquid := titles["模板 {{ site.title }} 与 {% raw %}"]
	if strings.Contains(liquid.body, "{{") || strings.Contains(liquid.body, "{%") {
		t.Errorf("Liquid would read the body:\n%s", liquid.body)
	}
	cat, err := os.ReadFile(filepath.Join(s.dir, "category", "markets.html"))
	if err != nil {
		t.Fatal(err)
	}
	c := parsePost(t, "category/markets.html", cat)
	if c.front["layout"] != "category" || c.front["title"] != "市场 综合" || c.front["category"] != "markets" {
		t.Errorf("category page front matter %v", c.front)
	}
}

func anyStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

func mapsKeys(m map[string]post) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// stamp sets every file's modification time to long ago, and returns the
// bytes of each.
func stamp(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	out := map[string][]byte{}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)] = data
		return os.Chtimes(path, old, old)
	})
	return out
}

// touched is what differs from before: a file's bytes, its modification
// time, files added or gone.
func touched(t *testing.T, dir string, before map[string][]byte) []string {
	t.Helper()
	var out []string
	seen := map[string]bool{}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		info, _ := d.Info()
		data, _ := os.ReadFile(path)
		if old, ok := before[rel]; !ok || !bytes.Equal(old, data) || info.ModTime().Year() != 2001 {
			out = append(out, rel)
		}
		return nil
	})
	for rel := range before {
		if !seen[rel] {
			out = append(out, rel+" (gone)")
		}
	}
	slices.Sort(out)
	return out
}

func TestJekyll_SecondExportRewritesOnlyTheChangedPost(t *testing.T) {
	s := newSite(t)
	s.fill()
	s.export(export.JekyllOptions{})
	before := stamp(t, s.dir)

	res := s.export(export.JekyllOptions{})
	if got := touched(t, s.dir, before); len(got) != 0 || len(res.Written) != 0 {
		t.Fatalf("an export of nothing new touched %v (written %v)", got, res.Written)
	}

	// One item changes its text, as a source's correction does.
	s.save("stcn", day.Add(time.Hour*24),
		feeds.Item{Title: "沪指涨0.35%：券商板块领涨", Link: "https://stcn.example/4.html", Content: "<p>正文四（更正）</p>", Published: day.Add(3 * time.Hour)})
	res = s.export(export.JekyllOptions{})
	got := touched(t, s.dir, before)
	if len(got) != 1 || !slices.Equal(got, res.Written) {
		t.Fatalf("after one changed item the export touched %v and says it wrote %v; want that one post", got, res.Written)
	}
	if data, _ := os.ReadFile(filepath.Join(s.dir, got[0])); !strings.Contains(string(data), "正文四（更正）") {
		t.Errorf("%s does not hold the correction:\n%s", got[0], data)
	}
}

func TestJekyll_Prune(t *testing.T) {
	s := newSite(t)
	s.fill()
	s.export(export.JekyllOptions{})
	foreign := filepath.Join(s.dir, "_posts", "2022-01-12-202201122245264451.md")
	if err := os.WriteFile(foreign, []byte("---\nlayout: post\ntitle: the old site's\n---\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// cnstock leaves every category: its entry is no longer published.
	s.opts.Categories[1].Sources = []string{"stcn"}
	before := stamp(t, s.dir)

	s.export(export.JekyllOptions{})
	if got := touched(t, s.dir, before); len(got) != 0 {
		t.Fatalf("without -prune the export touched %v", got)
	}
	res := s.export(export.JekyllOptions{Prune: true})
	got := touched(t, s.dir, before)
	if len(got) != 1 || !strings.HasSuffix(got[0], " (gone)") || !slices.Equal(res.Removed, []string{strings.TrimSuffix(got[0], " (gone)")}) {
		t.Fatalf("-prune touched %v, removed %v; want the one post of cnstock gone", got, res.Removed)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("-prune removed a post not of feedrelay's naming: %v", err)
	}

	// -since: posts of the day and later; -category: those it shows.
	s2 := newSite(t)
	s2.fill()
	s2.save("stcn", day.Add(48*time.Hour), feeds.Item{Title: "两天以后", Link: "https://stcn.example/9.html", Content: "<p>九</p>", Published: day.Add(48 * time.Hour)})
	since := time.Date(2022, 1, 14, 0, 0, 0, 0, shanghai)
	s2.export(export.JekyllOptions{Since: since})
	if ps := s2.posts(); len(ps) != 1 || byTitle(ps)["两天以后"].body == "" {
		t.Errorf("-since 2022-01-14 wrote %d posts: %v", len(ps), slices.Collect(mapsKeys(byTitle(ps))))
	}
	s2.export(export.JekyllOptions{Category: "zhengquanshibaowang"})
	if ps := s2.posts(); len(ps) != 6 {
		t.Errorf("-category zhengquanshibaowang: %d posts, want stcn's 6", len(ps))
	}
}

// A real Jekyll (Debian's jekyll with jekyll-feed, as the old site used)
// builds the example site with the exported posts, and its feed.xml holds
// every post with its title.
func TestJekyll_Build(t *testing.T) {
	bin, err := exec.LookPath("jekyll")
	if err != nil {
		t.Fatal("jekyll is not installed: run ./scripts/install-test-deps (Debian's jekyll and ruby-jekyll-feed)")
	}
	s := newSite(t)
	s.fill()
	// Articles whose HTML is not balanced, as a description cut off
	// mid-markup is: each post keeps its footer as links all the same.
	s.save("cnstock", day.Add(2*time.Minute),
		feeds.Item{Title: "中国证券网：科创板新股首日表现", Link: "https://cnstock.example/1.html", Content: "<p>正文六</p>", Published: day.Add(5 * time.Hour)},
		feeds.Item{Title: "摘要被截断", Link: "https://cnstock.example/2.html", Content: "<div><p>摘要被截断……</p>\n\n    缩进的一行", Published: day.Add(6 * time.Hour)},
		feeds.Item{Title: "多余的结束标签", Link: "https://cnstock.example/3.html", Content: "<p>前半</p></div>\n\n    缩进的一行</div><p>后半</p>", Published: day.Add(7 * time.Hour)})
	if err := os.CopyFS(s.dir, os.DirFS("../examples/jekyll")); err != nil {
		t.Fatal(err)
	}
	s.export(export.JekyllOptions{})
	out := filepath.Join(t.TempDir(), "_site")
	cmd := exec.Command(bin, "build", "--source", s.dir, "--destination", out)
	cmd.Env = append(os.Environ(), "JEKYLL_ENV=production", "LANG=C.UTF-8")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("jekyll build: %v\n%s", err, b)
	}
	data, err := os.ReadFile(filepath.Join(out, "feed.xml"))
	if err != nil {
		t.Fatalf("jekyll-feed wrote no feed.xml: %v", err)
	}
	var feed struct {
		Entries []struct {
			Title   string `xml:"title"`
			Content string `xml:"content"`
			Cats    []struct {
				Term string `xml:"term,attr"`
			} `xml:"category"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal(data, &feed); err != nil {
		t.Fatalf("feed.xml: %v", err)
	}
	var got []string
	for _, e := range feed.Entries {
		// <title type="html">: the text once entities are read.
		got = append(got, html.UnescapeString(e.Title))
	}
	ps := byTitle(s.posts())
	if len(feed.Entries) != len(ps) {
		t.Errorf("feed.xml has %d entries, the export %d posts", len(feed.Entries), len(ps))
	}
	for title := range ps {
		if !slices.Contains(got, jekyllFeedTitle(title)) {
			t.Errorf("feed.xml lacks the post titled %q (as jekyll-feed writes it: %q); it has %q", title, jekyllFeedTitle(title), got)
		}
	}
	for _, e := range feed.Entries {
		if strings.Contains(e.Title, "模板") {
			// The content is HTML: its character references are the braces.
			if text := html.UnescapeString(e.Content); !strings.Contains(text, "{{ page.title }} {% include x %} *不是强调* _也不是_") {
				t.Errorf("the article's braces or asterisks did not survive Liquid and kramdown: %s", e.Content)
			}
		}
	}
	// Every post's page ends with its footer's links, never with the
	// footer shown as text or the article's rest read as Markdown.
	pages := 0
	filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
		if err != nil || !strings.HasPrefix(d.Name(), "feedrelay-") || !strings.HasSuffix(d.Name(), ".html") {
			return err
		}
		pages++
		data, _ := os.ReadFile(path)
		page := string(data)
		if !strings.Contains(page, ">返回首页</a>") || strings.Contains(page, "&lt;/div&gt;") || strings.Contains(page, "<pre") {
			t.Errorf("%s: the footer is not links after the article (or the article became Markdown):\n%s", d.Name(), page)
		}
		return nil
	})
	if pages != len(ps) {
		t.Errorf("%d post pages built, want %d", pages, len(ps))
	}
	// The post's own page, through the example layout's {{ page.title }}:
	// every character of the hostile title as written.
	page := findFile(t, out, "feedrelay-1.html")
	h1 := regexp.MustCompile(`(?s)<h1>(.*?)</h1>`).FindStringSubmatch(page)
	if h1 == nil || html.UnescapeString(h1[1]) != hostile {
		t.Errorf("the post page does not show the title as written (%q):\n%s", hostile, page)
	}
}

// jekyllFeedTitle is a title as jekyll-feed 0.17 writes it: smartify
// (curly quotes), strip_html, normalize_whitespace.
func jekyllFeedTitle(s string) string {
	s = regexp.MustCompile(`"([^"]*)"`).ReplaceAllString(s, "“$1”")
	s = regexp.MustCompile(`'([^']*)'`).ReplaceAllString(s, "‘$1’")
	s = strings.ReplaceAll(s, "---", "—")
	s = regexp.MustCompile(`<[^>]*>`).ReplaceAllString(s, "")
	return strings.Join(strings.Fields(s), " ")
}

func findFile(t *testing.T, dir, name string) string {
	t.Helper()
	var found string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == name {
			found = path
		}
		return err
	})
	if found == "" {
		t.Fatalf("no %s in the built site", name)
	}
	data, err := os.ReadFile(found)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
