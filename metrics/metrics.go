// Package metrics exposes what an operator graphs and alerts on, in the
// Prometheus text format: polls and their outcomes, items stored, failing
// sources, HTTP requests, config reloads and the database size. Metrics are
// registered on a registry the caller gives, never the global one.
package metrics

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/feedrelay/feedrelay/feeds"
)

// Metrics records feedrelay's metrics. It is safe for concurrent use.
type Metrics struct {
	reg          *prometheus.Registry
	polls        *prometheus.CounterVec
	pollDuration prometheus.Histogram
	items        *prometheus.CounterVec
	articles     *prometheus.CounterVec
	failing      prometheus.Gauge
	requests     *prometheus.CounterVec
	reloads      *prometheus.CounterVec
	reloadOK     prometheus.Gauge
	reloadTime   prometheus.Gauge

	mu       sync.Mutex
	failures map[string]bool // sources whose last poll failed
}

// New registers feedrelay's metrics on reg. dbSize, if not nil, is called at
// each scrape for the database size in bytes.
func New(reg *prometheus.Registry, dbSize func() (int64, error)) *Metrics {
	m := &Metrics{
		reg: reg,
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "feedrelay_polls_total",
			Help: "Polls of sources, by source and result (ok, not_modified, error).",
		}, []string{"source", "result"}),
		pollDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "feedrelay_poll_duration_seconds",
			Help:    "Time to fetch, parse and store one source.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "feedrelay_items_total",
			Help: "Items stored, by kind (new, updated).",
		}, []string{"kind"}),
		articles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "feedrelay_articles_total",
			Help: "Full-text articles of items (full_text), by result (ok, error; held: not asked for, their site had asked to be left alone, 429 or Retry-After).",
		}, []string{"result"}),
		failing: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "feedrelay_sources_failing",
			Help: "Sources whose last poll failed.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "feedrelay_http_requests_total",
			Help: "HTTP requests served, by route pattern and status code (499: the client went away before its answer).",
		}, []string{"route", "code"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "feedrelay_config_reloads_total",
			Help: "Config reloads (SIGHUP), by result (success, failure, unchanged: the file's bytes had not changed, nothing was done).",
		}, []string{"result"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "feedrelay_config_last_reload_successful",
			Help: "1 when the running config is the file's (the last reload was applied, or the file is unchanged), 0 after a failed reload.",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "feedrelay_config_last_reload_success_timestamp_seconds",
			Help: "When a config was last applied (at start, then at each successful reload), in Unix seconds.",
		}),
		failures: map[string]bool{},
	}
	reg.MustRegister(m.polls, m.pollDuration, m.items, m.articles, m.failing, m.requests, m.reloads, m.reloadOK, m.reloadTime)
	// The config a process starts with was applied successfully.
	m.reloadOK.Set(1)
	m.reloadTime.SetToCurrentTime()
	if dbSize != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "feedrelay_database_bytes",
			Help: "Size of the SQLite database, write-ahead log included.",
		}, func() float64 {
			n, err := dbSize()
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	return m
}

// Poll records the outcome of one poll.
func (m *Metrics) Poll(r *feeds.Result) {
	result := "ok"
	switch {
	case r.Err != nil:
		result = "error"
	case r.NotModified:
		result = "not_modified"
	}
	m.polls.WithLabelValues(r.Source, result).Inc()
	m.pollDuration.Observe(r.Duration.Seconds())
	m.items.WithLabelValues("new").Add(float64(r.Counts.New))
	m.items.WithLabelValues("updated").Add(float64(r.Counts.Updated))
	m.articles.WithLabelValues("ok").Add(float64(r.Articles.OK))
	m.articles.WithLabelValues("error").Add(float64(r.Articles.Failed))
	m.articles.WithLabelValues("held").Add(float64(r.Articles.Held))
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.Err != nil {
		m.failures[r.Source] = true
	} else {
		delete(m.failures, r.Source)
	}
	m.failing.Set(float64(len(m.failures)))
}

// Forget drops sources no longer configured from the failing count.
func (m *Metrics) Forget(keep func(slug string) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for s := range m.failures {
		if !keep(s) {
			delete(m.failures, s)
		}
	}
	m.failing.Set(float64(len(m.failures)))
}

// Reload records a config reload; call it once the reload was applied (err
// nil) or refused.
func (m *Metrics) Reload(err error) {
	if err != nil {
		m.reloads.WithLabelValues("failure").Inc()
		m.reloadOK.Set(0)
		return
	}
	m.reloads.WithLabelValues("success").Inc()
	m.reloadOK.Set(1)
	m.reloadTime.SetToCurrentTime()
}

// ReloadSkipped records a reload skipped because the file's bytes are the
// running config's: the running config is the file's again (after a failed
// reload, the operator restored it), so the reload counts as successful, but
// nothing was applied.
func (m *Metrics) ReloadSkipped() {
	m.reloads.WithLabelValues("unchanged").Inc()
	m.reloadOK.Set(1)
}

// Registerer is where other parts of feedrelay register their own metrics,
// served beside these.
func (m *Metrics) Registerer() prometheus.Registerer { return m.reg }

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// StatusClientClosed is the code under which requests whose client
// disconnected before the answer are counted (nginx's 499, "client closed
// request"): they are neither successes nor our errors.
const StatusClientClosed = 499

// Middleware counts the requests next serves, by the route pattern the
// ServeMux matched (so that /feeds/{file} is one series, not one per feed).
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		code := sw.code
		if r.Context().Err() != nil && (!sw.wrote || code >= 500) {
			// The client went away before it had its answer (net/http
			// cancels the context when the connection closes): not a
			// failure of ours.
			code = StatusClientClosed
		}
		m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	})
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
