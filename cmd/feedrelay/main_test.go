package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// feedparserPython is Debian's Python, which has python3-feedparser; the
// python3 first on PATH may be another one. The test command installs it.
const feedparserPython = "/usr/bin/python3"

func gbk(t testing.TB, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sources serves three feeds the way real Chinese sites do: GBK declared as
// gb2312 with no HTTP charset, GBK with the charset only in the HTTP header,
// and a 500.
func sources(t *testing.T) *httptest.Server {
	t.Helper()
	declared := gbk(t, `<?xml version="1.0" encoding="gb2312"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>
<title>证券时报网-要闻</title><link>https://www.stcn.com/</link>
<item><title>A股三大指数集体高开</title><link>/article/detail/1.html</link><guid isPermaLink="false">stcn-1</guid>
<dc:creator>证券时报记者 王一</dc:creator><pubDate>2026-11-26 09:30:00</pubDate>
<description><![CDATA[<p>两市成交额放量。<script>alert(1)</script></p>]]></description></item>
<item><title>央行开展2000亿元逆回购操作</title><link>/article/detail/2.html</link><guid isPermaLink="false">stcn-2</guid>
<pubDate>2026-11-26 09:15:00</pubDate><description>人民银行今日开展逆回购。</description></item>
</channel></rss>`)
	headerOnly := gbk(t, `<rss version="2.0"><channel><title>中国证券网</title><link>https://www.cnstock.com/</link>
<item><title>科创板新增上市公司超百家</title><link>https://www.cnstock.com/a/1.html</link>
<pubDate>Thu, 26 Nov 2026 08:00:00 +0800</pubDate><description>募资总额创新高。</description></item>
</channel></rss>`)
	mux := http.NewServeMux()
	mux.HandleFunc("/stcn.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"stcn-v1"`)
		if r.Header.Get("If-None-Match") == `"stcn-v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		w.Write(declared)
	})
	mux.HandleFunc("/cnstock.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml; charset=GBK")
		w.Write(headerOnly)
	})
	mux.HandleFunc("/broken.xml", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

func writeConfig(t *testing.T, dir, listen, srcURL string, broken bool) string {
	t.Helper()
	return writeConfigDB(t, dir, listen, srcURL, broken, "")
}

// writeConfigDB is writeConfig with database: set ("": the default). The
// base_url is http://LISTEN/, or relayBase for a port chosen at start
// (listen: 127.0.0.1:0).
func writeConfigDB(t *testing.T, dir, listen, srcURL string, broken bool, database string) string {
	t.Helper()
	base := "http://" + listen + "/"
	if strings.HasSuffix(listen, ":0") {
		base = relayBase
	}
	cfg := fmt.Sprintf(`listen: %s
base_url: %s
timezone: Asia/Shanghai
log: {format: json, level: info}
defaults: {interval: 1s, timeout: 5s}
categories:
  - title: 证券时报网
  - {slug: markets, title: 市场综合}
sources:
  - name: 证券时报网
    url: %s/stcn.xml
    categories: [zhengquanshibaowang, markets]
  - name: 中国证券网
    slug: cnstock
    url: %s/cnstock.xml
    categories: [markets]
`, listen, base, srcURL, srcURL)
	if database != "" {
		cfg = "database: " + database + "\n" + cfg
	}
	if broken {
		cfg += fmt.Sprintf("  - name: Broken\n    url: %s/broken.xml\n    categories: [markets]\n", srcURL)
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	good := writeConfig(t, dir, "127.0.0.1:0", "http://127.0.0.1:1", false)
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), []string{"check", "-config", good}, &out, &errOut); code != 0 {
		t.Fatalf("check of a good config: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "ok (2 categories, 2 sources)") {
		t.Errorf("check output %q", out.String())
	}

	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("sources:\n  - name: 证券时报网\n    url: https://example.org/rss\n    categories: [nope]\n    interval: 500ms\n    categroy: x\n"), 0o644)
	out.Reset()
	errOut.Reset()
	if code := Run(context.Background(), []string{"check", "-config", bad}, &out, &errOut); code == 0 {
		t.Fatal("check of a bad config exited 0")
	}
	if want := bad + `:6: sources[0].categroy: unknown key "categroy"`; !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr %q lacks %q", errOut.String(), want)
	}
	os.WriteFile(bad, []byte("sources:\n  - name: 证券时报网\n    url: https://example.org/rss\n    categories: [nope]\n    interval: 500ms\n"), 0o644)
	errOut.Reset()
	Run(context.Background(), []string{"check", "-config", bad}, &out, &errOut)
	for _, want := range []string{
		bad + `:4: sources[0].categories[0]: unknown category "nope"`,
		bad + `:5: sources[0].interval: 500ms is below the minimum of 1s`,
	} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr %q lacks %q", errOut.String(), want)
		}
	}
}

func TestPollCommand(t *testing.T) {
	eachBackend(t, func(t *testing.T, database string) {
		ts := sources(t)
		dir := t.TempDir()
		cfg := writeConfigDB(t, dir, "127.0.0.1:0", ts.URL, true, database)
		var out, errOut bytes.Buffer
		code := Run(context.Background(), []string{"poll", "-config", cfg}, &out, &errOut)
		if code != 1 {
			t.Errorf("poll with a failing source exited %d, want 1", code)
		}
		// The failing source says when a daemon would try again (interval 1s,
		// ±10 % jitter), in the configured time zone.
		want := regexp.MustCompile(`^zhengquanshibaowang \(证券时报网\): new 2, updated 0, unchanged 0
cnstock \(中国证券网\): new 1, updated 0, unchanged 0
broken \(Broken\): error: fetch: HTTP 500 Internal Server Error; next try \d{4}-\d\d-\d\d \d\d:\d\d:\d\d CST
$`)
		if !want.MatchString(out.String()) {
			t.Errorf("poll printed:\n%s\nwant:\n%s", out.String(), want)
		}

		// Failures in a row are counted across runs.
		out.Reset()
		Run(context.Background(), []string{"poll", "-config", cfg, "-source", "broken"}, &out, &errOut)
		if !strings.Contains(out.String(), "HTTP 500 Internal Server Error (2 failures in a row); next try") {
			t.Errorf("second poll of a failing source: %q", out.String())
		}

		out.Reset()
		code = Run(context.Background(), []string{"poll", "-config", cfg, "-source", "zhengquanshibaowang"}, &out, &errOut)
		if code != 0 || out.String() != "zhengquanshibaowang (证券时报网): unchanged (not modified)\n" {
			t.Errorf("second poll of one source: exit %d, %q", code, out.String())
		}
		if code := Run(context.Background(), []string{"poll", "-config", cfg, "-source", "nope"}, &out, &errOut); code == 0 {
			t.Error("poll of an unknown source exited 0")
		}
	})
}

// TestServeEndToEnd runs the real binary against real source servers and
// reads what it publishes with a real feed reader library.
func TestServeEndToEnd(t *testing.T) {
	eachBackend(t, func(t *testing.T, database string) {
		if _, err := exec.Command(feedparserPython, "-c", "import feedparser").CombinedOutput(); err != nil {
			t.Fatalf("%s cannot import feedparser (apt-get install python3-feedparser; the test command does): %v", feedparserPython, err)
		}
		dir := t.TempDir()
		ts := sources(t)
		cfg := writeConfigDB(t, dir, "127.0.0.1:0", ts.URL, true, database)
		d := startServe(t, cfg)
		logs := d.logs

		base := "http://" + d.addr(t)
		feedURL := base + "/feeds/markets.atom"
		deadline := time.Now().Add(20 * time.Second)
		var body []byte
		for {
			if resp, err := http.Get(feedURL); err == nil {
				var buf bytes.Buffer
				buf.ReadFrom(resp.Body)
				resp.Body.Close()
				body = buf.Bytes()
				if resp.StatusCode == 200 && bytes.Count(body, []byte("<entry>")) == 3 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no 3 entries at %s within 20s; last body:\n%s", feedURL, body)
			}
			time.Sleep(100 * time.Millisecond)
		}

		script := `
import json, sys, feedparser
d = feedparser.parse(sys.argv[1])
print(json.dumps({
  "bozo": bool(d.bozo), "bozo_exception": str(d.get("bozo_exception", "")),
  "version": d.version, "title": d.feed.get("title"),
  "self": [l.href for l in d.feed.get("links", []) if l.get("rel") == "self"],
  "entries": [{
    "id": e.get("id"), "title": e.get("title"), "link": e.get("link"),
    "author": e.get("author"), "updated": e.get("updated"),
    "content": e.content[0].value if e.get("content") else "",
    "source_title": e.get("source", {}).get("title"),
    "source_links": [l.get("href") for l in e.get("source", {}).get("links", [])],
  } for e in d.entries]}, ensure_ascii=False))
`
		out, err := exec.Command(feedparserPython, "-c", script, feedURL).Output()
		if err != nil {
			t.Fatalf("feedparser: %v", err)
		}
		var got struct {
			Bozo          bool
			BozoException string `json:"bozo_exception"`
			Version       string
			Title         string
			Self          []string
			Entries       []struct {
				ID, Title, Link, Author, Updated, Content string
				SourceTitle                               string   `json:"source_title"`
				SourceLinks                               []string `json:"source_links"`
			}
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if got.Bozo || got.Version != "atom10" || got.Title != "市场综合" {
			t.Errorf("feedparser: bozo=%v (%s) version=%q title=%q", got.Bozo, got.BozoException, got.Version, got.Title)
		}
		// Links are under base_url (a reverse proxy's), not the address
		// the feed was fetched from.
		if want := relayBase + "feeds/markets.atom"; len(got.Self) != 1 || got.Self[0] != want {
			t.Errorf("self link %v, want %s", got.Self, want)
		}
		type want struct{ title, link, author, source, origin string }
		wants := map[string]want{
			"A股三大指数集体高开":      {"A股三大指数集体高开", ts.URL + "/article/detail/1.html", "证券时报记者 王一", "证券时报网-要闻", "（文章来源：证券时报网）"},
			"央行开展2000亿元逆回购操作": {"央行开展2000亿元逆回购操作", ts.URL + "/article/detail/2.html", "证券时报网", "证券时报网-要闻", "（文章来源：证券时报网）"},
			"科创板新增上市公司超百家":    {"科创板新增上市公司超百家", "https://www.cnstock.com/a/1.html", "中国证券网", "中国证券网", "（文章来源：中国证券网）"},
		}
		if len(got.Entries) != len(wants) {
			t.Fatalf("feedparser saw %d entries, want %d", len(got.Entries), len(wants))
		}
		ids := map[string]bool{}
		for _, e := range got.Entries {
			w, ok := wants[e.Title]
			if !ok {
				t.Errorf("unexpected entry title %q (mis-decoded charset?)", e.Title)
				continue
			}
			if e.Link != w.link || e.Author != w.author || e.SourceTitle != w.source {
				t.Errorf("%s: link %q author %q source %q; want %q %q %q", e.Title, e.Link, e.Author, e.SourceTitle, w.link, w.author, w.source)
			}
			if !strings.Contains(e.Content, w.origin) || !strings.Contains(e.Content, w.link) {
				t.Errorf("%s: content lacks the attribution line: %q", e.Title, e.Content)
			}
			if strings.Contains(e.Content, "<script") {
				t.Errorf("%s: content kept a script: %q", e.Title, e.Content)
			}
			if len(e.SourceLinks) == 0 {
				t.Errorf("%s: <source> has no links", e.Title)
			}
			ids[e.ID] = true
		}
		if len(ids) != 3 {
			t.Errorf("ids not distinct: %v", ids)
		}

		// Conditional GET on what we publish.
		resp, err := http.Get(feedURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		req, _ := http.NewRequest(http.MethodGet, feedURL, nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		resp2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp2.Body.Close()
		if resp2.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match: %d, want 304", resp2.StatusCode)
		}

		// The index shows the failing source with its error.
		resp, err = http.Get(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		var index bytes.Buffer
		index.ReadFrom(resp.Body)
		resp.Body.Close()
		if !strings.Contains(index.String(), "HTTP 500 Internal Server Error") {
			t.Errorf("index does not show the failing source's error:\n%s", index.String())
		}

		// Structured logs name the source and URL of each poll.
		if !strings.Contains(logs.String(), `"source":"broken"`) || !strings.Contains(logs.String(), `"url":"`+ts.URL+`/broken.xml"`) {
			t.Errorf("logs lack the failing source's name and URL")
		}

		// Search finds Chinese words of any length, once indexed after the poll.
		for _, q := range []string{"高开", "逆回购操作", "科创板"} {
			waitFor(t, d, base+"/search?q="+url.QueryEscape(q), "search "+q, func(code int, body string) bool {
				return code == 200 && strings.Count(body, "<entry>") == 1
			})
		}

		// Ready, and metrics an operator can graph.
		if resp, err := http.Get(base + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("/readyz: %v %v", resp, err)
		}
		resp, err = http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		var metrics bytes.Buffer
		metrics.ReadFrom(resp.Body)
		resp.Body.Close()
		for _, want := range []string{
			`feedrelay_polls_total{result="ok",source="cnstock"}`,
			`feedrelay_polls_total{result="error",source="broken"}`,
			`feedrelay_http_requests_total{code="200",route="GET /feeds/{file}"}`,
			`feedrelay_http_requests_total{code="304",route="GET /feeds/{file}"} 1`,
			`feedrelay_sources_failing 1`,
			`feedrelay_database_bytes `,
			`feedrelay_poll_duration_seconds_bucket`,
		} {
			if !strings.Contains(metrics.String(), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
		d.stop(t, 5*time.Second)
	})
}

// syncBuffer collects a child's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
