package websub

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// hubRecorder answers publish pings, failing the first fail of them. With
// hold set, it answers its first ping only once hold is closed.
type hubRecorder struct {
	mu    sync.Mutex
	fail  int
	pings [][]string // hub.url of each ping answered 2xx
	tries int
	bad   []string // what was wrong with a request
	hold  chan struct{}
}

func (h *hubRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.tries++
	first := h.tries == 1
	h.mu.Unlock()
	if first && h.hold != nil {
		<-h.hold
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		h.bad = append(h.bad, r.Method+" "+r.Header.Get("Content-Type"))
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("hub.mode") != "publish" {
		h.bad = append(h.bad, "form "+r.PostForm.Encode())
	}
	if h.fail > 0 {
		h.fail--
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	h.pings = append(h.pings, r.PostForm["hub.url"])
	w.WriteHeader(http.StatusNoContent)
}

func (h *hubRecorder) got() ([][]string, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.pings), h.tries
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
	}
}

// A failing hub is tried again with backoff, with what changed meanwhile
// in the same ping; a hub that hangs delays neither Publish nor the other
// hub; each outcome is counted.
func TestPinger_RetriesAndCounts(t *testing.T) {
	// The flaky hub's first answer (a failure) waits for the second
	// Publish: what changed meanwhile must join the retry.
	flaky := &hubRecorder{fail: 2, hold: make(chan struct{})}
	ok := &hubRecorder{}
	hang := make(chan struct{})
	srvFlaky, srvOK := httptest.NewServer(flaky), httptest.NewServer(ok)
	srvHang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer srvFlaky.Close()
	defer srvOK.Close()
	defer srvHang.Close()
	defer close(hang)
	release := sync.OnceFunc(func() { close(flaky.hold) })
	defer release() // before srvFlaky.Close, should the test stop early

	reg := prometheus.NewRegistry()
	p := NewPinger(reg, nil)
	p.MinBackoff, p.MaxBackoff = 50*time.Millisecond, 200*time.Millisecond
	p.SetHubs([]string{srvFlaky.URL, srvOK.URL, srvHang.URL})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	start := time.Now()
	p.Publish([]string{"https://relay.example/feeds/a.atom", "https://relay.example/feeds/a.rss"})
	eventually(t, "the flaky hub's first try", func() bool { _, n := flaky.got(); return n >= 1 })
	p.Publish([]string{"https://relay.example/feeds/b.atom", "https://relay.example/feeds/a.atom"})
	if d := time.Since(start); d > time.Second {
		t.Errorf("Publish took %v with a hub that hangs", d)
	}
	release()

	eventually(t, "the flaky hub's success", func() bool { pings, _ := flaky.got(); return len(pings) > 0 })
	pings, tries := flaky.got()
	all := []string{"https://relay.example/feeds/a.atom", "https://relay.example/feeds/a.rss", "https://relay.example/feeds/b.atom"}
	var heard []string
	for _, ping := range pings {
		heard = append(heard, ping...)
	}
	slices.Sort(heard)
	if tries != 2+len(pings) || !slices.Equal(heard, all) {
		t.Errorf("flaky hub: %d tries, heard %q; want 2 failures then each URL once: %q", tries, heard, all)
	}
	eventually(t, "the good hub hears of all", func() bool {
		pings, _ := ok.got()
		var n int
		for _, p := range pings {
			n += len(p)
		}
		return n >= 3
	})
	if len(flaky.bad)+len(ok.bad) > 0 {
		t.Errorf("malformed pings: %q %q", flaky.bad, ok.bad)
	}
	// A ping is counted once its answer is read, a moment after the hub
	// recorded it.
	eventually(t, "every answered ping counted a success", func() bool {
		okPings, _ := ok.got()
		flakyPings, _ := flaky.got()
		return int(testutil.ToFloat64(p.pings.WithLabelValues("success"))) == len(flakyPings)+len(okPings)
	})
	if got := testutil.ToFloat64(p.pings.WithLabelValues("failure")); got != 2 {
		t.Errorf("failure count %v, want the flaky hub's 2 (the hanging one has not answered)", got)
	}
}

// PublishNow pings every hub once and says which failed and how, on one
// line however the hub's error page is laid out; the hubs that answered
// are counted as successes.
func TestPinger_PublishNow(t *testing.T) {
	var got []string
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		got = append(got, r.PostForm["hub.url"]...)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer ok.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotImplemented)
		w.Write([]byte("<!DOCTYPE HTML>\n<html>\n  <body>\n    <h1>Error response</h1>\n" + strings.Repeat("    <p>Unsupported method ('POST').</p>\n", 20) + "</body></html>\n"))
	}))
	defer broken.Close()
	reg := prometheus.NewRegistry()
	p := NewPinger(reg, nil)
	p.SetHubs([]string{ok.URL, broken.URL})
	topics := []string{"https://relay.example/feeds/all.atom", "https://relay.example/feeds/all.rss"}
	err := p.PublishNow(context.Background(), topics)
	if !slices.Equal(got, topics) {
		t.Errorf("the working hub heard %q, want %q", got, topics)
	}
	if err == nil || !strings.Contains(err.Error(), broken.URL) || !strings.Contains(err.Error(), "501") ||
		strings.Contains(err.Error(), "\n") || len(err.Error()) > 300 {
		t.Errorf("PublishNow's error %q, want one line of at most 300 bytes naming the failing hub and its 501", err)
	}
	for result, want := range map[string]float64{"success": 1, "failure": 1} {
		if n := testutil.ToFloat64(p.pings.WithLabelValues(result)); n != want {
			t.Errorf("feedrelay_websub_pings_total{result=%q} = %v, want %v", result, n, want)
		}
	}
}
