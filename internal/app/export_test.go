package app_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/internal/app"
)

// feedOrigin serves /{slug}.xml, an RSS feed of the items set for slug.
type feedOrigin struct {
	*origin
	mu    sync.Mutex
	items map[string][]string      // slug → item titles, newest last
	start map[string]time.Time     // slug → the date of its first item
	step  map[string]time.Duration // slug → between its items' dates (default a minute)
}

func newFeedOrigin(t *testing.T) *feedOrigin {
	o := &feedOrigin{items: map[string][]string{}, start: map[string]time.Time{}, step: map[string]time.Duration{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slug := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".xml")
		o.mu.Lock()
		titles := slices.Clone(o.items[slug])
		start, step := o.start[slug], o.step[slug]
		o.mu.Unlock()
		if step == 0 {
			step = time.Minute
		}
		if start.IsZero() {
			start = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
		}
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>%s</title><link>https://%[1]s.example/</link>`, slug)
		for i, title := range titles {
			fmt.Fprintf(w, `<item><title>%s</title><link>https://%s.example/%d</link><guid>%[2]s-%[3]d</guid><pubDate>%s</pubDate></item>`,
				title, slug, i, start.Add(time.Duration(i)*step).Format(time.RFC1123Z))
		}
		fmt.Fprint(w, `</channel></rss>`)
	}))
	t.Cleanup(srv.Close)
	o.origin = &origin{Server: srv}
	return o
}

func (o *feedOrigin) set(slug string, titles ...string) {
	o.mu.Lock()
	o.items[slug] = titles
	o.mu.Unlock()
}

// setFrom is set with the first item dated start, the others step apart.
func (o *feedOrigin) setFrom(slug string, start time.Time, step time.Duration, titles ...string) {
	o.mu.Lock()
	o.start[slug], o.step[slug] = start, step
	o.mu.Unlock()
	o.set(slug, titles...)
}

// verifyingHub is a WebSub hub as a real one behaves towards a publisher:
// it accepts a publish ping, then fetches each topic URL and checks that
// the feed names it as its hub, in the Link header and in the document.
type verifyingHub struct {
	*httptest.Server
	t      *testing.T
	client *http.Client // reaches relay.example, the daemon's base_url

	mu       sync.Mutex
	pings    []hubPing
	problems []string
}

type hubPing struct {
	at     time.Time
	topics []string
}

func newVerifyingHub(t *testing.T, daemonAddr func() string) *verifyingHub {
	h := &verifyingHub{t: t}
	h.client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, daemonAddr())
		},
	}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("hub.mode") != "publish" || len(r.PostForm["hub.url"]) == 0 {
			http.Error(w, "not a publish ping", http.StatusBadRequest)
			return
		}
		topics := r.PostForm["hub.url"]
		h.mu.Lock()
		h.pings = append(h.pings, hubPing{time.Now(), topics})
		h.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		go h.verify(topics)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *verifyingHub) verify(topics []string) {
	for _, topic := range topics {
		if problem := h.check(topic); problem != "" {
			h.mu.Lock()
			h.problems = append(h.problems, topic+": "+problem)
			h.mu.Unlock()
		}
	}
}

func (h *verifyingHub) check(topic string) string {
	resp, err := h.client.Get(topic)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.Status
	}
	hub := h.URL + "/"
	if link := resp.Header.Get("Link"); !strings.Contains(link, "<"+hub+`>; rel="hub"`) || !strings.Contains(link, "<"+topic+`>; rel="self"`) {
		return "Link header " + link
	}
	var want string
	switch {
	case strings.HasSuffix(topic, ".atom"):
		want = `<link href="` + hub + `" rel="hub">`
	case strings.HasSuffix(topic, ".rss"):
		want = `<atom:link rel="hub" href="` + hub + `">`
	default:
		want = `"url": "` + hub + `"`
	}
	if !strings.Contains(string(body), want) {
		return "no " + want + " in the feed"
	}
	return ""
}

func (h *verifyingHub) got() ([]hubPing, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.pings), slices.Clone(h.problems)
}

func topicsOf(feeds ...string) []string {
	var out []string
	for _, f := range feeds {
		for _, ext := range []string{".atom", ".rss", ".json"} {
			out = append(out, "http://relay.example/"+f+ext)
		}
	}
	slices.Sort(out)
	return out
}

// After a poll changes what feeds show, the hub hears of exactly those
// feeds, once, within 5 s, and finds itself named in each of them.
func TestWebSub_PingsTheHubOfChangedFeeds(t *testing.T) {
	o := newFeedOrigin(t)
	o.set("alpha", "alpha one") // 09:00
	o.setFrom("beta", time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC), 10*time.Minute, "beta one")
	var d *daemon
	var daemonMu sync.Mutex
	hub := newVerifyingHub(t, func() string {
		daemonMu.Lock()
		defer daemonMu.Unlock()
		return strings.TrimPrefix(d.url, "http://")
	})
	daemonMu.Lock()
	d = start(t, o.origin, conf{interval: "1s", sources: []string{"alpha", "beta"},
		top: "page_size: 1\nwebsub: {hubs: [\"" + hub.URL + "/\"]}"})
	daemonMu.Unlock()

	heard := func(pings []hubPing) []string {
		var all []string
		for _, p := range pings {
			all = append(all, p.topics...)
		}
		slices.Sort(all)
		return all
	}
	eventually(t, "the first ping", func() bool { p, _ := hub.got(); return len(p) > 0 })
	// Both sources' first polls, a round of polls with no change.
	eventually(t, "three polls of each", func() bool { return len(d.resultsOf("alpha")) >= 3 && len(d.resultsOf("beta")) >= 3 })
	pings, _ := hub.got()
	if want := topicsOf("feeds/all", "feeds/all-news", "sources/alpha", "sources/beta"); !slices.Equal(heard(pings), want) {
		t.Fatalf("after the first polls the hub heard %q in %d pings; want each changed feed once: %q", heard(pings), len(pings), want)
	}
	if first := d.resultsOf("beta")[0]; pings[0].at.Sub(first.Attempted) > 5*time.Second {
		t.Errorf("the ping came %v after the poll", pings[0].at.Sub(first.Attempted))
	}

	// beta gets a new item (08:10): its own feed's first page changes;
	// those of the feeds it is part of still show alpha's newer item.
	o.set("beta", "beta one", "beta two")
	eventually(t, "the second ping", func() bool { p, _ := hub.got(); return len(p) > len(pings) })
	var stored time.Time
	for _, r := range d.resultsOf("beta") {
		if r.Counts.New > 0 && stored.IsZero() && !r.Attempted.Before(pings[len(pings)-1].at) {
			stored = r.Attempted.Add(r.Duration)
		}
	}
	time.Sleep(2 * time.Second) // a second ping for the same change would come by now
	after, _ := hub.got()
	if want := topicsOf("sources/beta"); !slices.Equal(heard(after[len(pings):]), want) {
		t.Errorf("after beta's new item the hub heard %q; want %q", heard(after[len(pings):]), want)
	}
	if d := after[len(pings)].at.Sub(stored); stored.IsZero() || d > 5*time.Second {
		t.Errorf("the second ping came %v after the poll that stored the item (at %v)", d, stored)
	}
	eventually(t, "the hub's checks", func() bool { return d.metric(t, `feedrelay_websub_pings_total{result="success"}`) == "2" })
	time.Sleep(500 * time.Millisecond) // the hub verifies after answering
	if _, problems := hub.got(); len(problems) > 0 {
		t.Errorf("the hub's verification failed: %q", problems)
	}
}

// serve keeps export.jekyll current: it exports at start and after a poll
// that changed something, rewriting only the posts that changed.
func TestServe_KeepsJekyllCurrent(t *testing.T) {
	o := newFeedOrigin(t)
	o.set("alpha", "alpha one", "alpha two")
	dir := t.TempDir()
	start(t, o.origin, conf{interval: "1s", sources: []string{"alpha"}, top: "export: {jekyll: " + dir + "}"})
	posts := func() map[string]time.Time {
		des, _ := os.ReadDir(filepath.Join(dir, "_posts"))
		out := map[string]time.Time{}
		for _, de := range des {
			// The export's temporary files (dot files, which Jekyll
			// skips) come and go as it writes.
			info, err := de.Info()
			if strings.HasPrefix(de.Name(), ".") || err != nil {
				continue
			}
			out[de.Name()] = info.ModTime()
		}
		return out
	}
	eventually(t, "two posts", func() bool { return len(posts()) == 2 })
	before := posts()
	o.set("alpha", "alpha one", "alpha two", "alpha three")
	eventually(t, "the third post", func() bool { return len(posts()) == 3 })
	for name, mod := range before {
		if !posts()[name].Equal(mod) {
			t.Errorf("%s was rewritten though its entry did not change", name)
		}
	}
}

// export static writes every feed page as a file whose links name files
// that exist, changes nothing when run again, and after a new item
// rewrites only what shows it (removing the archive pages no page names).
func TestExportStatic(t *testing.T) {
	o := newFeedOrigin(t)
	o.set("alpha", "alpha one", "alpha two", "alpha three")
	o.setFrom("beta", time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC), 3*time.Hour, "beta one")
	path := filepath.Join(t.TempDir(), "config.yaml")
	c := conf{sources: []string{"alpha", "beta"}, top: "page_size: 2"}
	if err := os.WriteFile(path, []byte(c.yaml(o.origin)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := app.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Open(context.Background(), cfg, app.Options{Logging: app.NewLogging(io.Discard, "text", "warn")})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	a.PollOnce(ctx, a.Sources(), nil)
	dir := t.TempDir()
	res, err := a.ExportStatic(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"index.html", "opml.xml", "feeds/all.atom", "feeds/all.rss", "feeds/all.json",
		"feeds/all-news.atom", "sources/alpha.atom", "sources/beta.json", "c/all-news/index.html", "s/alpha/index.html"} {
		if !slices.Contains(res.Written, want) {
			t.Errorf("%s not written; written: %q", want, res.Written)
		}
	}
	// Follow rel="next" from the first page through files only.
	titles := walkStatic(t, dir, "feeds/all.atom")
	if want := []string{"alpha three", "alpha two", "alpha one", "beta one"}; !slices.Equal(titles, want) {
		t.Errorf("following next through the files: %q, want %q", titles, want)
	}
	if again, err := a.ExportStatic(ctx, dir); err != nil || again.Changed() {
		t.Fatalf("a second export of the same database: %v, %v", again, err)
	}

	// beta's new item is the newest: the pages of two entries that
	// follow the first start one entry further (the chain is named by
	// positions, as the daemon's is).
	o.set("beta", "beta one", "beta two") // 11:00, newer than any
	a.PollOnce(ctx, a.Sources()[1:], nil)
	res, err = a.ExportStatic(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Written {
		if strings.Contains(f, "alpha") {
			t.Errorf("beta's new item rewrote %s", f)
		}
	}
	if !slices.Contains(res.Written, "sources/beta.atom") || len(res.Removed) == 0 {
		t.Errorf("beta's new item: written %q, removed %q", res.Written, res.Removed)
	}
	for _, f := range res.Removed {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s said removed, still there", f)
		}
	}
	if got := walkStatic(t, dir, "feeds/all.atom"); len(got) != 5 {
		t.Errorf("after the new item the files lead to %q", got)
	}
	// No page is left that no page leads to.
	pages, _ := filepath.Glob(filepath.Join(dir, "feeds", "all", "*.atom"))
	if len(pages) != 2 {
		t.Errorf("feeds/all/ holds %d archive pages, want the 2 the first page leads to: %q", len(pages), pages)
	}
}

// walkStatic follows the Atom pages from first, reading files only, and
// returns the entries' titles; every link must name a file in dir.
func walkStatic(t *testing.T, dir, first string) []string {
	t.Helper()
	var titles []string
	for name, n := first, 0; name != ""; n++ {
		if n > 50 {
			t.Fatal("rel=next loops")
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("a link names %s: %v", name, err)
		}
		var doc struct {
			Links []struct {
				Rel  string `xml:"rel,attr"`
				Href string `xml:"href,attr"`
			} `xml:"link"`
			Entries []struct {
				Title string `xml:"title"`
			} `xml:"entry"`
		}
		if err := xml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, e := range doc.Entries {
			titles = append(titles, e.Title)
		}
		name = ""
		for _, l := range doc.Links {
			u, err := url.Parse(l.Href)
			if err != nil || u.RawQuery != "" || (l.Rel != "alternate" && u.Host != "relay.example") {
				t.Errorf("%s: link %s %s is not a file of the site", first, l.Rel, l.Href)
				continue
			}
			file := strings.TrimPrefix(u.Path, "/")
			if strings.HasSuffix(file, "/") {
				file += "index.html"
			}
			if _, err := os.Stat(filepath.Join(dir, file)); err != nil {
				t.Errorf("link %s of %s: %v", l.Rel, l.Href, err)
			}
			if l.Rel == "next" {
				name = file
			}
		}
	}
	return titles
}
