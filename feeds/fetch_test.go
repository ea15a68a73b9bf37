package feeds

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const tinyFeed = `<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title></channel></rss>`

// recorder keeps the headers of the requests a test server received.
type recorder struct {
	mu   sync.Mutex
	reqs []http.Header
}

func (r *recorder) add(h http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, h.Clone())
}

func (r *recorder) last(t *testing.T) http.Header {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reqs) == 0 {
		t.Fatal("the server saw no request")
	}
	return r.reqs[len(r.reqs)-1]
}

func fetch(t *testing.T, f *Fetcher, req Request) (*Response, error) {
	t.Helper()
	if req.Timeout == 0 {
		req.Timeout = 10 * time.Second // never hang the test suite
	}
	return f.Fetch(context.Background(), req)
}

func TestFetchConditional(t *testing.T) {
	const etag, lastMod = `"v1"`, "Wed, 25 Nov 2026 08:00:00 GMT"
	var rec recorder
	var freshValidators atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r.Header)
		if r.Header.Get("If-None-Match") == etag || r.Header.Get("If-Modified-Since") == lastMod {
			if freshValidators.Load() {
				w.Header().Set("ETag", `"v2"`)
				w.Header().Set("Last-Modified", "Thu, 26 Nov 2026 08:00:00 GMT")
			}
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", lastMod)
		fmt.Fprint(w, tinyFeed)
	}))
	defer srv.Close()
	f := NewFetcher("")

	// First poll: no validators to send; the server's are returned.
	resp, err := fetch(t, f, Request{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	h := rec.last(t)
	if h.Get("If-None-Match") != "" || h.Get("If-Modified-Since") != "" {
		t.Errorf("validators sent on a first fetch: %v", h)
	}
	if resp.NotModified || resp.StatusCode != 200 || string(resp.Body) != tinyFeed {
		t.Errorf("first fetch: %+v", resp)
	}
	if resp.ETag != etag || resp.LastModified != lastMod {
		t.Errorf("validators from 200: ETag %q Last-Modified %q", resp.ETag, resp.LastModified)
	}
	if resp.ContentType != "application/rss+xml; charset=utf-8" {
		t.Errorf("content type %q", resp.ContentType)
	}

	// Second poll sends them back and gets a 304 that carries none:
	// the old ones are kept for the next poll.
	resp, err = fetch(t, f, Request{URL: srv.URL, ETag: etag, LastModified: lastMod})
	if err != nil {
		t.Fatal(err)
	}
	h = rec.last(t)
	if h.Get("If-None-Match") != etag || h.Get("If-Modified-Since") != lastMod {
		t.Errorf("conditional headers sent: If-None-Match %q If-Modified-Since %q",
			h.Get("If-None-Match"), h.Get("If-Modified-Since"))
	}
	if !resp.NotModified || resp.StatusCode != http.StatusNotModified || len(resp.Body) != 0 {
		t.Errorf("304: %+v", resp)
	}
	if resp.ETag != etag || resp.LastModified != lastMod {
		t.Errorf("validators after a bare 304: ETag %q Last-Modified %q", resp.ETag, resp.LastModified)
	}

	// Only one validator known: only that one is sent.
	if _, err := fetch(t, f, Request{URL: srv.URL, LastModified: lastMod}); err != nil {
		t.Fatal(err)
	}
	if h = rec.last(t); h.Get("If-None-Match") != "" || h.Get("If-Modified-Since") != lastMod {
		t.Errorf("sent If-None-Match %q If-Modified-Since %q", h.Get("If-None-Match"), h.Get("If-Modified-Since"))
	}

	// A 304 with fresh validators replaces the old ones.
	freshValidators.Store(true)
	resp, err = fetch(t, f, Request{URL: srv.URL, ETag: etag, LastModified: lastMod})
	if err != nil {
		t.Fatal(err)
	}
	if !resp.NotModified || resp.ETag != `"v2"` || resp.LastModified != "Thu, 26 Nov 2026 08:00:00 GMT" {
		t.Errorf("304 with fresh validators: %+v", resp)
	}
}

// A body is read whole up to the cap, and refused past it, whether it is
// small enough for a reused buffer or not (pooledBody).
func TestFetchBodyCap(t *testing.T) {
	for _, size := range []int{2048, pooledBody, pooledBody + 1, 3*pooledBody + 7} {
		body := make([]byte, size)
		x := uint32(size)
		for i := range body {
			x = x*1664525 + 1013904223 // a byte out of place, or a shifted run, shows
			body[i] = 'a' + byte(x>>24)%26
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("chunked") == "" {
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			}
			w.Write(body)
		}))
		f := NewFetcher("")
		for _, q := range []string{"", "?chunked=1"} {
			for _, limit := range []int64{int64(size) / 2, int64(size) - 1} {
				if _, err := fetch(t, f, Request{URL: srv.URL + q, MaxBodySize: limit}); !errors.Is(err, ErrBodyTooLarge) {
					t.Errorf("%q: %d bytes with a %d cap: err = %v, want ErrBodyTooLarge", q, size, limit, err)
				}
			}
			for _, limit := range []int64{int64(size), 0, math.MaxInt64} { // exactly at the cap; 0: no cap; the largest cap
				resp, err := fetch(t, f, Request{URL: srv.URL + q, MaxBodySize: limit})
				if err != nil || !bytes.Equal(resp.Body, body) {
					t.Errorf("%q: %d bytes with a %d cap: err %v, %d bytes read, the same: %v", q, size, limit, err, len(resp.Body), bytes.Equal(resp.Body, body))
				}
			}
		}
		srv.Close()
	}
}

func TestFetchGzip(t *testing.T) {
	small := []byte(strings.Repeat(tinyFeed, 3))
	big := bytes.Repeat([]byte("<item><title>重复</title></item>\n"), 40000) // ~1.3 MB, compresses to a few KB
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	smallGz, bigGz := gz(small), gz(big)
	const limit = 64 << 10
	if len(bigGz) >= limit || len(big) <= limit {
		t.Fatalf("fixture sizes wrong: %d compressed, %d plain", len(bigGz), len(big))
	}
	var sawGzip sync.Map
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			http.Error(w, "gzip only in this test", http.StatusNotAcceptable)
			return
		}
		sawGzip.Store(r.URL.Path, true)
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "application/rss+xml")
		if r.URL.Path == "/big" {
			w.Write(bigGz)
		} else {
			w.Write(smallGz)
		}
	}))
	defer srv.Close()
	f := NewFetcher("")

	resp, err := fetch(t, f, Request{URL: srv.URL + "/small", MaxBodySize: limit})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp.Body, small) {
		t.Errorf("gzip body not decompressed: %.40q", resp.Body)
	}
	// The bomb is small on the wire but large once decompressed: the cap
	// counts what we would have to hold and parse.
	_, err = fetch(t, f, Request{URL: srv.URL + "/big", MaxBodySize: limit})
	if !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("%d compressed / %d decompressed bytes under a %d cap: err = %v, want ErrBodyTooLarge",
			len(bigGz), len(big), limit, err)
	}
	resp, err = fetch(t, f, Request{URL: srv.URL + "/big", MaxBodySize: int64(len(big))})
	if err != nil || !bytes.Equal(resp.Body, big) {
		t.Errorf("big body under a large enough cap: err %v, %d bytes", err, len(resp.Body))
	}
}

func TestFetchHTTPErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		http.Error(w, "<html>nope</html>", code)
	}))
	defer srv.Close()
	f := NewFetcher("")
	for _, code := range []int{404, 410, 403, 500, 503} {
		resp, err := fetch(t, f, Request{URL: srv.URL + "/" + strconv.Itoa(code)})
		var he *HTTPError
		if !errors.As(err, &he) {
			t.Fatalf("%d: err = %v, want *HTTPError", code, err)
		}
		if he.StatusCode != code {
			t.Errorf("HTTPError.StatusCode = %d, want %d", he.StatusCode, code)
		}
		if !strings.Contains(err.Error(), strconv.Itoa(code)) {
			t.Errorf("error %q does not name the status", err)
		}
		if resp == nil || resp.StatusCode != code {
			t.Errorf("%d: response %+v should carry the status", code, resp)
		}
	}
}

func TestFetchRedirects(t *testing.T) {
	// /hop/N redirects to /hop/N-1; /hop/0 serves the feed. /loop loops.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/loop" {
			http.Redirect(w, r, "/loop", http.StatusFound)
			return
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hop/"))
		if n > 0 {
			http.Redirect(w, r, "/hop/"+strconv.Itoa(n-1), http.StatusMovedPermanently)
			return
		}
		fmt.Fprint(w, tinyFeed)
	}))
	defer srv.Close()
	f := NewFetcher("")

	resp, err := fetch(t, f, Request{URL: srv.URL + "/hop/5"})
	if err != nil {
		t.Fatalf("5 redirects: %v", err)
	}
	if resp.URL != srv.URL+"/hop/0" || string(resp.Body) != tinyFeed {
		t.Errorf("after redirects: URL %q body %q", resp.URL, resp.Body)
	}
	for _, path := range []string{"/hop/6", "/loop"} {
		_, err = fetch(t, f, Request{URL: srv.URL + path})
		if err == nil || !strings.Contains(err.Error(), "redirect") {
			t.Errorf("%s: err = %v, want a redirect error", path, err)
		}
	}
}

// stallingServer answers /headers with a partial body and /silent with
// nothing, then blocks until the client gives up (or the test ends).
func stallingServer(t *testing.T) *httptest.Server {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/headers" {
			w.Header().Set("Content-Length", "100000")
			fmt.Fprint(w, tinyFeed[:40])
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	return srv
}

func TestFetchTimeout(t *testing.T) {
	srv := stallingServer(t)
	f := NewFetcher("")
	for _, path := range []string{"/silent", "/headers"} {
		t.Run(path, func(t *testing.T) {
			start := time.Now()
			_, err := f.Fetch(context.Background(), Request{URL: srv.URL + path, Timeout: 200 * time.Millisecond})
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("no error from a stalled server")
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
			}
			if elapsed < 150*time.Millisecond || elapsed > 3*time.Second {
				t.Errorf("gave up after %v, want about 200ms", elapsed)
			}
		})
	}
	// The caller's context also stops a fetch.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := f.Fetch(ctx, Request{URL: srv.URL + "/silent"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled fetch: err = %v", err)
	}
}

// A server that stops sending mid-body is cut after the idle timeout, long
// before the whole-fetch timeout; one that trickles steadily is not.
func TestFetchIdleTimeout(t *testing.T) {
	srv := stallingServer(t)
	f := NewFetcher("")
	start := time.Now()
	_, err := f.Fetch(context.Background(), Request{URL: srv.URL + "/headers", Timeout: 20 * time.Second, IdleTimeout: 200 * time.Millisecond})
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("gave up after %v, want about 200ms (idle), not the 20s timeout", elapsed)
	}
	if !errors.Is(err, ErrIdle) || !strings.Contains(err.Error(), "nothing received for 200ms") {
		t.Errorf("err = %v, want the idle timeout named", err)
	}

	trickle := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(tinyFeed); i += 10 {
			w.Write([]byte(tinyFeed[i:min(i+10, len(tinyFeed))]))
			w.(http.Flusher).Flush()
			time.Sleep(20 * time.Millisecond)
		}
	}))
	defer trickle.Close()
	resp, err := f.Fetch(context.Background(), Request{URL: trickle.URL, Timeout: 20 * time.Second, IdleTimeout: 200 * time.Millisecond})
	if err != nil || string(resp.Body) != tinyFeed {
		t.Errorf("a server sending every 20ms with a 200ms idle timeout: err = %v", err)
	}
}

func TestFetchRequestHeaders(t *testing.T) {
	var rec recorder
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.add(r.Header)
		fmt.Fprint(w, tinyFeed)
	}))
	defer srv.Close()

	if _, err := fetch(t, NewFetcher(""), Request{URL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	h := rec.last(t)
	if ua := h.Get("User-Agent"); !strings.Contains(ua, "feedrelay") || strings.HasPrefix(ua, "Go-http-client") {
		t.Errorf("default User-Agent %q", ua)
	}
	for _, typ := range []string{"application/rss+xml", "application/atom+xml", "application/feed+json"} {
		if !strings.Contains(h.Get("Accept"), typ) {
			t.Errorf("Accept %q lacks %s", h.Get("Accept"), typ)
		}
	}

	if _, err := fetch(t, NewFetcher("relay-of-acme/2.0"), Request{URL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	if ua := rec.last(t).Get("User-Agent"); ua != "relay-of-acme/2.0" {
		t.Errorf("fetcher User-Agent %q", ua)
	}

	_, err := fetch(t, NewFetcher(""), Request{
		URL:       srv.URL,
		UserAgent: "Mozilla/5.0 (per source)",
		Headers:   map[string]string{"Cookie": "session=abc", "X-Api-Key": "k123", "Referer": "https://www.stcn.com/"},
	})
	if err != nil {
		t.Fatal(err)
	}
	h = rec.last(t)
	if ua := h.Get("User-Agent"); ua != "Mozilla/5.0 (per source)" {
		t.Errorf("per-source User-Agent %q", ua)
	}
	for k, v := range map[string]string{"Cookie": "session=abc", "X-Api-Key": "k123", "Referer": "https://www.stcn.com/"} {
		if got := h.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}

func TestFetchFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scraped feed.xml")
	if err := os.WriteFile(path, []byte(tinyFeed), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	fileURL := (&url.URL{Scheme: "file", Path: path}).String()
	f := NewFetcher("")

	resp, err := fetch(t, f, Request{URL: fileURL})
	if err != nil {
		t.Fatal(err)
	}
	if resp.NotModified || string(resp.Body) != tinyFeed || resp.LastModified == "" {
		t.Fatalf("first read: %+v", resp)
	}
	if resp.URL != fileURL {
		t.Errorf("URL %q, want %q", resp.URL, fileURL)
	}

	// Untouched file: the value returned last time means "not modified".
	again, err := fetch(t, f, Request{URL: fileURL, LastModified: resp.LastModified})
	if err != nil {
		t.Fatal(err)
	}
	if !again.NotModified || len(again.Body) != 0 || again.LastModified != resp.LastModified {
		t.Errorf("untouched file: %+v", again)
	}

	// The scraper writes again: the new content comes back.
	newer := []byte(strings.Replace(tinyFeed, "<title>t</title>", "<title>t2</title>", 1))
	if err := os.WriteFile(path, newer, 0o644); err != nil {
		t.Fatal(err)
	}
	later := old.Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	changed, err := fetch(t, f, Request{URL: fileURL, LastModified: resp.LastModified})
	if err != nil {
		t.Fatal(err)
	}
	if changed.NotModified || !bytes.Equal(changed.Body, newer) || changed.LastModified == resp.LastModified {
		t.Errorf("modified file: %+v", changed)
	}

	// The body cap applies to files too, and a missing file is an error.
	if _, err := fetch(t, f, Request{URL: fileURL, MaxBodySize: 10}); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("capped file: err = %v, want ErrBodyTooLarge", err)
	}
	if _, err := fetch(t, f, Request{URL: fileURL + ".missing"}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

// Fetch and Parse together: a GBK feed served with only an HTTP charset.
func TestFetchThenParseGBK(t *testing.T) {
	body := readFixture(t, "stcn_nodecl.xml")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml; charset=GBK")
		w.Write(body)
	}))
	defer srv.Close()
	resp, err := fetch(t, NewFetcher(""), Request{URL: srv.URL + "/rss/yw.xml", MaxBodySize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	feed, err := Parse(resp.Body, resp.ContentType, "", resp.URL, shanghai(t))
	if err != nil {
		t.Fatal(err)
	}
	if feed.Items[0].Title != stcnTitles[0] {
		t.Errorf("title %q", feed.Items[0].Title)
	}
	if l := feed.Items[0].Link; l != srv.URL+"/article/detail/1000001.html" {
		t.Errorf("relative link resolved to %q, want it against the fetched URL", l)
	}
}
