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

// explain says, item by item, which rule kept or dropped it in each feed and
// which copies were folded.
func TestExplain(t *testing.T) {
	rss := func(items ...string) string {
		return `<rss version="2.0"><channel><title>t</title>` + strings.Join(items, "") + `</channel></rss>`
	}
	item := func(title, link, date string) string {
		return fmt.Sprintf(`<item><title>%s</title><link>%s</link><pubDate>%s</pubDate></item>`, title, link, date)
	}
	feedsBySource := map[string]string{
		"/stcn": rss(item("A股三大指数集体高开，创业板指涨1%", "https://www.stcn.com/a/1.html", "Thu, 26 Nov 2026 09:30:00 +0800"),
			item("【推广】开户送好礼", "https://www.stcn.com/a/2.html", "Thu, 26 Nov 2026 09:00:00 +0800")),
		"/eastmoney": rss(item("A股三大指数集体高开，创业板指涨1%", "https://stcn.com/a/1.html?utm_source=em", "Thu, 26 Nov 2026 09:35:00 +0800")),
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(feedsBySource[r.URL.Path]))
	}))
	defer ts.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`timezone: Asia/Shanghai
categories:
  - {slug: markets, title: 市场}
sources:
  - name: 证券时报网
    slug: stcn
    url: %s/stcn
    categories: [markets]
    filters: {exclude: ['推广']}
  - {name: 东方财富网, slug: eastmoney, url: "%s/eastmoney", categories: [markets]}
`, ts.URL, ts.URL)), 0o644)
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"poll", "-config", cfg, "-source", "stcn"}, &out, &errOut); code != 0 {
		t.Fatalf("poll: %d %s", code, errOut.String())
	}
	if code := Run(context.Background(), []string{"poll", "-config", cfg, "-source", "eastmoney"}, &out, &errOut); code != 0 {
		t.Fatalf("poll: %d %s", code, errOut.String())
	}

	for _, c := range []struct {
		source string
		want   []string
	}{
		{"stcn", []string{
			"2026-11-26 09:30  A股三大指数集体高开，创业板指涨1%",
			`    feeds/markets                shown (no rule applies); also reported by 东方财富网 "A股三大指数集体高开，创业板指涨1%" (https://stcn.com/a/1.html?utm_source=em)`,
			"2026-11-26 09:00  【推广】开户送好礼",
			`    sources/stcn                 dropped (source stcn: exclude "推广")`,
		}},
		{"eastmoney", []string{
			`    feeds/markets                folded into 证券时报网 "A股三大指数集体高开，创业板指涨1%" (https://www.stcn.com/a/1.html)`,
			`    sources/eastmoney            shown (no rule applies)`,
		}},
	} {
		out.Reset()
		if code := Run(context.Background(), []string{"explain", "-config", cfg, "-source", c.source}, &out, &errOut); code != 0 {
			t.Fatalf("explain %s: exit %d: %s", c.source, code, errOut.String())
		}
		for _, w := range c.want {
			if !strings.Contains(out.String(), w+"\n") {
				t.Errorf("explain %s lacks %q:\n%s", c.source, w, out.String())
			}
		}
	}
	if code := Run(context.Background(), []string{"explain", "-config", cfg, "-source", "nope"}, &out, &errOut); code != exitUsage {
		t.Errorf("explain of an unknown source: exit %d", code)
	}
}
