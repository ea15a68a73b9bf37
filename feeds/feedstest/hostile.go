// Package feedstest serves misbehaving sources for tests: every way the real
// web breaks a feed fetcher, on a local test server.
package feedstest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// Hostile is one misbehaving source and what polling it must say.
type Hostile struct {
	Slug    string
	Handler http.HandlerFunc
	Want    string // a substring of the poll summary
	Items   int    // how many items must be stored
}

// RSS is an RSS 2.0 feed of n items whose titles end with extra.
func RSS(n int, extra string) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>大量</title><link>https://example.org/</link>`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `<item><guid>id-%d</guid><title>第%d条 %s</title><link>https://example.org/a/%d</link><description>&lt;p&gt;正文 %d&lt;/p&gt;</description></item>`, i, i, extra, i, i)
	}
	b.WriteString(`</channel></rss>`)
	return b.Bytes()
}

// HostileSources is every kind of misbehaving source fetching must survive
// (issue 3's table): each handler serves one on a test server.
func HostileSources() []Hostile {
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zero := make([]byte, 1<<20)
	for i := 0; i < 256; i++ { // 256 MB of zeros, about 256 KB compressed
		zw.Write(zero)
	}
	zw.Close()
	big := RSS(20000, "")
	return []Hostile{
		{"slowloris", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<"))
			for {
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(time.Second):
					w.Write([]byte("r"))
				}
			}
		}, "timed out", 0},
		{"huge", func(w http.ResponseWriter, r *http.Request) {
			chunk := bytes.Repeat([]byte("<rss>"), 1<<16)
			for sent := 0; sent < 260<<20 && r.Context().Err() == nil; sent += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, "body too large", 0},
		{"gzipbomb", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Type", "application/rss+xml")
			w.Write(bomb.Bytes())
		}, "body too large", 0},
		{"loop", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
		}, "redirect loop", 0},
		{"notfound", http.NotFound, "HTTP 404 Not Found", 0},
		{"gone", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "gone", http.StatusGone)
		}, "HTTP 410 Gone", 0},
		{"ratelimited", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "3600")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		}, "HTTP 429 Too Many Requests", 0},
		{"htmlpage", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<!doctype html><html><head><link rel="alternate" type="application/atom+xml" href="/feed.atom"></head><body>首页</body></html>`))
		}, "not a feed (text/html); the page advertises a feed at http://", 0},
		{"jsonerror", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"error":"rate limited"}`))
		}, "not a feed", 0},
		{"truncated", func(w http.ResponseWriter, r *http.Request) {
			w.Write(RSS(3, "")[:300])
		}, "parse:", 0},
		{"empty", func(w http.ResponseWriter, r *http.Request) {}, "empty body", 0},
		{"laughs", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">` +
				`<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">` +
				`<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>` +
				`<rss version="2.0"><channel><title>&f;</title><item><guid>1</guid><title>&f;</title></item></channel></rss>`))
		}, "new 1,", 1},
		{"badutf8", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
			w.Write(bytes.Replace(RSS(5, "坏字节"), []byte("第2条"), []byte("第2\xff\xfe条"), 1))
		}, "new 5,", 5},
		{"twentythousand", func(w http.ResponseWriter, r *http.Request) {
			w.Write(big)
		}, "new 20000,", 20000},
	}
}

// Good is the well-behaved source beside the hostile ones: a small feed
// with an ETag, answered 304 when the poller sends it back. It counts the
// requests it serves in polls.
func Good(polls *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		polls.Add(1)
		w.Header().Set("ETag", `"good"`)
		if r.Header.Get("If-None-Match") == `"good"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write(RSS(2, "好"))
	}
}
