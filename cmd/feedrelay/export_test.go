package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The cron recipe of the old site: poll, then export; a second export of
// the same database writes nothing. Bad flags are usage errors.
func TestExportCommand(t *testing.T) {
	ts := sources(t)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "127.0.0.1:0", ts.URL, false)
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"poll", "-config", cfg}, &out, &errOut); code != 0 {
		t.Fatalf("poll exited %d: %s", code, errOut.String())
	}
	site, static := filepath.Join(dir, "site"), filepath.Join(dir, "www")
	for _, run := range []struct {
		args []string
		want string
	}{
		{[]string{"export", "jekyll", "-config", cfg, site}, `^jekyll export to .*/site: [1-9]\d* written, 0 unchanged, 0 removed\n$`},
		{[]string{"export", "jekyll", "-config", cfg, "-prune", site}, `^jekyll export to .*/site: 0 written, [1-9]\d* unchanged, 0 removed\n$`},
		{[]string{"export", "static", "-config", cfg, static}, `^static export to .*/www: [1-9]\d* written, 0 unchanged, 0 removed\n$`},
		{[]string{"export", "static", "-config", cfg, static}, `^static export to .*/www: 0 written, [1-9]\d* unchanged, 0 removed\n$`},
	} {
		out.Reset()
		errOut.Reset()
		if code := Run(context.Background(), run.args, &out, &errOut); code != 0 || !regexp.MustCompile(run.want).MatchString(out.String()) {
			t.Errorf("%q: exit %d, printed %q (stderr %q); want %s", run.args, code, out.String(), errOut.String(), run.want)
		}
	}
	if posts, _ := filepath.Glob(filepath.Join(site, "_posts", "*-feedrelay-*.md")); len(posts) != 3 {
		t.Errorf("%d posts, want the 3 items polled", len(posts))
	}
	if _, err := os.Stat(filepath.Join(static, "feeds", "all.atom")); err != nil {
		t.Error(err)
	}
	for _, args := range [][]string{
		{"export"},
		{"export", "pdf", dir},
		{"export", "jekyll", "-config", cfg},
		{"export", "jekyll", "-config", cfg, "-since", "12/01/2022", site},
	} {
		errOut.Reset()
		if code := Run(context.Background(), args, &out, &errOut); code != exitUsage || errOut.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q; want a usage error", args, code, errOut.String())
		}
	}
	errOut.Reset()
	if code := Run(context.Background(), []string{"export", "jekyll", "-config", cfg, "-category", "nope", site}, &out, &errOut); code != exitFailed || !strings.Contains(errOut.String(), `no category "nope"`) {
		t.Errorf("-category nope: exit %d, stderr %q", code, errOut.String())
	}
}

// export static -ping, the cron recipe for a folder nginx serves: once the
// files are written, each hub hears of the feeds whose first page changed
// (every feed the first time), in one ping; an export that changed nothing
// pings nothing; a failing hub fails the command, naming it.
func TestExportStatic_Ping(t *testing.T) {
	var (
		mu    sync.Mutex
		items = map[string][]string{"a": {"a one"}, "b": {"b one"}}
	)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slug := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".xml")
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, `<rss version="2.0"><channel><title>%s</title><link>https://%[1]s.example/</link>`, slug)
		for i, title := range items[slug] {
			fmt.Fprintf(w, `<item><title>%s</title><link>https://%s.example/%d</link><pubDate>Thu, 26 Nov 2026 %02d:00:00 +0000</pubDate></item>`,
				title, slug, i, 8+i)
		}
		fmt.Fprint(w, `</channel></rss>`)
	}))
	defer origin.Close()

	dir := t.TempDir()
	www := filepath.Join(dir, "www")
	const base = "https://news.example.org/"
	type ping struct {
		topics  []string
		missing []string // topics whose file was not in www when the hub heard of it
	}
	var (
		hubMu  sync.Mutex
		pings  []ping
		status = http.StatusNoContent
	)
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		p := ping{topics: r.PostForm["hub.url"]}
		slices.Sort(p.topics)
		for _, u := range p.topics {
			if _, err := os.Stat(filepath.Join(www, strings.TrimPrefix(u, base))); r.PostForm.Get("hub.mode") != "publish" || err != nil {
				p.missing = append(p.missing, u)
			}
		}
		hubMu.Lock()
		pings = append(pings, p)
		code := status
		hubMu.Unlock()
		w.WriteHeader(code)
	}))
	defer hub.Close()
	cfg := filepath.Join(dir, "config.yaml")
	conf := fmt.Sprintf(`base_url: %s
websub: {hubs: ["%s/hub"]}
categories:
  - {slug: news, title: News}
sources:
  - {name: a, url: %s/a.xml, categories: [news]}
  - {name: b, url: %s/b.xml, categories: [news]}
`, base, hub.URL, origin.URL, origin.URL)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	pollAndPing := func() (int, string, string) {
		t.Helper()
		if code, out, errOut := run("poll", "-config", cfg); code != 0 {
			t.Fatalf("poll: exit %d\n%s%s", code, out, errOut)
		}
		return run("export", "static", "-config", cfg, "-ping", www)
	}
	topics := func(feeds ...string) []string {
		var out []string
		for _, f := range feeds {
			for _, ext := range []string{".atom", ".json", ".rss"} {
				out = append(out, base+f+ext)
			}
		}
		slices.Sort(out)
		return out
	}
	heard := func(n int) []ping {
		t.Helper()
		hubMu.Lock()
		defer hubMu.Unlock()
		if len(pings) != n {
			t.Fatalf("the hub was pinged %d times, want %d: %q", len(pings), n, pings)
		}
		return slices.Clone(pings)
	}

	code, out, errOut := pollAndPing()
	if code != 0 || !strings.Contains(out, "pinged 1 hubs: 12 feed URLs changed\n") {
		t.Fatalf("first export -ping: exit %d, %q %q", code, out, errOut)
	}
	if p := heard(1)[0]; !slices.Equal(p.topics, topics("feeds/all", "feeds/news", "sources/a", "sources/b")) || len(p.missing) > 0 {
		t.Errorf("the first ping named %q (not yet written: %q); want every feed, written", p.topics, p.missing)
	}

	if code, out, errOut = pollAndPing(); code != 0 || strings.Contains(out, "pinged") {
		t.Errorf("export -ping of an unchanged database: exit %d, %q %q; want no ping", code, out, errOut)
	}
	heard(1)

	// b's new item is the newest of all: every feed showing b changes, a's
	// does not.
	mu.Lock()
	items["b"] = append(items["b"], "b two")
	mu.Unlock()
	if code, out, errOut = pollAndPing(); code != 0 {
		t.Fatalf("export -ping after b's new item: exit %d, %q %q", code, out, errOut)
	}
	if p := heard(2)[1]; !slices.Equal(p.topics, topics("feeds/all", "feeds/news", "sources/b")) || len(p.missing) > 0 {
		t.Errorf("after b's new item the hub heard of %q (not yet written: %q); want all, news and b", p.topics, p.missing)
	}

	hubMu.Lock()
	status = http.StatusServiceUnavailable
	hubMu.Unlock()
	mu.Lock()
	items["a"] = append(items["a"], "a two")
	mu.Unlock()
	code, _, errOut = pollAndPing()
	if code != exitFailed || !strings.Contains(errOut, hub.URL+"/hub") || !strings.Contains(errOut, "503") {
		t.Errorf("a failing hub: exit %d, stderr %q; want %d naming the hub and its answer", code, errOut, exitFailed)
	}
	if body, err := os.ReadFile(filepath.Join(www, "sources", "a.atom")); err != nil || !strings.Contains(string(body), "a two") {
		t.Errorf("the files of a failed ping were not written: %v", err)
	}
	// The hub is back: the next run, though it changes no file, tells it
	// what the failed ping could not; the one after has nothing to tell.
	failed := heard(3)[2]
	hubMu.Lock()
	status = http.StatusNoContent
	hubMu.Unlock()
	if code, out, errOut = pollAndPing(); code != 0 || !strings.Contains(out, "pinged 1 hubs") {
		t.Fatalf("export -ping once the hub is back: exit %d, %q %q", code, out, errOut)
	}
	if p := heard(4)[3]; len(failed.topics) == 0 || !slices.Equal(p.topics, failed.topics) {
		t.Errorf("once back, the hub heard of %q; want what the failed ping named, %q", p.topics, failed.topics)
	}
	if code, out, errOut = pollAndPing(); code != 0 || strings.Contains(out, "pinged") {
		t.Errorf("the run after: exit %d, %q %q; want no ping", code, out, errOut)
	}
	heard(4)

	// -ping with no hub to ping is a usage error, and exports nothing.
	if err := os.WriteFile(cfg, []byte(strings.Replace(conf, "websub: {hubs: [\""+hub.URL+"/hub\"]}\n", "", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(dir, "elsewhere")
	if code, _, errOut := run("export", "static", "-config", cfg, "-ping", elsewhere); code != exitUsage || !strings.Contains(errOut, "websub.hubs") {
		t.Errorf("-ping without hubs: exit %d, stderr %q; want a usage error naming websub.hubs", code, errOut)
	}
	if _, err := os.Stat(elsewhere); err == nil {
		t.Error("-ping without hubs exported anyway")
	}
}
