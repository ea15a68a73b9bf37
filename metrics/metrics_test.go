package metrics

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/feedrelay/feedrelay/feeds"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestMetrics(t *testing.T) {
	m := New(prometheus.NewRegistry(), func() (int64, error) { return 12345, nil })
	mux := http.NewServeMux()
	mux.HandleFunc("GET /feeds/{file}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("file") == "nope.atom" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok"))
	})
	h := m.Middleware(mux)
	for _, p := range []string{"/feeds/a.atom", "/feeds/b.atom", "/feeds/nope.atom", "/elsewhere"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, p, nil))
	}
	m.Poll(&feeds.Result{Source: "stcn", Duration: 300 * time.Millisecond, Counts: feeds.Counts{New: 3, Updated: 1},
		Articles: feeds.ArticleCounts{OK: 2, Failed: 1, Held: 3}})
	m.Poll(&feeds.Result{Source: "stcn", NotModified: true})
	m.Poll(&feeds.Result{Source: "broken", Err: errors.New("HTTP 500")})
	m.Poll(&feeds.Result{Source: "gone", Err: errors.New("HTTP 410")})
	m.Reload(nil)
	m.Reload(errors.New("config.yaml:3: bad"))

	out := scrape(t, m)
	for _, want := range []string{
		`feedrelay_http_requests_total{code="200",route="GET /feeds/{file}"} 2`,
		`feedrelay_http_requests_total{code="404",route="GET /feeds/{file}"} 1`,
		`feedrelay_http_requests_total{code="404",route="unmatched"} 1`,
		`feedrelay_polls_total{result="ok",source="stcn"} 1`,
		`feedrelay_polls_total{result="not_modified",source="stcn"} 1`,
		`feedrelay_polls_total{result="error",source="broken"} 1`,
		`feedrelay_items_total{kind="new"} 3`,
		`feedrelay_items_total{kind="updated"} 1`,
		`feedrelay_articles_total{result="ok"} 2`,
		`feedrelay_articles_total{result="error"} 1`,
		`feedrelay_articles_total{result="held"} 3`,
		`feedrelay_sources_failing 2`,
		`feedrelay_poll_duration_seconds_count 4`,
		`feedrelay_config_reloads_total{result="success"} 1`,
		`feedrelay_config_reloads_total{result="failure"} 1`,
		"feedrelay_config_last_reload_successful 0",
		`feedrelay_database_bytes 12345`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// A source that recovers, or leaves the config, stops counting.
	m.Poll(&feeds.Result{Source: "broken"})
	m.Forget(func(slug string) bool { return slug != "gone" })
	if out := scrape(t, m); !strings.Contains(out, "feedrelay_sources_failing 0") {
		t.Error("failing sources not back to 0 after recovery and removal")
	}
}
