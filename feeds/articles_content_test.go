package feeds_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/feeds/article"
	"github.com/feedrelay/feedrelay/feeds/scrape"
	"github.com/feedrelay/feedrelay/storage"
)

// placeholder is the 1×1 transparent GIF lazy-loading pages put in src.
const placeholder = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"

// A list page and its article pages in the shapes of Chinese news sites
// (证券时报网's 要闻 list, a detail page whose article is a run of <p>
// under .detail-content, an editor's line among them, a <base href> to
// its static folder, lazy-loaded images): what a reader of the stored
// entries gets.
func TestArticles_ChineseNewsPages(t *testing.T) {
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	defer ts.Close()
	serve := func(path, page string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, page)
		})
	}
	serve("/article/list.html", `<!DOCTYPE html><html><head><meta charset="utf-8"><title>要闻_证券时报网</title></head><body>
<ul class="list">
 <li><div class="tt"><a href="/article/detail/1.html">央行开展3000亿元MLF操作</a></div>
  <div class="text"><img src="`+placeholder+`" data-src="/img/list1.png" alt="图">央行公告</div><span class="time">2026-11-26 09:30</span></li>
 <li><div class="tt"><a href="/article/detail/2.html">沪指午后翻红 券商板块走强</a></div>
  <div class="text">券商板块</div><span class="time">2026-11-26 13:10</span></li>
</ul></body></html>`)
	serve("/article/detail/1.html", `<!DOCTYPE html><html><head><meta charset="utf-8"><title>央行开展3000亿元MLF操作</title></head><body>
<div class="main"><h2 class="detail-title">央行开展3000亿元MLF操作</h2>
<div class="detail-content">
<p>中国人民银行11月26日开展了3000亿元中期借贷便利操作。</p>
<p>业内人士分析，本次操作实现了中期流动性的净投放。</p>
<p class="editor">责任编辑：李四</p>
<p>展望后市，市场流动性将维持合理充裕。</p>
</div><div class="share">分享到：微信</div></div></body></html>`)
	serve("/article/detail/2.html", `<!DOCTYPE html><html><head><meta charset="utf-8"><base href="`+ts.URL+`/static/2026/">
<title>沪指午后翻红</title></head><body>
<div class="detail-content">
<p>沪指午后翻红，券商板块集体走强。<img src="pic/b.jpg" alt="走势图"></p>
<p>盘面上，<img src="`+placeholder+`" data-src="/img/chart2.png" alt="分时图"></p>
<p><img src="/img/blank.gif" data-src="/img/a1.jpg" alt="板块"></p>
<p><img data-original="../img/a2.jpg" alt="资金"></p>
<p class="editor">责任编辑：王五</p>
</div></body></html>`)

	list, err := scrape.Compile(scrape.Spec{Kind: scrape.HTML, Items: "ul.list > li", Fields: map[string]string{
		"title": ".tt a", "link": ".tt a @href", "published": ".time", "summary": ".text"}})
	if err != nil {
		t.Fatal(err)
	}
	fullText, err := article.Compile(article.Spec{Selector: ".detail-content > p", Remove: []string{".editor"}})
	if err != nil {
		t.Fatal(err)
	}
	p, db := newPoller(t, "stcn")
	src := feeds.Source{Slug: "stcn", Name: "证券时报网", URL: ts.URL + "/article/list.html", Timeout: 5 * time.Second,
		MaxBodySize: 1 << 20, Scraper: list, Article: fullText, AllowPrivateNetworks: true}
	ctx := context.Background()
	if r := p.Poll(ctx, src); r.Err != nil || r.Articles.OK != 2 {
		t.Fatalf("poll: %v, articles %+v", r.Err, r.Articles)
	}
	entries := storedEntries(t, db, "stcn")

	// Several matches are the article's paragraphs, each one its own.
	mlf := entries[ts.URL+"/article/detail/1.html"]
	for _, want := range []string{
		"<p>中国人民银行11月26日开展了3000亿元中期借贷便利操作。</p>",
		"<p>业内人士分析，本次操作实现了中期流动性的净投放。</p>",
		"<p>展望后市，市场流动性将维持合理充裕。</p>",
	} {
		if !strings.Contains(mlf.Content, want) {
			t.Errorf("the article lost its paragraph %q:\n%s", want, mlf.Content)
		}
	}
	// remove takes out an element the selector matches.
	if strings.Contains(mlf.Content, "责任编辑") {
		t.Errorf("remove: [.editor] kept the editor's line:\n%s", mlf.Content)
	}
	// A scraped summary's lazy image is shown, not its placeholder.
	if want := `<img src="` + ts.URL + `/img/list1.png" alt="图"`; !strings.Contains(mlf.Summary, want) {
		t.Errorf("the list's summary lost its lazy image %s:\n%s", want, mlf.Summary)
	}

	market := entries[ts.URL+"/article/detail/2.html"].Content
	for _, want := range []string{
		`src="` + ts.URL + `/static/2026/pic/b.jpg"`, // against <base href>
		`src="` + ts.URL + `/img/chart2.png"`,        // data: placeholder
		`src="` + ts.URL + `/img/a1.jpg"`,            // blank.gif placeholder
		`src="` + ts.URL + `/static/img/a2.jpg"`,     // no src; relative to <base href>
	} {
		if !strings.Contains(market, want) {
			t.Errorf("the article lacks the image %s:\n%s", want, market)
		}
	}
	for _, gone := range []string{"/article/detail/pic/", "blank.gif", "data:", "责任编辑"} {
		if strings.Contains(market, gone) {
			t.Errorf("the article keeps %q:\n%s", gone, market)
		}
	}
}

// A WordPress feed whose lazy-load plugin left data-lazy-src in the
// content, and its posts' pages read by readability: their lazy images
// (a relative data-original readability cannot parse, a data-actualsrc)
// reach the reader.
func TestArticles_LazyImagesFeedAndReadability(t *testing.T) {
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	defer ts.Close()
	mux.HandleFunc("/feed/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>博客</title><link>%[1]s/</link>
<item><title>十一月复盘</title><link>%[1]s/2026/11/review/</link><guid>p1</guid>
<description><![CDATA[<p>复盘<img src="%[2]s" data-lazy-src="%[1]s/wp-content/uploads/k.png" alt="K线"></p>]]></description></item>
</channel></rss>`, ts.URL, placeholder)
	})
	var para strings.Builder
	for range 6 {
		para.WriteString("<p>十一月A股震荡上行，成交额维持在万亿元以上，北向资金连续多日净流入，券商、银行与半导体板块轮动明显，市场情绪逐步修复。</p>\n")
	}
	mux.HandleFunc("/2026/11/review/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `<!DOCTYPE html><html><head><meta charset="utf-8"><title>十一月复盘</title></head><body>
<div class="nav"><a href="/">首页</a></div>
<article class="post"><h1>十一月复盘</h1>
%s<p><img data-original="../../../img/a2.jpg" alt="资金流向"></p>
<p><img src="%s" data-actualsrc="/img/zhihu.jpg" alt="图二"></p>
%s</article><div class="footer">版权所有</div></body></html>`, para.String(), placeholder, para.String())
	})
	fullText, err := article.Compile(article.Spec{})
	if err != nil {
		t.Fatal(err)
	}
	p, db := newPoller(t, "blog")
	src := feeds.Source{Slug: "blog", Name: "博客", URL: ts.URL + "/feed/", Timeout: 5 * time.Second,
		MaxBodySize: 1 << 20, Article: fullText, AllowPrivateNetworks: true}
	if r := p.Poll(context.Background(), src); r.Err != nil || r.Articles.OK != 1 {
		t.Fatalf("poll: %v, articles %+v", r.Err, r.Articles)
	}
	e := storedEntries(t, db, "blog")[ts.URL+"/2026/11/review/"]
	for _, want := range []string{`src="` + ts.URL + `/img/a2.jpg"`, `src="` + ts.URL + `/img/zhihu.jpg"`} {
		if !strings.Contains(e.Content, want) {
			t.Errorf("readability's article lacks the lazy image %s:\n%s", want, e.Content)
		}
	}
	// The feed's own content, now the summary.
	if want := `<img src="` + ts.URL + `/wp-content/uploads/k.png" alt="K线"`; !strings.Contains(e.Summary, want) {
		t.Errorf("the feed's content lost its lazy image %s:\n%s", want, e.Summary)
	}
	if strings.Contains(e.Content+e.Summary, "data:") {
		t.Errorf("a placeholder is kept:\n%s\n%s", e.Content, e.Summary)
	}
}

// An article that answers 404 (or 410) is not asked for again: a retry
// would only get the same answer. A 500 is retried.
func TestArticles_NotFoundNotRetried(t *testing.T) {
	var (
		mu    sync.Mutex
		asked = map[string]int{}
	)
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	defer ts.Close()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, _ *http.Request) {
		var b strings.Builder
		for _, k := range []string{"404", "410", "500"} {
			fmt.Fprintf(&b, `<item><title>快讯 %s</title><link>%s/a/%s</link><guid>g%s</guid><description>摘要</description></item>`, k, ts.URL, k, k)
		}
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>快讯</title><link>%s/</link>%s</channel></rss>`, ts.URL, b.String())
	})
	mux.HandleFunc("/a/", func(w http.ResponseWriter, r *http.Request) {
		code := strings.TrimPrefix(r.URL.Path, "/a/")
		mu.Lock()
		asked[code]++
		mu.Unlock()
		status := map[string]int{"404": http.StatusNotFound, "410": http.StatusGone, "500": http.StatusInternalServerError}[code]
		http.Error(w, http.StatusText(status), status)
	})
	fullText, err := article.Compile(article.Spec{Selector: ".body"})
	if err != nil {
		t.Fatal(err)
	}
	p, db := newPoller(t, "kx")
	src := feeds.Source{Slug: "kx", Name: "快讯", URL: ts.URL + "/feed.xml", Timeout: 5 * time.Second,
		MaxBodySize: 1 << 20, Article: fullText, AllowPrivateNetworks: true}
	ctx := context.Background()
	if r := p.Poll(ctx, src); r.Err != nil || r.Articles.Failed != 3 {
		t.Fatalf("poll: %v, articles %+v", r.Err, r.Articles)
	}
	// Long after every backoff: only the 500 is due again.
	due, err := db.DueArticles(ctx, "kx", time.Now().Add(feeds.MaxBackoff*10), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) != 1 || !strings.HasSuffix(due[0].URL, "/a/500") {
		t.Errorf("articles due for a retry: %+v, want only the one that answered 500", due)
	}
	mu.Lock()
	defer mu.Unlock()
	if asked["404"] != 1 || asked["410"] != 1 {
		t.Errorf("asked %v, want the 404 and 410 articles once each", asked)
	}
}

// storedEntries are the source's stored entries by link.
func storedEntries(t *testing.T, db *storage.DB, slug string) map[string]storage.Entry {
	t.Helper()
	es, err := db.Entries(context.Background(), storage.EntryQuery{Sources: []string{slug}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]storage.Entry{}
	for _, e := range es {
		out[e.Link] = e
	}
	return out
}
