package server

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"testing"
)

// A crawler walking many archive pages must not push out the hot first page
// of a feed: past the memory bound, the least recently served pages go.
func TestRenderCache_EvictsLeastRecentlyUsed(t *testing.T) {
	c := renderCache{limit: 1 << 20}
	const page = 32 << 10
	opts := &Options{}
	renders := map[string]int{}
	get := func(key string) {
		t.Helper()
		_, err := c.get(context.Background(), key, 1, opts, key != "/feeds/hot.atom?", "192.0.2.1", func() (*rendered, error) {
			renders[key]++
			return &rendered{plain: representation{body: bytes.Repeat([]byte(key), page/len(key))}}, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	get("/feeds/hot.atom?")
	for i := range 3 * c.limit / page {
		get(fmt.Sprintf("/feeds/hot.atom?before=%d.1", i))
		get("/feeds/hot.atom?") // served again and again while the crawl goes on
	}
	if n := renders["/feeds/hot.atom?"]; n != 1 {
		t.Errorf("the hot page was rendered %d times, want once", n)
	}
	if c.bytes > c.limit {
		t.Errorf("cache holds %d bytes, bound is %d", c.bytes, c.limit)
	}
	get("/feeds/hot.atom?before=0.1") // the oldest archive page was evicted
	if n := renders["/feeds/hot.atom?before=0.1"]; n != 2 {
		t.Errorf("the first archive page was rendered %d times, want 2 (evicted, then rendered again)", n)
	}
}

// Pages are compressed at each level the cache uses, by reused writers:
// every body comes back whole.
func TestCompress_EveryLevel(t *testing.T) {
	body := bytes.Repeat([]byte("<entry>证券时报网 A股三大指数集体高开</entry>\n"), 500)
	for _, level := range []int{gzip.DefaultCompression, gzip.BestCompression, gzip.BestSpeed} {
		for range 2 { // a new writer, then one from the pool
			zr, err := gzip.NewReader(bytes.NewReader(compress(body, level)))
			if err != nil {
				t.Fatalf("level %d: %v", level, err)
			}
			got, err := io.ReadAll(zr)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("level %d: %d bytes back (%v), want the %d compressed", level, len(got), err, len(body))
			}
		}
	}
}
