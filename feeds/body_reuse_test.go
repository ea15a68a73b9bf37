package feeds_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/feeds/article"
	"github.com/feedrelay/feedrelay/feeds/scrape"
)

// keepStore is a store that also keeps every feed saved, and what it read
// as when saved.
type keepStore struct {
	feeds.Store
	saved map[string]*feeds.Feed
	read  map[string]string // the feed in JSON, which follows its pointers
}

func (s *keepStore) Save(ctx context.Context, r *feeds.Result) (feeds.Saved, error) {
	s.saved[r.Source], s.read[r.Source] = r.Feed, asJSON(r.Feed)
	return s.Store.Save(ctx, r)
}

func asJSON(f *feeds.Feed) string {
	b, err := json.Marshal(f)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// A fetched body is read into a buffer that later fetches reuse once it is
// parsed (and an article page once its text is taken out). Nothing a poll
// hands on to be stored may still point into it: every source polled
// earlier must read, every field of it, as it did when it was saved, after
// many more fetches, in every format, for scraped pages and full text.
func TestPoll_ItemsOutliveTheirBody(t *testing.T) {
	item := func(i, k int) (title, text string) {
		return fmt.Sprintf("源%d 第%d条 标题", i, k), fmt.Sprintf("源%d 第%d条 正文：两市成交额 %d 亿", i, k, 1000*i+k)
	}
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	defer ts.Close()
	fullText, err := article.Compile(article.Spec{Selector: ".body"})
	if err != nil {
		t.Fatal(err)
	}
	formats := []struct {
		name, contentType string
		body              func(i int) string
		scraper           *scrape.Scraper
		article           *article.Extractor
	}{
		{name: "rss", contentType: "application/rss+xml", body: func(i int) string {
			var b strings.Builder
			b.WriteString(`<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>RSS</title><link>http://example.cn/</link>`)
			for k := range 3 {
				title, text := item(i, k)
				fmt.Fprintf(&b, `<item><title>%s</title><link>http://example.cn/%d/%d</link><description><![CDATA[<p>%s</p>]]></description></item>`, title, i, k, text)
			}
			return b.String() + `</channel></rss>`
		}},
		{name: "atom", contentType: "application/atom+xml", body: func(i int) string {
			var b strings.Builder
			b.WriteString(`<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom</title><id>urn:x</id><updated>2026-12-01T00:00:00Z</updated>`)
			for k := range 3 {
				title, text := item(i, k)
				fmt.Fprintf(&b, `<entry><title>%s</title><id>urn:%d:%d</id><link href="http://example.cn/%d/%d"/><updated>2026-12-01T00:00:00Z</updated><content type="html">&lt;p&gt;%s&lt;/p&gt;</content></entry>`, title, i, k, i, k, text)
			}
			return b.String() + `</feed>`
		}},
		{name: "json", contentType: "application/feed+json", body: func(i int) string {
			var items []string
			for k := range 3 {
				title, text := item(i, k)
				items = append(items, fmt.Sprintf(`{"id":"%d-%d","url":"http://example.cn/%d/%d","title":"%s","content_html":"<p>%s</p>"}`, i, k, i, k, title, text))
			}
			return `{"version":"https://jsonfeed.org/version/1.1","title":"JSON","items":[` + strings.Join(items, ",") + `]}`
		}},
		{name: "html", contentType: "text/html; charset=utf-8", scraper: mustScraper(t, scrape.Spec{Kind: scrape.HTML, Items: "li",
			Fields: map[string]string{"title": "a", "link": "a @href", "content": "p"}}),
			body: func(i int) string {
				var b strings.Builder
				b.WriteString(`<html><head><title>HTML</title></head><body><ul>`)
				for k := range 3 {
					title, text := item(i, k)
					fmt.Fprintf(&b, `<li><a href="/%d/%d">%s</a><p>%s</p></li>`, i, k, title, text)
				}
				return b.String() + `</ul></body></html>`
			}},
		{name: "rss with full text", contentType: "application/rss+xml", article: fullText, body: func(i int) string {
			var b strings.Builder
			b.WriteString(`<rss version="2.0"><channel><title>RSS</title><link>` + ts.URL + `/</link>`)
			for k := range 3 {
				title, text := item(i, k)
				fmt.Fprintf(&b, `<item><title>%s</title><link>%s/article/%d/%d</link><description>摘要</description></item>`, title, ts.URL, i, k)
				page := fmt.Sprintf(`<html><body><div class="nav">导航</div><div class="body"><p>%s</p></div></body></html>`, text)
				mux.HandleFunc(fmt.Sprintf("/article/%d/%d", i, k), func(w http.ResponseWriter, _ *http.Request) {
					w.Header().Set("Content-Type", "text/html; charset=utf-8")
					w.Write([]byte(page))
				})
			}
			return b.String() + `</channel></rss>`
		}},
		{name: "json api", contentType: "application/json", scraper: mustScraper(t, scrape.Spec{Kind: scrape.JSON, Items: "list",
			Fields: map[string]string{"title": "t", "guid": "id", "link": "http://example.cn/{id}", "content": "c"}}),
			body: func(i int) string {
				var items []string
				for k := range 3 {
					title, text := item(i, k)
					items = append(items, fmt.Sprintf(`{"id":"%d-%d","t":"%s","c":"%s"}`, i, k, title, text))
				}
				return `{"list":[` + strings.Join(items, ",") + `]}`
			}},
	}
	const perFormat = 8
	for f, format := range formats {
		for j := range perFormat {
			i := f*perFormat + j
			body := format.body(i)
			mux.HandleFunc(fmt.Sprintf("/%d", i), func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", format.contentType)
				w.Write([]byte(body))
			})
		}
	}
	var slugs []string
	for i := range len(formats) * perFormat {
		slugs = append(slugs, fmt.Sprint(i))
	}
	p, db := newPoller(t, slugs...)
	store := &keepStore{Store: db, saved: map[string]*feeds.Feed{}, read: map[string]string{}}
	p.Store = store
	for f, format := range formats {
		for j := range perFormat {
			i := f*perFormat + j
			src := feeds.Source{Slug: fmt.Sprint(i), Name: format.name, URL: fmt.Sprintf("%s/%d", ts.URL, i),
				Timeout: 5 * time.Second, MaxBodySize: 1 << 20, Scraper: format.scraper, Article: format.article,
				AllowPrivateNetworks: true}
			if r := p.Poll(context.Background(), src); r.Err != nil {
				t.Fatalf("%s source %d: %v", format.name, i, r.Err)
			}
		}
	}
	for f, format := range formats {
		for j := range perFormat {
			i := f*perFormat + j
			feed := store.saved[fmt.Sprint(i)]
			if feed == nil || len(feed.Items) != 3 {
				t.Fatalf("%s source %d: saved %+v", format.name, i, feed)
			}
			if now, then := asJSON(feed), store.read[fmt.Sprint(i)]; now != then {
				t.Errorf("%s source %d changed after later fetches:\nsaved %s\nnow   %s", format.name, i, then, now)
			}
			for k, it := range feed.Items {
				title, text := item(i, k)
				if it.Title != title || !strings.Contains(it.Content, text) {
					t.Errorf("%s source %d item %d reads %q / %q after later fetches, want %q / %q",
						format.name, i, k, it.Title, it.Content, title, text)
				}
			}
		}
	}
}

func mustScraper(t *testing.T, spec scrape.Spec) *scrape.Scraper {
	t.Helper()
	s, err := scrape.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
