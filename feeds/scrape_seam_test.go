package feeds

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

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
		raw, base, err := e.Extract(page, articleURL)
		if err != nil {
			t.Fatal(err)
		}
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

// A scraped origin is part of what the list says: a change of it alone is
// a changed item. A feed item, which has none, keeps the hash it had before
// origins were hashed (an upgrade must not count every item changed).
func TestOriginInContentHash(t *testing.T) {
	gi := func(origin string) *gofeed.Item {
		it := &gofeed.Item{GUID: "g1", Link: "https://example.org/1", Title: "标题", Description: "<p>正文</p>"}
		if origin != "" {
			it.Custom = map[string]string{scrape.CustomOrigin: origin}
		}
		return it
	}
	a, b, none := normalizeItem(gi("证券时报网"), nil, time.UTC), normalizeItem(gi("中国证券报"), nil, time.UTC), normalizeItem(gi(""), nil, time.UTC)
	if a.Origin != "证券时报网" || a.Hash == b.Hash || a.Hash == none.Hash {
		t.Errorf("origin %q; hashes %s %s %s", a.Origin, a.Hash, b.Hash, none.Hash)
	}
	// The hash an item of this shape had before scraped origins existed:
	// sha256 of link, title, author, content, summary, categories and
	// dates, each followed by a NUL, first 16 bytes.
	if none.Hash != "5f34c792e425b23ebf080aba72d36bdd" {
		t.Errorf("the hash of a feed item changed: %s", none.Hash)
	}
}

// The full text of an item is read only from a web address, or from a file
// when the source itself is one: a page on the web naming a file: URL (or
// javascript:) as an article gets no full text.
func TestArticleURLPolicy(t *testing.T) {
	web := Source{URL: "https://example.org/list.html"}
	disk := Source{URL: "file:///srv/pages/list.json"}
	for _, tc := range []struct {
		src  Source
		raw  string
		want bool
	}{
		{web, "https://example.org/a/1.html", true},
		{web, "http://example.org/a/1.html", true},
		{web, "file:///etc/passwd", false},
		{web, "javascript:alert(1)", false},
		{web, "https:///no-host", false},
		{disk, "file:///srv/pages/articles/1.json", true},
		{disk, "https://example.org/a/1.html", true},
	} {
		if got := tc.src.articleURL(tc.raw) != ""; got != tc.want {
			t.Errorf("source %s, article %s: allowed %v, want %v", tc.src.URL, tc.raw, got, tc.want)
		}
	}
}
