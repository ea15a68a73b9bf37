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
