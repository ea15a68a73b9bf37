package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/feedrelay/feedrelay/metrics"
	"github.com/feedrelay/feedrelay/storage"
)

// stallingStore holds the index's query until the client has gone, then
// fails it, as a slow query does whose client hangs up (pages render
// detached from their first request, so the query itself is not canceled:
// gone says when the client has left).
type stallingStore struct {
	Store
	entered, gone, done chan struct{}
}

func (s *stallingStore) Sources(ctx context.Context) ([]storage.SourceState, error) {
	close(s.entered)
	defer close(s.done)
	select {
	case <-ctx.Done():
	case <-s.gone:
	}
	return nil, errors.New("query interrupted")
}

// syncBuffer is a log sink the server's goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// A client that disconnects while its page is being built is not an error
// of ours: no ERROR line (anyone could flood the log), no 500 counted.
func TestClientDisconnect_NotAnError(t *testing.T) {
	base, _ := newTestServer(t)
	store := &stallingStore{Store: base.store, entered: make(chan struct{}), gone: make(chan struct{}), done: make(chan struct{})}
	var logs syncBuffer
	srv := New(store, nil, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})), base.opts.Load())
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, nil)
	served := make(chan context.Context, 1) // the request's context, as the server sees it
	ts := httptest.NewServer(m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served <- r.Context()
		srv.ServeHTTP(w, r)
	})))
	defer ts.Close()

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/", nil)
	go func() { <-store.entered; cancel() }()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the request was answered (%s) before the client went away", resp.Status)
	}
	<-(<-served).Done() // the server has seen the client go
	close(store.gone)
	<-store.done
	ts.Close() // waits for the handler and the middleware to finish

	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("a client going away was logged as an error:\n%s", logs.String())
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	out, _ := io.ReadAll(rec.Body)
	if strings.Contains(string(out), `code="500"`) {
		t.Errorf("a client going away was counted as a 500:\n%s", grepLines(string(out), "http_requests"))
	}
	if !strings.Contains(string(out), `feedrelay_http_requests_total{code="499",route="GET /{$}"} 1`) {
		t.Errorf("want the request counted as 499 (client closed request):\n%s", grepLines(string(out), "http_requests"))
	}
}

func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
