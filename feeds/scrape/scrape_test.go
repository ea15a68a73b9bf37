package scrape_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds/charset"
	"github.com/feedrelay/feedrelay/feeds/scrape"
)

var shanghai = time.FixedZone("CST", 8*3600)

// pollTime is "now" for the fixtures: shortly after their newest item.
var pollTime = time.Date(2026, 11, 26, 14, 0, 0, 0, shanghai)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func compile(t testing.TB, spec scrape.Spec) *scrape.Scraper {
	t.Helper()
	s, err := scrape.Compile(spec)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return s
}

// stcnHTML is the 证券时报网 要闻 spec of issue 13.
var stcnHTML = scrape.Spec{
	Kind:  scrape.HTML,
	Items: "ul.list > li",
	Fields: map[string]string{
		"title":     ".tt a",
		"link":      ".tt a @href",
		"published": ".time",
		"summary":   ".text",
		"origin":    ".info .source",
	},
}

const ywURL = "https://www.stcn.com/article/list.html?type=yw"

func TestHTMLListPage(t *testing.T) {
	r, err := compile(t, stcnHTML).Parse(fixture(t, "stcn_yw.html"), ywURL, shanghai, pollTime)
	if err != nil {
		t.Fatal(err)
	}
	if r.Matched != 6 || r.Skipped != 1 || len(r.Feed.Items) != 5 {
		t.Fatalf("matched %d, skipped %d, items %d; want 6, 1 (the advertisement), 5", r.Matched, r.Skipped, len(r.Feed.Items))
	}
	if r.Feed.Title != "要闻_证券时报网" {
		t.Errorf("feed title %q", r.Feed.Title)
	}
	type want struct{ title, link, published, summary string }
	wants := []want{
		{"央行：保持流动性合理充裕 加大逆周期调节力度", "https://www.stcn.com/article/detail/1764521.html", "2026-11-26 09:30", "中国人民银行11月26日发布公告称，将继续实施好稳健的货币政策，保持流动性合理充裕。"},
		// <em> inside the link: its text, whitespace folded.
		{"沪指午后翻红 券商板块集体走强", "https://www.stcn.com/article/detail/1764520.html", "2026-11-26 13:42", "午后A股三大指数震荡回升，沪指翻红，券商、保险板块领涨。"},
		// No .text on this item: no summary, the item is kept.
		{"证监会：推动中长期资金入市 提升上市公司质量", "https://www.stcn.com/article/detail/1764519.html", "2026-11-26 08:15", ""},
		// href="detail/1764518.html" is relative to /article/list.html.
		{"11月LPR报价出炉：1年期和5年期以上品种均维持不变", "https://www.stcn.com/article/detail/1764518.html", "2026-11-25 09:20", "11月贷款市场报价利率（LPR）报价出炉，1年期LPR为3.0%，5年期以上LPR为3.5%。"},
		{"北向资金净买入超50亿元 电子、医药获加仓", "https://www.stcn.com/article/detail/1764517.html", "2026-11-25 15:08", "北向资金全天净买入52.3亿元，电子、医药生物行业获加仓居前。"},
	}
	for i, w := range wants {
		it := r.Feed.Items[i]
		got := want{it.Title, it.Link, it.Published, it.Description}
		if got != w {
			t.Errorf("item %d:\n got %+v\nwant %+v", i, got, w)
		}
		// A zone-less date stays raw: package feeds reads it in the
		// source's zone, as for feed dates.
		if it.PublishedParsed != nil {
			t.Errorf("item %d: zone-less date parsed here as %v", i, it.PublishedParsed)
		}
		if it.Custom[scrape.CustomOrigin] != "证券时报网" {
			t.Errorf("item %d: origin %q", i, it.Custom[scrape.CustomOrigin])
		}
	}
}

func TestHTMLDatesWithoutYear(t *testing.T) {
	spec := scrape.Spec{
		Kind:       scrape.HTML,
		Items:      "ul.list > li",
		Fields:     map[string]string{"title": ".title a", "link": ".title a @href", "published": ".time"},
		TimeFormat: "01-02 15:04",
	}
	s := compile(t, spec)
	for _, tc := range []struct {
		name string
		now  time.Time
		want time.Time
	}{
		{"same year", pollTime, time.Date(2026, 11, 26, 9, 30, 0, 0, shanghai)},
		// Read in January, "11-26" is last November, not next.
		{"after new year", time.Date(2027, 1, 3, 9, 0, 0, 0, shanghai), time.Date(2026, 11, 26, 9, 30, 0, 0, shanghai)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.Parse(fixture(t, "stcn_kx.html"), "https://www.stcn.com/article/list.html?type=kx", shanghai, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Feed.Items) != 4 {
				t.Fatalf("%d items, want 4", len(r.Feed.Items))
			}
			it := r.Feed.Items[0]
			if it.Title != "【A股三大指数集体高开，创业板指涨1%】" {
				t.Errorf("title %q", it.Title)
			}
			if it.PublishedParsed == nil || !it.PublishedParsed.Equal(tc.want) {
				t.Errorf("published %v, want %v", it.PublishedParsed, tc.want)
			}
			if it.Published != "" {
				t.Errorf("raw date %q kept: the feed rules would read it again", it.Published)
			}
		})
	}
}

var companySpec = scrape.Spec{
	Kind:  scrape.HTML,
	Items: "ul.list > li",
	Fields: map[string]string{
		"title":      ".t a",
		"link":       ".t a @href",
		"published":  ".time",
		"summary":    ".text",
		"categories": ".tags a",
		"origin":     ".source",
	},
}

func TestHTMLCategoriesAndOrigin(t *testing.T) {
	r, err := compile(t, companySpec).Parse(fixture(t, "stcn_company.html"), "https://www.stcn.com/article/list.html?type=company", shanghai, pollTime)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Feed.Items) != 3 {
		t.Fatalf("%d items, want 3", len(r.Feed.Items))
	}
	wantCats := [][]string{{"公司", "新能源", "动力电池"}, {"公司", "白酒"}, nil}
	wantOrigin := []string{"证券时报网", "券商中国", "e公司"} // "来源：" dropped
	for i, it := range r.Feed.Items {
		if !reflect.DeepEqual(it.Categories, wantCats[i]) {
			t.Errorf("item %d categories %q, want %q", i, it.Categories, wantCats[i])
		}
		if got := it.Custom[scrape.CustomOrigin]; got != wantOrigin[i] {
			t.Errorf("item %d origin %q, want %q", i, got, wantOrigin[i])
		}
	}
	if got := r.Feed.Items[0].Published; got != "2026年11月26日 09:30" {
		t.Errorf("published %q", got)
	}
}

// A GBK page goes through the same charset rules as a GBK feed before it
// is scraped.
func TestHTMLGBKPage(t *testing.T) {
	raw := fixture(t, "stcn_company_gbk.html")
	for _, tc := range []struct{ name, contentType, override string }{
		{"HTTP charset", "text/html; charset=GBK", ""},
		{"operator override", "text/html", "gbk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, _, err := charset.ToUTF8(raw, tc.contentType, tc.override)
			if err != nil {
				t.Fatal(err)
			}
			r, err := compile(t, companySpec).Parse(page, "https://www.stcn.com/article/list.html?type=company", shanghai, pollTime)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Feed.Items) != 4 {
				t.Fatalf("%d items, want 4", len(r.Feed.Items))
			}
			if got := r.Feed.Items[0].Title; got != "宁德时代：拟在匈牙利建设第二座电池工厂" {
				t.Errorf("title %q", got)
			}
			// 𠮷 is a GB18030 four-byte sequence, 镕 is GBK only.
			if got := r.Feed.Items[3].Title; got != "𠮷野家母公司拟增资中国子公司 朱镕基时期老厂房改建" {
				t.Errorf("title %q", got)
			}
		})
	}
}

func TestLayoutChange(t *testing.T) {
	_, err := compile(t, stcnHTML).Parse(fixture(t, "stcn_yw_redesign.html"), ywURL, shanghai, pollTime)
	if !errors.Is(err, scrape.ErrNoItems) {
		t.Fatalf("err = %v, want ErrNoItems", err)
	}
	if !strings.Contains(err.Error(), "items selector matched nothing: the page layout may have changed") ||
		!strings.Contains(err.Error(), "ul.list > li") {
		t.Errorf("message %q should say what changed and name the selector", err)
	}
}

// Items still match but their link selector does not: every item is
// skipped, which is a layout change too, not an empty success.
func TestEveryItemWithoutLink(t *testing.T) {
	spec := stcnHTML
	spec.Fields = map[string]string{"title": ".tt a", "link": ".headline a @href"}
	_, err := compile(t, spec).Parse(fixture(t, "stcn_yw.html"), ywURL, shanghai, pollTime)
	if err == nil || !strings.Contains(err.Error(), "all 6 items have neither guid nor link") ||
		!strings.Contains(err.Error(), ".headline a @href") {
		t.Fatalf("err = %v", err)
	}
}

// <base href> moves what relative links resolve against.
func TestHTMLBaseHref(t *testing.T) {
	page := []byte(`<html><head><base href="https://m.stcn.com/news/"></head><body>
<ul class="list"><li><div class="tt"><a href="detail/1.html">标题一</a></div></li></ul></body></html>`)
	r, err := compile(t, stcnHTML).Parse(page, ywURL, shanghai, pollTime)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Feed.Items[0].Link; got != "https://m.stcn.com/news/detail/1.html" {
		t.Errorf("link %q", got)
	}
}

func TestJSONList(t *testing.T) {
	spec := scrape.Spec{
		Kind:  scrape.JSON,
		Items: "data",
		Fields: map[string]string{
			"title":      "title",
			"link":       "url",
			"content":    "content",
			"published":  "time",
			"categories": "tags.#.name",
			"origin":     "source",
		},
		TimeFormat: "unix",
	}
	r, err := compile(t, spec).Parse(fixture(t, "stcn_list.json"), ywURL, shanghai, pollTime)
	if err != nil {
		t.Fatal(err)
	}
	if r.Matched != 6 || r.Skipped != 1 || len(r.Feed.Items) != 5 {
		t.Fatalf("matched %d, skipped %d, items %d; want 6, 1, 5", r.Matched, r.Skipped, len(r.Feed.Items))
	}
	first := r.Feed.Items[0]
	if first.Link != "https://www.stcn.com/article/detail/1764521.html" {
		t.Errorf("link %q", first.Link)
	}
	if want := time.Date(2026, 11, 26, 9, 30, 0, 0, shanghai); first.PublishedParsed == nil || !first.PublishedParsed.Equal(want) {
		t.Errorf("published %v, want %v", first.PublishedParsed, want)
	}
	if !reflect.DeepEqual(first.Categories, []string{"要闻", "货币政策"}) {
		t.Errorf("categories %q", first.Categories)
	}
	if !strings.HasPrefix(first.Content, "<p>中国人民银行") {
		t.Errorf("content %q", first.Content)
	}
	if got := r.Feed.Items[1].Custom[scrape.CustomOrigin]; got != "券商中国" {
		t.Errorf("origin %q", got)
	}
	if got := r.Feed.Items[2].Content; got != "" {
		t.Errorf("missing content became %q", got)
	}
}

var eastmoneySpec = scrape.Spec{
	Kind:  scrape.JSON,
	Items: "nodeList",
	Fields: map[string]string{
		"title":     "title",
		"guid":      "infocode",
		"link":      "http://finance.example.cn/NewsShare.html?infoCode={infocode}",
		"published": "showtime",
		"origin":    "from",
		"summary":   "digest",
	},
	FullTextURL: "http://finance.example.cn/GetNewsText.do?id={infocode}",
}

func TestJSONTemplates(t *testing.T) {
	for _, name := range []string{"eastmoney_list.json", "eastmoney_list.jsonp"} {
		t.Run(name, func(t *testing.T) {
			r, err := compile(t, eastmoneySpec).Parse(fixture(t, name), "http://api.example.cn/web/webapi?type=45&count=100", shanghai, pollTime)
			if err != nil {
				t.Fatal(err)
			}
			// The fourth item has no infocode: no guid, and its link
			// template has nothing to fill in, so no link either.
			if r.Skipped != 1 || len(r.Feed.Items) != 3 {
				t.Fatalf("skipped %d, items %d; want 1, 3", r.Skipped, len(r.Feed.Items))
			}
			it := r.Feed.Items[0]
			if it.GUID != "202611263571234567" ||
				it.Link != "http://finance.example.cn/NewsShare.html?infoCode=202611263571234567" ||
				it.Custom[scrape.CustomFullTextURL] != "http://finance.example.cn/GetNewsText.do?id=202611263571234567" ||
				it.Custom[scrape.CustomOrigin] != "证券时报网" ||
				it.Published != "2026-11-26 09:30:00" {
				t.Errorf("item 0: %+v (custom %v)", it, it.Custom)
			}
			if o, ok := r.Feed.Items[2].Custom[scrape.CustomOrigin]; ok {
				t.Errorf("empty from became origin %q", o)
			}
		})
	}
}

// A value put into a URL is escaped for where it stands; a template that
// is one placeholder passes the value as it is.
func TestTemplateEscaping(t *testing.T) {
	spec := scrape.Spec{Kind: scrape.JSON, Items: "list", Fields: map[string]string{
		"guid": "{id}",
		"link": "https://example.cn/新闻/{cat}/detail?id={id}&t={title}",
	}}
	body := []byte(`{"list":[{"id":"a b&c","cat":"公司/动态","title":"涨 停"}]}`)
	r, err := compile(t, spec).Parse(body, "https://example.cn/", shanghai, pollTime)
	if err != nil {
		t.Fatal(err)
	}
	it := r.Feed.Items[0]
	if it.GUID != "a b&c" {
		t.Errorf("guid %q", it.GUID)
	}
	if want := "https://example.cn/新闻/%E5%85%AC%E5%8F%B8%2F%E5%8A%A8%E6%80%81/detail?id=a+b%26c&t=%E6%B6%A8+%E5%81%9C"; it.Link != want {
		t.Errorf("link\n got %s\nwant %s", it.Link, want)
	}
}

func TestJSONNoItems(t *testing.T) {
	s := compile(t, eastmoneySpec)
	for _, tc := range []struct{ name, body, want string }{
		{"path missing", `{"re":true,"result":{"list":[]}}`, "items selector matched nothing"},
		{"null", `{"nodeList":null}`, "items selector matched nothing"},
		{"object", `{"nodeList":{"a":{"title":"x"}}}`, `write "nodeList|@values"`},
		{"not JSON", `<html><body>系统维护中</body></html>`, "not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Parse([]byte(tc.body), "http://api.example.cn/", shanghai, pollTime)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// An empty list is an empty answer, not a changed layout.
	r, err := s.Parse([]byte(`{"re":true,"nodeList":[]}`), "http://api.example.cn/", shanghai, pollTime)
	if err != nil || len(r.Feed.Items) != 0 {
		t.Fatalf("empty list: %v, %v", r, err)
	}
}

func TestTimeFormats(t *testing.T) {
	want := time.Date(2026, 11, 26, 9, 30, 0, 0, shanghai)
	for _, tc := range []struct{ format, raw string }{
		{"unix", "1795656600"},
		{"unix_ms", "1795656600000"},
		{"unix", "1795656600.0"},
		{"2006/01/02 15:04", "2026/11/26 09:30"},
		{"2006/01/02 15:04", "发布时间：2026/11/26 09:30"},      // the label is dropped
		{"发布时间：2006/01/02 15:04", "发布时间：2026/11/26 09:30"}, // or spelt out
		{"", "发布时间：2026-11-26T09:30:00+08:00"},
		{"", "【11月26日 09:30 周四】"},
		{"02.01.2006 15:04", "26.11.2026 09:30"},
		{"", "2026-11-26T09:30:00+08:00"},
		{"", "Thu, 26 Nov 2026 01:30:00 +0000"},
	} {
		spec := scrape.Spec{Kind: scrape.JSON, Items: "list", TimeFormat: tc.format,
			Fields: map[string]string{"guid": "id", "published": "d"}}
		body := []byte(`{"list":[{"id":"1","d":"` + tc.raw + `"}]}`)
		r, err := compile(t, spec).Parse(body, "https://example.cn/", shanghai, pollTime)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Feed.Items[0].PublishedParsed; got == nil || !got.Equal(want) {
			t.Errorf("time_format %q, %q: got %v, want %v", tc.format, tc.raw, got, want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	html := func(items string, fields map[string]string) scrape.Spec {
		return scrape.Spec{Kind: scrape.HTML, Items: items, Fields: fields}
	}
	jsonSpec := func(items string, fields map[string]string) scrape.Spec {
		return scrape.Spec{Kind: scrape.JSON, Items: items, Fields: fields}
	}
	for _, tc := range []struct {
		name  string
		spec  scrape.Spec
		field string
	}{
		{"items does not compile", html("ul.list >", map[string]string{"link": "a @href"}), "items"},
		{"field does not compile", html("li", map[string]string{"link": "a[href @href"}), "fields.link"},
		{"attribute missing", html("li", map[string]string{"link": ".tt a @"}), "fields.link"},
		{"unknown field", html("li", map[string]string{"link": "a @href", "titel": "a"}), "fields.titel"},
		{"no guid or link", html("li", map[string]string{"title": "a"}), "fields"},
		{"template in html", html("li", map[string]string{"link": "https://x/{id}"}), "fields.link"},
		{"not a layout", scrape.Spec{Kind: scrape.HTML, Items: "li", Fields: map[string]string{"link": "a @href"}, TimeFormat: "YYYY-MM-DD HH:mm"}, "time_format"},
		{"unknown kind", scrape.Spec{Kind: "xpath", Items: "//li", Fields: map[string]string{"link": "a"}}, "kind"},
		{"unbalanced path", jsonSpec("data.#(type==1", map[string]string{"link": "url"}), "items"},
		{"unknown modifier", jsonSpec("data|@revers", map[string]string{"link": "url"}), "items"},
		{"trailing dot", jsonSpec("data", map[string]string{"link": "url."}), "fields.link"},
		{"open template", jsonSpec("data", map[string]string{"link": "http://x/?id={infocode"}), "fields.link"},
		{"empty placeholder", jsonSpec("data", map[string]string{"link": "http://x/?id={}"}), "fields.link"},
		{"full text url without placeholder", scrape.Spec{Kind: scrape.JSON, Items: "data", Fields: map[string]string{"link": "url"}, FullTextURL: "http://x/GetNewsText.do"}, "full_text.url"},
		{"full text url on html", scrape.Spec{Kind: scrape.HTML, Items: "li", Fields: map[string]string{"link": "a @href"}, FullTextURL: "http://x/{id}"}, "full_text.url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scrape.Compile(tc.spec)
			var fe *scrape.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a FieldError", err)
			}
			if fe.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", fe.Field, tc.field, err)
			}
		})
	}
	// Every problem is reported, not just the first.
	_, err := scrape.Compile(html("ul >", map[string]string{"link": "a[", "title": "h2 >"}))
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 3 {
		t.Errorf("%d errors, want 3: %v", n, err)
	}
}

// The issue's own example specs compile.
func TestIssueSpecsCompile(t *testing.T) {
	for _, spec := range []scrape.Spec{stcnHTML, companySpec, eastmoneySpec} {
		if _, err := scrape.Compile(spec); err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkParseHTML50(b *testing.B) {
	page := fixture(b, "stcn_yw_50.html")
	s := compile(b, stcnHTML)
	b.SetBytes(int64(len(page)))
	var r *scrape.Result
	for b.Loop() {
		var err error
		if r, err = s.Parse(page, ywURL, shanghai, pollTime); err != nil {
			b.Fatal(err)
		}
	}
	if len(r.Feed.Items) != 50 {
		b.Fatalf("%d items", len(r.Feed.Items))
	}
}

func BenchmarkParseJSON(b *testing.B) {
	body := fixture(b, "eastmoney_list.json")
	s := compile(b, eastmoneySpec)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := s.Parse(body, "http://api.example.cn/", shanghai, pollTime); err != nil {
			b.Fatal(err)
		}
	}
}
