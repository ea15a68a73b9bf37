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
	"github.com/feedrelay/feedrelay/storage"
)

// A site that answers its article pages with 429 and Retry-After gets the
// few fetches already in flight, not one per new item: the others wait,
// pending, until the time it gave (a new item of the next poll too), and
// are fetched once it has passed; those it refused wait their backoff as
// any failed fetch does.
func TestArticles_RetryAfterHoldsTheHost(t *testing.T) {
	var (
		mu      sync.Mutex
		items   = 10
		limited = true
		asked   int
	)
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	defer ts.Close()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n := items
		mu.Unlock()
		var b strings.Builder
		fmt.Fprintf(&b, `<rss version="2.0"><channel><title>快讯</title><link>%s/</link>`, ts.URL)
		for k := range n {
			fmt.Fprintf(&b, `<item><title>快讯 %d</title><link>%s/a/%d</link><guid>g%d</guid><description>摘要</description></item>`, k, ts.URL, k, k)
		}
		w.Write([]byte(b.String() + `</channel></rss>`))
	})
	mux.HandleFunc("/a/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked++
		l := limited
		mu.Unlock()
		if l {
			w.Header().Set("Retry-After", "3")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		fmt.Fprintf(w, `<html><body><div class="body"><p>全文 %s</p></div></body></html>`, r.URL.Path)
	})
	askedNow := func() int { mu.Lock(); defer mu.Unlock(); return asked }
	fullText, err := article.Compile(article.Spec{Selector: ".body"})
	if err != nil {
		t.Fatal(err)
	}
	p, db := newPoller(t, "kx")
	src := feeds.Source{Slug: "kx", Name: "快讯", URL: ts.URL + "/feed.xml", Timeout: 5 * time.Second,
		MaxBodySize: 1 << 20, Article: fullText, AllowPrivateNetworks: true}
	ctx := context.Background()
	poll := func() *feeds.Result {
		t.Helper()
		r := p.Poll(ctx, src)
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		return r
	}

	r := poll()
	refused := askedNow()
	if n := refused; n > feeds.ArticleConcurrency {
		t.Errorf("the site that answered 429 was asked for %d articles in one poll, want at most the %d in flight", n, feeds.ArticleConcurrency)
	}
	if a := r.Articles; a.Failed != refused || a.Held != items-refused || !strings.Contains(a.Err, "429") {
		t.Errorf("articles of the first poll: %+v, want %d failed (the 429s), the other %d held", a, refused, items-refused)
	}
	st, err := db.Sources(ctx)
	if err != nil || len(st) != 1 || st[0].ArticleErrors != refused || !strings.Contains(st[0].ArticleError, "429") {
		t.Errorf("the source's full-text warning: %+v (%v), want the %d refused fetches and their 429", st, err, refused)
	}
	if due, err := db.DueArticles(ctx, "kx", time.Now(), 100); err != nil || len(due) != 0 {
		t.Errorf("%d articles due before the site's Retry-After (%v), want none", len(due), err)
	}

	// A new item before that time: not asked for either.
	before := askedNow()
	mu.Lock()
	items++
	mu.Unlock()
	poll()
	if n := askedNow() - before; n != 0 {
		t.Errorf("a poll within the site's Retry-After asked it for %d articles, want none", n)
	}

	time.Sleep(3100 * time.Millisecond) // past the site's Retry-After
	mu.Lock()
	limited = false
	mu.Unlock()
	before = askedNow()
	r = poll()
	if n, want := askedNow()-before, items-refused; n != want || r.Articles.OK != want {
		t.Errorf("after the site's time: %d articles asked for, %+v; want the %d not asked before fetched", n, r.Articles, want)
	}
	es, err := db.Entries(ctx, storage.EntryQuery{Sources: []string{"kx"}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	withArticle := 0
	for _, e := range es {
		if strings.Contains(e.Content, "全文") {
			withArticle++
		}
	}
	if withArticle != items-refused {
		t.Errorf("%d of %d entries hold their article, want %d", withArticle, len(es), items-refused)
	}
	due, err := db.DueArticles(ctx, "kx", time.Now().Add(feeds.ArticleRetryBase+time.Minute), 100)
	if err != nil || len(due) != refused {
		t.Errorf("%d articles due after the backoff (%v), want the %d refused", len(due), err, refused)
	}
}

// A Retry-After far away (30 days) holds the site's articles no longer than
// a feed poll would wait: MaxBackoff.
func TestArticles_RetryAfterCapped(t *testing.T) {
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	defer ts.Close()
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		for k := range 6 {
			fmt.Fprintf(&b, `<item><title>快讯 %d</title><link>%s/a/%d</link><guid>g%d</guid></item>`, k, ts.URL, k, k)
		}
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>快讯</title><link>%s/</link>%s</channel></rss>`, ts.URL, b.String())
	})
	mux.HandleFunc("/a/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "2592000")
		http.Error(w, "come back next month", http.StatusServiceUnavailable)
	})
	fullText, err := article.Compile(article.Spec{Selector: ".body"})
	if err != nil {
		t.Fatal(err)
	}
	p, db := newPoller(t, "kx")
	ctx := context.Background()
	polled := time.Now()
	if r := p.Poll(ctx, feeds.Source{Slug: "kx", URL: ts.URL + "/feed.xml", Timeout: 5 * time.Second, MaxBodySize: 1 << 20,
		Article: fullText, AllowPrivateNetworks: true}); r.Err != nil || r.Articles.Failed+r.Articles.Held != 6 {
		t.Fatalf("poll: %v, articles %+v", r.Err, r.Articles)
	}
	for _, c := range []struct {
		at   time.Time
		want int
	}{{polled.Add(feeds.MaxBackoff - time.Hour), 0}, {polled.Add(feeds.MaxBackoff + time.Minute), 6}} {
		if due, err := db.DueArticles(ctx, "kx", c.at, 100); err != nil || len(due) != c.want {
			t.Errorf("%d articles due %v after the poll (%v), want %d", len(due), c.at.Sub(polled).Round(time.Minute), err, c.want)
		}
	}
}
