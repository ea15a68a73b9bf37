package feeds

import (
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds/article"
	"github.com/feedrelay/feedrelay/feeds/scrape"
)

// The seam between package scrape and this package: scraped items go
// through the same normalizing as feed items, so their dates are read in
// the source's zone with the Chinese formats, their links and content are
// absolute and sanitized, and their identity is the guid, else the link.
func TestScrapedItemsNormalize(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 14, 0, 0, 0, shanghai)

	t.Run("html", func(t *testing.T) {
		s, err := scrape.Compile(scrape.Spec{Kind: scrape.HTML, Items: "ul.list > li", Fields: map[string]string{
			"title": ".t a", "link": ".t a @href", "published": ".time", "summary": ".text", "categories": ".tags a",
		}})
		if err != nil {
			t.Fatal(err)
		}
		const pageURL = "https://www.stcn.com/article/list.html?type=company"
		r, err := s.Parse(readScrapeFixture(t, "stcn_company.html"), pageURL, shanghai, now)
		if err != nil {
			t.Fatal(err)
		}
		f := normalizeFeed(r.Feed, "", pageURL, shanghai)
		it := f.Items[0]
		// "2026年11月26日 09:30" in the source's zone.
		if want := time.Date(2026, 11, 26, 9, 30, 0, 0, shanghai); !it.Published.Equal(want) {
			t.Errorf("published %v, want %v", it.Published, want)
		}
		if it.Link != "https://www.stcn.com/article/detail/1764540.html" || it.Identity != it.Link {
			t.Errorf("link %q, identity %q", it.Link, it.Identity)
		}
		if it.Content != "宁德时代11月25日晚间公告，拟投资建设匈牙利第二工厂。" || it.Summary != "" {
			t.Errorf("content %q, summary %q", it.Content, it.Summary)
		}
		if strings.Join(it.Categories, ",") != "公司,新能源,动力电池" {
			t.Errorf("categories %q", it.Categories)
		}
		if f.SiteURL != pageURL || f.Title != "公司_证券时报网" {
			t.Errorf("site %q, title %q", f.SiteURL, f.Title)
		}
	})

	t.Run("json", func(t *testing.T) {
		s, err := scrape.Compile(scrape.Spec{Kind: scrape.JSON, Items: "nodeList", Fields: map[string]string{
			"title": "title", "guid": "infocode", "published": "showtime", "origin": "from",
			"link": "http://finance.example.cn/NewsShare.html?infoCode={infocode}",
		}})
		if err != nil {
			t.Fatal(err)
		}
		const apiURL = "http://api.example.cn/web/webapi?type=45&count=100"
		r, err := s.Parse(readScrapeFixture(t, "eastmoney_list.json"), apiURL, shanghai, now)
		if err != nil {
			t.Fatal(err)
		}
		f := normalizeFeed(r.Feed, "", apiURL, shanghai)
		if len(f.Items) != 3 {
			t.Fatalf("%d items", len(f.Items))
		}
		it := f.Items[0]
		if want := time.Date(2026, 11, 26, 9, 30, 0, 0, shanghai); !it.Published.Equal(want) {
			t.Errorf("published %v, want %v", it.Published, want)
		}
		if it.Identity != "202611263571234567" {
			t.Errorf("identity %q", it.Identity)
		}
		// The API is not a site: the feed is known by the URL polled.
		if f.ID != apiURL {
			t.Errorf("feed id %q", f.ID)
		}
	})

	// An extracted article is sanitized like feed content, its relative
	// links resolved against the article's own URL.
	t.Run("full text", func(t *testing.T) {
		e, err := article.Compile(article.Spec{Selector: ".detail-content", Remove: []string{".share"}})
		if err != nil {
			t.Fatal(err)
		}
		page, err := os.ReadFile("article/testdata/stcn_detail.html")
		if err != nil {
			t.Fatal(err)
		}
		const articleURL = "https://www.stcn.com/article/detail/1764521.html"
		raw, err := e.Extract(page, articleURL)
		if err != nil {
			t.Fatal(err)
		}
		base, _ := url.Parse(articleURL)
		got := sanitize(raw, base)
		if !strings.Contains(got, `src="https://www.stcn.com/uploads/2026/11/26/mlf-chart.png"`) {
			t.Errorf("image not absolute:\n%s", got)
		}
		if strings.Contains(got, "<script") || strings.Contains(got, "shareTitle") || strings.Contains(got, "style=") {
			t.Errorf("not sanitized:\n%s", got)
		}
	})
}

func readScrapeFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("scrape/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
