package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing, so that a benchmark
// measures the handler and not a recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkCachedFeed is the path of almost every request: a feed's first
// page from the render cache, gzip, as readers ask for it (go test -bench
// CachedFeed -benchmem ./server: allocations per request).
func BenchmarkCachedFeed(b *testing.B) {
	srv, _ := newTestServer(b)
	req := httptest.NewRequest(http.MethodGet, "/feeds/markets.atom", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")
	w := &discardWriter{h: http.Header{}}
	srv.ServeHTTP(w, req)
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		srv.ServeHTTP(w, req)
	}
}
