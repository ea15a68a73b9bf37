package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// poll -source S -dry-run prints what a scrape source yields, field by
// field with where each came from, and its first articles, and stores
// nothing: the database is not even created.
func TestPollDryRun(t *testing.T) {
	list, err := os.ReadFile(filepath.Join("..", "..", "feeds", "scrape", "testdata", "stcn_yw.html"))
	if err != nil {
		t.Fatal(err)
	}
	detail, err := os.ReadFile(filepath.Join("..", "..", "feeds", "article", "testdata", "stcn_detail.html"))
	if err != nil {
		t.Fatal(err)
	}
	asked := 0
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked++
		if strings.HasPrefix(r.URL.Path, "/article/detail/") {
			w.Write(detail)
			return
		}
		page := bytes.ReplaceAll(list, []byte("https://www.stcn.com/"), []byte("/")) // every link on this server
		if r.URL.Query().Get("dates") == "unread" {
			page = bytes.Replace(page, []byte(">2026-11-26 13:42<"), []byte(">上周三 13:42<"), 1)
		}
		w.Write(page)
	}))
	t.Cleanup(site.Close)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`timezone: Asia/Shanghai
sources:
  - name: 证券时报网
    slug: stcn
    url: %s/article/list.html?type=yw
    kind: html
    items: "ul.list > li"
    fields: {title: ".tt a", link: ".tt a @href", published: ".time", summary: ".text"}
    full_text: {selector: ".detail-content", remove: [".share"]}
`, site.URL)), 0o644)

	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"poll", "-config", cfg, "-source", "stcn", "-dry-run"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out.String(), errOut.String())
	}
	got := out.String()
	for _, want := range []string{
		"items: 5 (1 more skipped: neither guid nor link)",
		`title:     央行：保持流动性合理充裕 加大逆周期调节力度   ← fields.title ".tt a"`,
		"link:      " + site.URL + `/article/detail/1764521.html   ← fields.link ".tt a @href"`,
		`published: 2026-11-26 09:30:00 +0800   ← fields.published ".time"`,
		`content:   中国人民银行11月26日发布公告称，将继续实施好稳健的货币政策，保持流动性合理充裕。   ← fields.summary ".text"`,
		"full text: ",
		"(nothing stored: dry run)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "full text: "); n != 5 {
		t.Errorf("%d full text lines, want 5 (3 fetched, 2 not)", n)
	}
	if asked != 1+dryRunArticles {
		t.Errorf("%d requests, want the list and %d articles", asked, dryRunArticles)
	}
	if _, err := os.Stat(filepath.Join(dir, "feedrelay.db")); !os.IsNotExist(err) {
		t.Errorf("the dry run created the database (stat: %v)", err)
	}
	if code := Run(context.Background(), []string{"poll", "-config", cfg, "-dry-run"}, &out, &errOut); code != exitUsage {
		t.Errorf("-dry-run without -source exited %d, want %d", code, exitUsage)
	}

	// A date the page writes in a way not read is shown as the poll would
	// warn of it, beside the "published: —" of its item.
	os.WriteFile(cfg, bytes.Replace(must(os.ReadFile(cfg)), []byte("type=yw"), []byte("type=yw&dates=unread"), 1), 0o644)
	out.Reset()
	if code := Run(context.Background(), []string{"poll", "-config", cfg, "-source", "stcn", "-dry-run"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out.String(), errOut.String())
	}
	if want := `warning: fields.published: 1 date not read ("上周三 13:42")`; !strings.Contains(out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, out.String())
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A dry run says what a poll would warn of in a scrape config: links that
// are no web address (and where the URL probably is), and fields that
// matched nothing in any item; the items it shows carry no javascript:
// link or identity.
func TestPollDryRunScrapeWarnings(t *testing.T) {
	roll, err := os.ReadFile(filepath.Join("..", "..", "feeds", "scrape", "testdata", "roll_jslinks.html"))
	if err != nil {
		t.Fatal(err)
	}
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(roll) }))
	t.Cleanup(site.Close)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	write := func(fields string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`timezone: Asia/Shanghai
sources:
  - name: 滚动
    slug: roll
    url: %s/roll/index.html
    kind: html
    items: "ul.roll-list > li"
    fields: %s
`, site.URL, fields)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dryRun := func() string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := Run(context.Background(), []string{"poll", "-config", cfg, "-source", "roll", "-dry-run"}, &out, &errOut); code != 0 {
			t.Fatalf("exit %d:\n%s%s", code, out.String(), errOut.String())
		}
		return out.String()
	}

	write(`{title: ".title a", link: ".tt a @href", published: ".date"}`)
	got := dryRun()
	for _, want := range []string{
		"items: 6 (3 more skipped: neither guid nor link)",
		"warning: fields.title, fields.published matched nothing in any of 9 items\n",
		`warning: fields.link gave "javascript:void(0)" for 3 items: not a web address; the URL may be in another attribute, e.g. @data-url` + "\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "javascript:void(0)   ←") {
		t.Errorf("an item shows javascript:void(0) as its link or identity:\n%s", got)
	}

	// Following the hints: every item, no warning.
	write(`{title: ".tt a", link: ".tt a @data-url", published: ".time"}`)
	got = dryRun()
	if !strings.Contains(got, "items: 9\n") || strings.Contains(got, "warning:") ||
		!strings.Contains(got, "link:      "+site.URL+"/article/1008.html") {
		t.Errorf("with @data-url:\n%s", got)
	}
}
