package scrape_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/feedrelay/feedrelay/feeds/scrape"
)

// rollSpec reads roll_jslinks.html as its editor first would: the link
// from each <a>'s href, three of which are javascript:void(0).
var rollSpec = scrape.Spec{
	Kind:  scrape.HTML,
	Items: "ul.roll-list > li",
	Fields: map[string]string{
		"title":     ".tt a",
		"link":      ".tt a @href",
		"published": ".time",
	},
}

const rollURL = "https://www.stcn.com/roll/index.html"

// A javascript:void(0) link is no link: kept, it was the item's identity,
// and the next story behind the same javascript:void(0) overwrote it. The
// item is skipped (it has no guid), and the page says why, and where the
// URL probably is.
func TestHTMLJavascriptLinks(t *testing.T) {
	r, err := compile(t, rollSpec).Parse(fixture(t, "roll_jslinks.html"), rollURL, shanghai, pollTime)
	if err != nil {
		t.Fatal(err)
	}
	if r.Matched != 9 || r.Skipped != 3 || len(r.Feed.Items) != 6 {
		t.Fatalf("matched %d, skipped %d, items %d; want 9, 3 (the javascript: links), 6", r.Matched, r.Skipped, len(r.Feed.Items))
	}
	for _, it := range r.Feed.Items {
		if !strings.HasPrefix(it.Link, "https://www.stcn.com/article/") {
			t.Errorf("item %q has link %q", it.Title, it.Link)
		}
	}
	want := []string{`fields.link gave "javascript:void(0)" for 3 items: not a web address; the URL may be in another attribute, e.g. @data-url`}
	if !reflect.DeepEqual(r.Warnings, want) {
		t.Errorf("warnings\n got %q\nwant %q", r.Warnings, want)
	}

	// With a guid, such an item is kept, known by its guid, without a
	// link; the warning stays.
	spec := rollSpec
	spec.Fields = map[string]string{"title": ".tt a", "link": ".tt a @href", "guid": "@data-id"}
	r, err = compile(t, spec).Parse(fixture(t, "roll_jslinks.html"), rollURL, shanghai, pollTime)
	if err != nil {
		t.Fatal(err)
	}
	if r.Skipped != 0 || len(r.Feed.Items) != 9 {
		t.Fatalf("with a guid: skipped %d, items %d; want 0, 9", r.Skipped, len(r.Feed.Items))
	}
	if it := r.Feed.Items[1]; it.GUID != "roll-1008" || it.Link != "" {
		t.Errorf("javascript: item with a guid: guid %q, link %q; want roll-1008 and no link", it.GUID, it.Link)
	}
	if !reflect.DeepEqual(r.Warnings, want) {
		t.Errorf("with a guid: warnings %q, want %q", r.Warnings, want)
	}

	// Following the hint reads every item, and warns of nothing.
	spec.Fields = map[string]string{"title": ".tt a", "link": ".tt a @data-url", "published": ".time"}
	r, err = compile(t, spec).Parse(fixture(t, "roll_jslinks.html"), rollURL, shanghai, pollTime)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Feed.Items) != 9 || r.Feed.Items[1].Link != "https://www.stcn.com/article/1008.html" || len(r.Warnings) != 0 {
		t.Errorf("@data-url: %d items, second link %q, warnings %q", len(r.Feed.Items), r.Feed.Items[1].Link, r.Warnings)
	}
}

// Every scheme that is not http(s) is no link, however the page writes
// it, and so is an http URL without a host; relative links on a page
// without a web address (read from disk) stay as they were.
func TestNonWebLinks(t *testing.T) {
	for _, tc := range []struct {
		href, pageURL string
		kept          bool
	}{
		{"javascript:void(0)", rollURL, false},
		{"JavaScript:openArticle(3)", rollURL, false},
		{"  javascript:;", rollURL, false},
		{"data:text/html,<b>x</b>", rollURL, false},
		{"vbscript:msgbox(1)", rollURL, false},
		{"about:blank", rollURL, false},
		{"mailto:editor@stcn.com", rollURL, false},
		{"file:///etc/passwd", rollURL, false},
		{"http:///article/1.html", rollURL, false},
		{"javascript:void(0)", "file:///srv/pages/roll.html", false},
		{"/article/2.html", rollURL, true},
		{"//m.stcn.com/article/2.html", rollURL, true},
		{"HTTPS://www.stcn.com/article/2.html", rollURL, true},
		{"/article/2.html", "file:///srv/pages/roll.html", true},
	} {
		page := []byte(`<ul class="roll-list"><li><div class="tt"><a href="/article/1.html">一</a></div></li>` +
			`<li><div class="tt"><a href="` + tc.href + `">二</a></div></li></ul>`)
		r, err := compile(t, rollSpec).Parse(page, tc.pageURL, shanghai, pollTime)
		if err != nil {
			t.Fatalf("%q on %s: %v", tc.href, tc.pageURL, err)
		}
		if kept := len(r.Feed.Items) == 2; kept != tc.kept {
			t.Errorf("%q on %s: kept %v, want %v (items %d, skipped %d)", tc.href, tc.pageURL, kept, tc.kept, len(r.Feed.Items), r.Skipped)
		}
		warned := strings.Contains(strings.Join(r.Warnings, "\n"), "not a web address")
		if warned == tc.kept {
			t.Errorf("%q on %s: warnings %q", tc.href, tc.pageURL, r.Warnings)
		}
	}
}

// When every item's link is javascript:, the page is an error, and the
// error says why.
func TestEveryLinkJavascript(t *testing.T) {
	page := []byte(`<ul class="roll-list"><li><div class="tt"><a href="javascript:void(0)" data-href="/a/1.html">一</a></div></li>` +
		`<li><div class="tt"><a href="javascript:void(0)" data-href="/a/2.html">二</a></div></li></ul>`)
	_, err := compile(t, rollSpec).Parse(page, rollURL, shanghai, pollTime)
	if err == nil || !strings.Contains(err.Error(), "all 2 items have neither guid nor link") ||
		!strings.Contains(err.Error(), `fields.link gave "javascript:void(0)" for 2 items: not a web address; the URL may be in another attribute, e.g. @data-href`) {
		t.Fatalf("err = %v", err)
	}
}

// A JSON link that is no web address is no link either; the hint is a
// JSON one.
func TestJSONJavascriptLink(t *testing.T) {
	spec := scrape.Spec{Kind: scrape.JSON, Items: "data", Fields: map[string]string{"title": "title", "link": "url"}}
	body := []byte(`{"data":[{"title":"一","url":"/a/1.html"},{"title":"二","url":"javascript:void(0)"}]}`)
	r, err := compile(t, spec).Parse(body, "https://api.example.cn/list", shanghai, pollTime)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`fields.link gave "javascript:void(0)" for 1 item: not a web address; the URL may be in another field, or built from the item's id with a template ("https://…/{id}.html")`}
	if r.Skipped != 1 || len(r.Feed.Items) != 1 || !reflect.DeepEqual(r.Warnings, want) {
		t.Errorf("skipped %d, items %d, warnings %q; want 1, 1, %q", r.Skipped, len(r.Feed.Items), r.Warnings, want)
	}
}

// After a redesign the items may still match while a field's selector
// matches nothing in any of them: the page says which fields. A field
// empty in some items only (the third item's summary, the
// advertisement's origin) is no warning.
func TestFieldMatchedNothing(t *testing.T) {
	r, err := compile(t, stcnHTML).Parse(fixture(t, "stcn_yw.html"), ywURL, shanghai, pollTime)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("every field matched somewhere, yet %q", r.Warnings)
	}

	redesigned := stcnHTML
	redesigned.Fields = map[string]string{
		"title":     ".title a",
		"link":      ".tt a @href",
		"published": ".date",
		"summary":   ".txt",
		"origin":    ".info .source",
	}
	r, err = compile(t, redesigned).Parse(fixture(t, "stcn_yw.html"), ywURL, shanghai, pollTime)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fields.title, fields.published, fields.summary matched nothing in any of 6 items"}
	if !reflect.DeepEqual(r.Warnings, want) {
		t.Errorf("html warnings\n got %q\nwant %q", r.Warnings, want)
	}

	r, err = compile(t, eastmoneySpec).Parse(fixture(t, "eastmoney_list.json"), "http://api.example.cn/", shanghai, pollTime)
	if err != nil || len(r.Warnings) != 0 {
		t.Fatalf("eastmoney: %v, warnings %q", err, r.Warnings)
	}
	renamed := eastmoneySpec
	renamed.Fields = map[string]string{"title": "Title", "guid": "infocode", "published": "show_time", "origin": "from"}
	renamed.FullTextURL = "http://finance.example.cn/GetNewsText.do?id={info_code}"
	r, err = compile(t, renamed).Parse(fixture(t, "eastmoney_list.json"), "http://api.example.cn/", shanghai, pollTime)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"fields.title, fields.published, full_text.url matched nothing in any of 4 items"}
	if !reflect.DeepEqual(r.Warnings, want) {
		t.Errorf("json warnings\n got %q\nwant %q", r.Warnings, want)
	}
}

// An API's text fields have their character references read once; its
// summary and content are HTML, left for the sanitizer.
func TestJSONTextEntities(t *testing.T) {
	spec := eastmoneySpec
	spec.Fields = map[string]string{"title": "title", "guid": "infocode", "origin": "from", "summary": "digest",
		"author": "from", "categories": "from"}
	r, err := compile(t, spec).Parse(fixture(t, "eastmoney_entities.json"), "http://api.example.cn/", shanghai, pollTime)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct{ title, origin, summary string }{
		{"东方财富：沪指\u00a0震荡上行", "证券时报网", "<p>沪指&nbsp;震荡上行，成交&amp;换手放大。</p>"},
		{`"十五五"规划建议解读：A&H股联动`, "中国证券报·中证网", ""},
		{"写作&lt;b&gt;的标题", "东方财富网", ""}, // read once, not twice
	} {
		it := r.Feed.Items[i]
		if it.Title != want.title || it.Custom[scrape.CustomOrigin] != want.origin || it.Description != want.summary {
			t.Errorf("item %d: title %q, origin %q, summary %q; want %q, %q, %q", i,
				it.Title, it.Custom[scrape.CustomOrigin], it.Description, want.title, want.origin, want.summary)
		}
		if len(it.Authors) != 1 || it.Authors[0].Name != want.origin || len(it.Categories) != 1 || it.Categories[0] != want.origin {
			t.Errorf("item %d: authors %d, categories %q; want %q for both", i, len(it.Authors), it.Categories, want.origin)
		}
	}
}
