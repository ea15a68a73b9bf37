// mkfixture writes a database with feedrelay at dc89dda: sources "blog"
// (a GB2312 feed of 16 guid-less posts on 3 archive pages, one #anchor per
// post) and "stcn" (a guid, an absolute-IRI guid, a link, a bare item).
package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/storage"
)

func main() {
	dir, out := os.Args[1], os.Args[2]
	ts := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer ts.Close()
	ctx := context.Background()
	db, err := storage.Open(ctx, out)
	if err != nil {
		panic(err)
	}
	clock := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	db.Now = func() time.Time { return clock }
	db.TagAuthority = "relay.example.org"
	if err := db.SyncSources(ctx, []storage.SourceInfo{
		{Slug: "blog", Name: "老股民的博客", URL: ts.URL + "/blog.rss"},
		{Slug: "stcn", Name: "证券时报网", URL: ts.URL + "/news.rss"},
	}); err != nil {
		panic(err)
	}
	p := &feeds.Poller{Fetcher: feeds.NewFetcher(""), Store: db, Now: func() time.Time { return clock }}
	for _, s := range []string{"blog", "stcn"} {
		file := map[string]string{"blog": "/blog.rss", "stcn": "/news.rss"}[s]
		r := p.Poll(ctx, feeds.Source{Slug: s, URL: ts.URL + file, Timeout: 5 * time.Second})
		fmt.Println(s, r.Summary())
		if r.Err != nil {
			panic(r.Err)
		}
	}
	if _, err := db.IndexAll(ctx); err != nil {
		panic(err)
	}
	if err := db.Close(); err != nil {
		panic(err)
	}
}
