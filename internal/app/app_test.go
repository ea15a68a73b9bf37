package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/config"
	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/internal/app"
)

// origin serves one RSS feed per path (/{slug}.xml) with two items, and
// remembers each request. A path can be held: its requests wait until
// released.
type origin struct {
	*httptest.Server
	mu       sync.Mutex
	requests map[string][]http.Header // by slug
	hold     map[string]chan struct{}
	held     map[string]int // requests of a held slug that arrived
	dropped  map[string]int // held requests the client gave up on
	active   int            // requests being answered
	peak     int            // the most at once since the last resetPeak
}

func newOrigin(t *testing.T) *origin {
	o := &origin{requests: map[string][]http.Header{}, hold: map[string]chan struct{}{}, held: map[string]int{},
		dropped: map[string]int{}}
	o.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slug := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".xml")
		o.mu.Lock()
		o.requests[slug] = append(o.requests[slug], r.Header.Clone())
		o.active++
		o.peak = max(o.peak, o.active)
		hold := o.hold[slug]
		if hold != nil {
			o.held[slug]++
		}
		o.mu.Unlock()
		defer func() { o.mu.Lock(); o.active--; o.mu.Unlock() }()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				o.mu.Lock()
				o.dropped[slug]++
				o.mu.Unlock()
				return
			}
		}
		time.Sleep(50 * time.Millisecond) // long enough for fetches to overlap
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>%[1]s</title><link>https://%[1]s.example/</link>
<item><title>%[1]s one</title><link>https://%[1]s.example/1</link><guid>%[1]s-1</guid></item>
<item><title>%[1]s two</title><link>https://%[1]s.example/2</link><guid>%[1]s-2</guid></item>
</channel></rss>`, slug)
	}))
	t.Cleanup(o.Close)
	return o
}

// holdSlug makes slug's requests wait until the returned func is called.
func (o *origin) holdSlug(slug string) (release func()) {
	ch := make(chan struct{})
	o.mu.Lock()
	o.hold[slug] = ch
	o.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func (o *origin) asked(slug string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.requests[slug])
}

func (o *origin) heldAsked(slug string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.held[slug]
}

// cancelled is how many held requests of slug the fetcher cancelled.
func (o *origin) cancelled(slug string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.dropped[slug]
}

func (o *origin) lastHeader(slug, key string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	rs := o.requests[slug]
	if len(rs) == 0 {
		return ""
	}
	return rs[len(rs)-1].Get(key)
}

func (o *origin) resetPeak() {
	o.mu.Lock()
	o.peak = o.active
	o.mu.Unlock()
}

func (o *origin) peakActive() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.peak
}

// conf is a config file's settings; yaml writes it.
type conf struct {
	top      string // extra top-level lines
	listen   string // default 127.0.0.1:0
	database string // default feedrelay.db
	interval string // default 1h
	sources  []string
	// sourcesYAML is written as it is after the sources above, for what
	// they cannot say (a source without slug:, another name).
	sourcesYAML string
}

func (c conf) yaml(o *origin) string {
	var b strings.Builder
	db := c.database
	if db == "" {
		db = "feedrelay.db"
	}
	listen := c.listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	interval := c.interval
	if interval == "" {
		interval = "1h"
	}
	fmt.Fprintf(&b, "listen: %s\nbase_url: http://relay.example/\ndatabase: %s\n%s\n", listen, db, c.top)
	fmt.Fprintf(&b, "defaults: {interval: %s, timeout: 30s}\ncategories:\n  - {slug: all-news, title: News}\nsources:\n", interval)
	for _, s := range c.sources {
		fmt.Fprintf(&b, "  - {name: %s, slug: %s, url: %q, categories: [all-news]}\n", s, s, o.URL+"/"+s+".xml")
	}
	b.WriteString(c.sourcesYAML)
	return b.String()
}

// syncBuffer is a bytes.Buffer safe for the daemon's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// daemon is an App running as `feedrelay serve` runs it.
type daemon struct {
	*app.App
	path string
	o    *origin
	url  string // of its HTTP face
	hup  chan os.Signal
	logs *syncBuffer

	mu      sync.Mutex
	results []*feeds.Result
}

// start writes c and runs an App on it until the test ends.
func start(t *testing.T, o *origin, c conf) *daemon {
	t.Helper()
	d := &daemon{path: filepath.Join(t.TempDir(), "config.yaml"), o: o, hup: make(chan os.Signal, 1), logs: &syncBuffer{}}
	d.write(t, c)
	cfg, err := app.LoadConfig(d.path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Open(context.Background(), cfg, app.Options{
		Logging: app.NewLogging(d.logs, cfg.Log.Format, cfg.Log.Level),
		OnPoll: func(r *feeds.Result) {
			d.mu.Lock()
			d.results = append(d.results, r)
			d.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	d.App = a
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.url = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- a.Run(ctx, ln, d.hup) }()
	t.Cleanup(func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("run: %v", err)
		}
		a.Close()
		if t.Failed() {
			t.Logf("logs:\n%s", d.logs.String())
		}
	})
	return d
}

func (d *daemon) write(t *testing.T, c conf) {
	t.Helper()
	if err := os.WriteFile(d.path, []byte(c.yaml(d.o)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// reload sends SIGHUP, as the operator's `kill -HUP` does, and waits until
// the reload's outcome is logged (not its warnings, "config reload: …",
// logged before the new config is applied).
func (d *daemon) reload(t *testing.T) {
	t.Helper()
	outcomes := func() int {
		logs := d.logs.String()
		return strings.Count(logs, "config reloaded") + strings.Count(logs, "config reload failed") +
			strings.Count(logs, "config unchanged")
	}
	before := outcomes()
	d.hup <- syscall.SIGHUP
	eventually(t, "the reload done", func() bool { return outcomes() > before })
}

func (d *daemon) resultsOf(slug string) []*feeds.Result {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*feeds.Result
	for _, r := range d.results {
		if r.Source == slug {
			out = append(out, r)
		}
	}
	return out
}

// items is how many items of slug the database holds.
func (d *daemon) items(t *testing.T, slug string) int {
	t.Helper()
	st, err := d.DB.Sources(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Slug == slug {
			return s.Items
		}
	}
	return 0
}

func (d *daemon) metric(t *testing.T, name string) string {
	t.Helper()
	resp, err := http.Get(d.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(string(body))
	if m == nil {
		return ""
	}
	return m[1]
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 15s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A reload while a slow fetch is in flight does not cancel it: the fetch
// completes and its items are stored. The added source starts polling, the
// removed one stops, and both show in what is published.
func TestReload_SwapsSourcesWithoutCancellingFetches(t *testing.T) {
	o := newOrigin(t)
	release := o.holdSlug("slow")
	defer release()
	d := start(t, o, conf{interval: "1s", sources: []string{"slow", "leaving"}})
	eventually(t, "the slow fetch in flight, the other source polled", func() bool {
		return o.heldAsked("slow") == 1 && len(d.resultsOf("leaving")) >= 1
	})

	d.write(t, conf{interval: "1s", sources: []string{"slow", "added"}})
	d.reload(t)
	if !strings.Contains(d.logs.String(), "config reloaded") {
		t.Fatalf("the reload was not applied")
	}
	eventually(t, "the added source polled and published", func() bool {
		resp, err := http.Get(d.url + "/sources/added.atom")
		if err == nil {
			resp.Body.Close()
		}
		return len(d.resultsOf("added")) >= 1 && err == nil && resp.StatusCode == http.StatusOK
	})
	leaving := o.asked("leaving")
	release()
	eventually(t, "the slow fetch in flight during the reload completed", func() bool { return len(d.resultsOf("slow")) >= 1 })
	if r := d.resultsOf("slow")[0]; r.Err != nil || r.Counts.New != 2 {
		t.Errorf("the fetch in flight during the reload: %s; want it completed with 2 new items", r.Summary())
	}
	if n := d.items(t, "slow"); n != 2 {
		t.Errorf("%d items of the slow source stored, want 2", n)
	}
	if n, c := o.asked("slow"), o.cancelled("slow"); n != 1 || c != 0 {
		t.Errorf("the slow source was asked %d times, %d of them cancelled; want once, not cancelled by the reload", n, c)
	}
	// The added source keeps its 1 s schedule: three more polls, which
	// span two of the intervals in which the removed source (1 s as well)
	// would have been asked again.
	added := len(d.resultsOf("added"))
	eventually(t, "the added source polled three more times on its 1 s schedule", func() bool {
		return len(d.resultsOf("added")) >= added+3
	})
	if n := o.asked("leaving"); n > leaving {
		t.Errorf("the removed source was asked %d more times after the reload", n-leaving)
	}
	if resp, err := http.Get(d.url + "/sources/leaving.atom"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("the removed source is still published: %v %v", resp.StatusCode, err)
	}
}

// A SIGHUP with the file unchanged (logrotate's) restarts nothing: the
// fetch in flight completes, no source is polled again before its time, and
// the log and the counter say the reload was skipped.
func TestReload_UnchangedFileIsSkipped(t *testing.T) {
	o := newOrigin(t)
	release := o.holdSlug("slow")
	defer release()
	d := start(t, o, conf{sources: []string{"slow", "idle"}})
	eventually(t, "the slow fetch in flight, the other source polled", func() bool {
		return o.heldAsked("slow") == 1 && len(d.resultsOf("idle")) == 1
	})
	d.reload(t)
	d.reload(t)
	if n := strings.Count(d.logs.String(), "config unchanged: reload skipped"); n != 2 {
		t.Errorf("%d 'reload skipped' lines for two reloads of an unchanged file, want 2", n)
	}
	if got := d.metric(t, `feedrelay_config_reloads_total{result="unchanged"}`); got != "2" {
		t.Errorf(`feedrelay_config_reloads_total{result="unchanged"} = %q, want 2`, got)
	}
	release()
	eventually(t, "the fetch in flight completed", func() bool { return len(d.resultsOf("slow")) == 1 })
	if c := o.cancelled("slow"); c != 0 {
		t.Errorf("%d fetches in flight cancelled by reloads of an unchanged file", c)
	}
	if r := d.resultsOf("slow")[0]; r.Err != nil || d.items(t, "slow") != 2 {
		t.Errorf("the fetch in flight during the reloads: %s, %d items stored", r.Summary(), d.items(t, "slow"))
	}
	time.Sleep(300 * time.Millisecond)
	if n, m := o.asked("slow"), o.asked("idle"); n != 1 || m != 1 {
		t.Errorf("after two skipped reloads the sources were asked %d and %d times, want once each (interval 1h)", n, m)
	}
}

// A changed user_agent is sent from the next fetch on.
func TestReload_UserAgent(t *testing.T) {
	o := newOrigin(t)
	d := start(t, o, conf{top: "user_agent: first-agent/1", interval: "1s", sources: []string{"a"}})
	eventually(t, "a fetch", func() bool { return o.asked("a") >= 1 })
	if ua := o.lastHeader("a", "User-Agent"); ua != "first-agent/1" {
		t.Fatalf("User-Agent %q before the reload", ua)
	}
	d.write(t, conf{top: "user_agent: second-agent/2", interval: "1s", sources: []string{"a"}})
	d.reload(t)
	// A fetch that started before the reload may still arrive with the old
	// agent; the next ones carry the new one.
	eventually(t, "a fetch with the new User-Agent", func() bool { return o.lastHeader("a", "User-Agent") == "second-agent/2" })
	n := o.asked("a")
	eventually(t, "the next fetch", func() bool { return o.asked("a") > n })
	if ua := o.lastHeader("a", "User-Agent"); ua != "second-agent/2" {
		t.Errorf("User-Agent %q on a fetch after one with the new agent, want second-agent/2", ua)
	}
}

// A raised per_host_concurrency lets more fetches run at once against one
// host from the next fetches on.
func TestReload_PerHostConcurrency(t *testing.T) {
	o := newOrigin(t)
	slugs := []string{"a", "b", "c", "d"}
	d := start(t, o, conf{top: "per_host_concurrency: 1", interval: "1s", sources: slugs})
	eventually(t, "every source polled twice", func() bool {
		for _, s := range slugs {
			if len(d.resultsOf(s)) < 2 {
				return false
			}
		}
		return true
	})
	if p := o.peakActive(); p != 1 {
		t.Fatalf("%d fetches at once to one host with per_host_concurrency 1", p)
	}
	// The serial polls leave the sources' schedules one fetch apart, so they
	// would not overlap on their own: the origin holds every answer, and only
	// the limit decides how many requests reach it meanwhile.
	var releases []func()
	for _, s := range slugs {
		releases = append(releases, o.holdSlug(s))
	}
	defer func() {
		for _, release := range releases {
			release()
		}
	}()
	d.write(t, conf{top: "per_host_concurrency: 4", interval: "1s", sources: slugs})
	d.reload(t)
	o.resetPeak()
	// One fetch made before the reload may be held too (through the old
	// fetcher, under the old limit): three at once need the new limit.
	eventually(t, "fetches at once to one host after raising per_host_concurrency to 4", func() bool { return o.peakActive() >= 3 })
}

// The reload gauges: 1 and a fresh timestamp after a reload is applied, 0
// and the timestamp kept after one is refused.
func TestReload_Gauges(t *testing.T) {
	o := newOrigin(t)
	d := start(t, o, conf{sources: []string{"a"}})
	const ok, at = "feedrelay_config_last_reload_successful", "feedrelay_config_last_reload_success_timestamp_seconds"
	if got := d.metric(t, ok); got != "1" {
		t.Errorf("%s = %q at start, want 1", ok, got)
	}
	started, _ := strconv.ParseFloat(d.metric(t, at), 64)
	time.Sleep(1100 * time.Millisecond) // the timestamp must move visibly

	d.write(t, conf{sources: []string{"a", "b"}})
	d.reload(t)
	reloaded, _ := strconv.ParseFloat(d.metric(t, at), 64)
	if got := d.metric(t, ok); got != "1" || reloaded <= started {
		t.Errorf("after a reload: %s = %q, %s %v (at start %v); want 1 and later", ok, got, at, reloaded, started)
	}

	if err := os.WriteFile(d.path, []byte("sources:\n  - name: x\n    url: ftp://nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.reload(t)
	if !strings.Contains(d.logs.String(), "config reload failed: keeping the running config") {
		t.Error("the failed reload is not logged")
	}
	failedAt, _ := strconv.ParseFloat(d.metric(t, at), 64)
	if got := d.metric(t, ok); got != "0" || failedAt != reloaded {
		t.Errorf("after a failed reload: %s = %q, %s %v; want 0 and %v", ok, got, at, failedAt, reloaded)
	}
	if got := len(d.Sources()); got != 2 {
		t.Errorf("after a failed reload %d sources run, want the 2 of the last good config", got)
	}
}

// log.level and log.format take effect at the reload; listen and database
// are warned about and keep running as they were.
func TestReload_LoggingAndRestartKeys(t *testing.T) {
	o := newOrigin(t)
	d := start(t, o, conf{top: "log: {format: text, level: warn}", sources: []string{"a"}})
	d.write(t, conf{listen: "127.0.0.1:1", top: "log: {format: json, level: info}", database: "other.db", sources: []string{"a"}})
	d.reload(t)
	logs := d.logs.String()
	// The outcome is logged at info, after the switch to json/info (a
	// poll's line may follow it).
	var reloaded string
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, "config reloaded") {
			reloaded = line
		}
	}
	var entry map[string]any
	if err := json.Unmarshal([]byte(reloaded), &entry); err != nil || entry["msg"] != "config reloaded" || entry["level"] != "INFO" {
		t.Errorf("the reload's line, after the reload to json/info, is %q (%v); want JSON 'config reloaded' at INFO", reloaded, err)
	}
	for _, want := range []string{"listen takes effect at the next restart", "database takes effect at the next restart"} {
		if !strings.Contains(logs, want) {
			t.Errorf("no warning %q", want)
		}
	}
	if c := d.Config(); c.Listen != "127.0.0.1:0" || filepath.Base(c.Database) != "feedrelay.db" {
		t.Errorf("the running config says listen %s, database %s: not what runs", c.Listen, c.Database)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(d.path), "other.db")); err == nil {
		t.Error("the reload opened the new database")
	}
}

// Every top-level key of the config has a rule in app's reloadable table:
// a key added without one would be silently left out of reloads.
func TestEveryKeyHasAReloadRule(t *testing.T) {
	rules := app.ReloadRules()
	ct := reflect.TypeFor[config.Config]()
	for i := range ct.NumField() {
		key, _, _ := strings.Cut(ct.Field(i).Tag.Get("yaml"), ",")
		if key == "" || key == "-" {
			continue
		}
		if rules[key] == "" {
			t.Errorf("config key %q: no reload rule in internal/app/reload.go (reload it or warn that it needs a restart)", key)
		}
	}
}
