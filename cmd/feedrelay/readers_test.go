package main

// What we publish, read by real feed readers from Debian, as subscribers
// would read it. scripts/install-test-deps installs them; a missing reader
// fails the test (it is never skipped).
//
// Formats each reader reads, checked with the versions Debian 12 ships
// (python3-feedparser 6.0.10, newsboat 2.21, sfeed 1.7) on hand-written
// Atom 1.0, RSS 2.0 and JSON Feed 1.1 documents:
//
//	reader      Atom  RSS 2.0  JSON Feed  <source> title  date it reports
//	feedparser  yes   yes      no (1)     yes             published, else updated
//	newsboat    yes   yes      no (2)     no              published, else updated
//	sfeed       yes   yes      no (3)     no              published, else updated
//
// (1) feedparser 6.0.10 has no JSON parser: a JSON Feed is a bozo XML
// document with no entries. (2) newsboat 2.21 logs "XML root node is NULL",
// stores nothing and still exits 0 (JSON Feed is newsboat issue #426, open).
// (3) sfeed reads XML only (man sfeed: "RSS and Atom parser").
// So a JSON Feed row needs a reader beyond these three.
//
// Where each reader's values come from:
//   - feedparser: feedparser.parse(url) run by /usr/bin/python3 (Debian's
//     Python, which has python3-feedparser; the python3 first on PATH may be
//     another one). It fetches the feed itself.
//   - newsboat: `newsboat -x reload` with a temporary urls file, config,
//     cache and HOME; then its SQLite cache (tables rss_feed and rss_item;
//     rss_item.pubDate is a Unix time) read with modernc.org/sqlite. newsboat
//     exits 0 even when a feed fails, so its log (-d, -l 3) is the error.
//   - sfeed: Go's http client fetches the bytes and pipes them to `sfeed URL`
//     (the URL resolves relative links). Its output is one TAB-separated
//     line per entry: timestamp (Unix, UTC), title, link, content,
//     content-type, id, author, enclosure, categories. In title, id and
//     author every whitespace character is replaced by a space and control
//     characters are removed, so they hold no escapes; only the content
//     field escapes TAB, newline and '\' as \t, \n and \\.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // newsboat's cache, driver "sqlite"
)

const installHint = "run scripts/install-test-deps"

// readerEntry is what a feed reader saw of one entry.
type readerEntry struct {
	ID, Title, Link, Author string
	Date                    time.Time
	Source                  string // the entry's <source> title when the reader exposes it, else ""
}

// readerEnv is the environment of a reader run: loopback never goes through
// a proxy, and nothing is read from or written to the user's home.
func readerEnv(home string) []string {
	env := append(os.Environ(),
		"no_proxy=127.0.0.1,localhost,::1", "NO_PROXY=127.0.0.1,localhost,::1",
		"LANG=C.UTF-8", "LC_ALL=C.UTF-8")
	if home != "" {
		env = append(env, "HOME="+home,
			"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
			"XDG_DATA_HOME="+filepath.Join(home, "data"),
			"XDG_CACHE_HOME="+filepath.Join(home, "cache"))
	}
	return env
}

const feedparserScript = `
import calendar, json, sys, feedparser
d = feedparser.parse(sys.argv[1])
def when(e):
    t = e.get("published_parsed") or e.get("updated_parsed")
    return calendar.timegm(t) if t else None
print(json.dumps({
  "bozo": str(d.get("bozo_exception", "")) if d.bozo else "",
  "status": d.get("status"),
  "entries": [{
    "id": e.get("id", ""), "title": e.get("title", ""), "link": e.get("link", ""),
    "author": e.get("author", ""), "date": when(e),
    "source": e.get("source", {}).get("title", ""),
  } for e in d.entries]}, ensure_ascii=False))
`

// readFeedparser reads feedURL with Debian's python3-feedparser. bozo is ""
// for a well-formed feed, else feedparser's bozo_exception.
func readFeedparser(t *testing.T, feedURL string) (entries []readerEntry, bozo string) {
	t.Helper()
	if out, err := exec.Command(feedparserPython, "-c", "import feedparser").CombinedOutput(); err != nil {
		t.Fatalf("%s cannot import feedparser (%v: %s); %s", feedparserPython, err, bytes.TrimSpace(out), installHint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, feedparserPython, "-c", feedparserScript, feedURL)
	cmd.Env = readerEnv("")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("feedparser %s: %v\n%s", feedURL, err, stderr.String())
	}
	var got struct {
		Bozo    string
		Status  int
		Entries []struct {
			ID, Title, Link, Author, Source string
			Date                            *int64
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("feedparser output: %v\n%s", err, out)
	}
	if got.Status != http.StatusOK {
		t.Fatalf("feedparser %s: HTTP status %d", feedURL, got.Status)
	}
	for _, e := range got.Entries {
		re := readerEntry{ID: e.ID, Title: e.Title, Link: e.Link, Author: e.Author, Source: e.Source}
		if e.Date != nil {
			re.Date = time.Unix(*e.Date, 0).UTC()
		}
		entries = append(entries, re)
	}
	return entries, got.Bozo
}

// readNewsboat subscribes a fresh newsboat to feedURL, reloads it once and
// returns the items its cache holds for that feed.
func readNewsboat(t *testing.T, feedURL string) []readerEntry {
	t.Helper()
	bin, err := exec.LookPath("newsboat")
	if err != nil {
		t.Fatalf("newsboat is not installed (%v); %s", err, installHint)
	}
	dir := t.TempDir()
	urls := filepath.Join(dir, "urls")
	config := filepath.Join(dir, "config")
	cache := filepath.Join(dir, "cache.db")
	logFile := filepath.Join(dir, "newsboat.log")
	if err := os.WriteFile(urls, []byte(feedURL+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, []byte("reload-threads 1\ndownload-timeout 20\ndownload-retries 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-u", urls, "-C", config, "-c", cache, "-d", logFile, "-l", "3", "-x", "reload")
	cmd.Env = readerEnv(dir)
	out, err := cmd.CombinedOutput()
	logText, _ := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("newsboat -x reload %s: %v\n%s\nlog:\n%s", feedURL, err, out, logText)
	}

	db, err := sql.Open("sqlite", "file:"+cache+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM rss_feed WHERE rssurl = ?`, feedURL).Scan(&n); err != nil || n != 1 {
		t.Fatalf("newsboat did not store %s (err %v, %d feeds); its output:\n%s\nlog:\n%s", feedURL, err, n, out, logText)
	}
	rows, err := db.Query(`SELECT guid, title, url, author, pubDate FROM rss_item WHERE feedurl = ? AND deleted = 0 ORDER BY pubDate DESC`, feedURL)
	if err != nil {
		t.Fatalf("newsboat cache: %v", err)
	}
	defer rows.Close()
	var entries []readerEntry
	for rows.Next() {
		var e readerEntry
		var pub int64
		if err := rows.Scan(&e.ID, &e.Title, &e.Link, &e.Author, &pub); err != nil {
			t.Fatalf("newsboat cache: %v", err)
		}
		if pub != 0 {
			e.Date = time.Unix(pub, 0).UTC()
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("newsboat cache: %v", err)
	}
	return entries
}

// readSfeed fetches feedURL with Go's http client and parses the bytes with
// sfeed.
func readSfeed(t *testing.T, feedURL string) []readerEntry {
	t.Helper()
	bin, err := exec.LookPath("sfeed")
	if err != nil {
		t.Fatalf("sfeed is not installed (%v); %s", err, installHint)
	}
	resp, err := http.Get(feedURL)
	if err != nil {
		t.Fatalf("GET %s: %v", feedURL, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", feedURL, resp.Status, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, feedURL)
	cmd.Stdin = bytes.NewReader(body)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sfeed %s: %v\n%s", feedURL, err, stderr.String())
	}
	var entries []readerEntry
	for _, line := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 7 {
			t.Fatalf("sfeed line has %d fields, want 9: %q", len(f), line)
		}
		e := readerEntry{Title: f[1], Link: f[2], ID: f[5], Author: f[6]}
		if f[0] != "" {
			sec, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				t.Fatalf("sfeed timestamp %q: %v", f[0], err)
			}
			e.Date = time.Unix(sec, 0).UTC()
		}
		entries = append(entries, e)
	}
	return entries
}

// feedReader is one reader as the table test runs it.
type feedReader struct {
	name    string
	formats []string // extensions of the feed paths it reads
	source  bool     // whether it exposes the <source> title
	read    func(t *testing.T, feedURL string) []readerEntry
}

var feedReaders = []feedReader{
	{"feedparser", []string{"atom", "rss"}, true, func(t *testing.T, u string) []readerEntry {
		t.Helper()
		entries, bozo := readFeedparser(t, u)
		if bozo != "" {
			t.Errorf("feedparser: bozo: %s", bozo)
		}
		return entries
	}},
	{"newsboat", []string{"atom", "rss"}, false, readNewsboat},
	{"sfeed", []string{"atom", "rss"}, false, readSfeed},
	// No Debian feed reader reads JSON Feed: this reads it as the 1.1 spec
	// tells a reader to, with Python's own JSON parser.
	{"jsonfeed", []string{"json"}, true, readJSONFeed},
}

const jsonFeedScript = `
import json, sys, urllib.request
from datetime import datetime
with urllib.request.urlopen(sys.argv[1]) as r:
    status, ctype, f = r.status, r.headers.get("Content-Type", ""), json.load(r)
problems = []
if not ctype.startswith("application/feed+json"): problems.append("Content-Type " + ctype)
if f.get("version") != "https://jsonfeed.org/version/1.1": problems.append("version %r" % f.get("version"))
for k in ("title", "feed_url", "home_page_url"):
    if not f.get(k): problems.append("no " + k)
if not isinstance(f.get("items"), list): problems.append("no items array")
entries = []
for it in f.get("items", []):
    if not isinstance(it.get("id"), str) or not it["id"]: problems.append("an item without a string id")
    if not (it.get("content_html") or it.get("content_text")): problems.append("an item without content")
    d = it.get("date_published") or it.get("date_modified")
    authors = it.get("authors") or []
    entries.append({"ID": it.get("id", ""), "Title": it.get("title", ""), "Link": it.get("url", ""),
        "Author": authors[0].get("name", "") if authors else "",
        "Source": (it.get("_source") or {}).get("title", ""),
        "Date": int(datetime.fromisoformat(d.replace("Z", "+00:00")).timestamp()) if d else None})
print(json.dumps({"Status": status, "Problems": problems, "Entries": entries}, ensure_ascii=False))
`

// readJSONFeed reads a JSON Feed 1.1 with /usr/bin/python3's json module,
// failing the test on what the spec requires and the feed lacks.
func readJSONFeed(t *testing.T, feedURL string) []readerEntry {
	t.Helper()
	out, err := exec.Command(feedparserPython, "-c", jsonFeedScript, feedURL).Output()
	if err != nil {
		t.Fatalf("jsonfeed %s: %v", feedURL, err)
	}
	var got struct {
		Status   int
		Problems []string
		Entries  []struct {
			ID, Title, Link, Author, Source string
			Date                            *int64
		}
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("jsonfeed output: %v\n%s", err, out)
	}
	if got.Status != http.StatusOK || len(got.Problems) > 0 {
		t.Errorf("jsonfeed %s: status %d, problems %v", feedURL, got.Status, got.Problems)
	}
	var entries []readerEntry
	for _, e := range got.Entries {
		re := readerEntry{ID: e.ID, Title: e.Title, Link: e.Link, Author: e.Author, Source: e.Source}
		if e.Date != nil {
			re.Date = time.Unix(*e.Date, 0).UTC()
		}
		entries = append(entries, re)
	}
	return entries
}

// atomIDs maps the title of each entry of an Atom document to its <id>.
func atomIDs(t *testing.T, feedURL string) map[string]string {
	t.Helper()
	resp, err := http.Get(feedURL)
	if err != nil {
		t.Fatalf("GET %s: %v", feedURL, err)
	}
	defer resp.Body.Close()
	var doc struct {
		Entries []struct {
			ID    string `xml:"id"`
			Title string `xml:"title"`
		} `xml:"entry"`
	}
	if err := xml.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("%s: %v", feedURL, err)
	}
	ids := map[string]string{}
	for _, e := range doc.Entries {
		ids[e.Title] = e.ID
	}
	return ids
}

// TestReadersSeeEveryEntry runs the real binary on the GBK sources of
// sources(t) and checks that every real reader sees each published entry
// exactly once, with the title, link, date, author (and, where the reader
// shows it, <source> title) its source gave, and the <id> we published.
func TestReadersSeeEveryEntry(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	// The sources' own dates: stcn writes them without a zone (the config's
	// timezone, Asia/Shanghai, applies), cnstock in RFC 1123 with +0800.
	local := func(s string) time.Time {
		tm, err := time.ParseInLocation(time.DateTime, s, shanghai)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	rfc1123 := func(s string) time.Time {
		tm, err := time.Parse(time.RFC1123Z, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}

	dir := t.TempDir()
	ts := sources(t)
	d := startServe(t, writeConfig(t, dir, "127.0.0.1:0", ts.URL, false))
	base := "http://" + d.addr(t)

	// Expected values as in TestServeEndToEnd, by title.
	type want struct {
		link, author, source string
		date                 time.Time
	}
	wants := map[string]want{
		"A股三大指数集体高开":      {ts.URL + "/article/detail/1.html", "证券时报记者 王一", "证券时报网-要闻", local("2026-11-26 09:30:00")},
		"央行开展2000亿元逆回购操作": {ts.URL + "/article/detail/2.html", "证券时报网", "证券时报网-要闻", local("2026-11-26 09:15:00")},
		"科创板新增上市公司超百家":    {"https://www.cnstock.com/a/1.html", "中国证券网", "中国证券网", rfc1123("Thu, 26 Nov 2026 08:00:00 +0800")},
	}
	markets := []string{"A股三大指数集体高开", "央行开展2000亿元逆回购操作", "科创板新增上市公司超百家"}

	rows := []struct {
		path   string
		titles []string // the entries the feed holds
	}{
		{"/feeds/markets.atom", markets},
		{"/feeds/markets.rss", markets},
		{"/feeds/markets.json", markets},
		{"/sources/cnstock.atom", []string{"科创板新增上市公司超百家"}},
		{"/sources/cnstock.rss", []string{"科创板新增上市公司超百家"}},
		{"/sources/cnstock.json", []string{"科创板新增上市公司超百家"}},
	}

	// Wait until the category holds all its entries (both sources polled).
	feedURL := base + "/feeds/markets.atom"
	var body []byte
	for deadline := time.Now().Add(20 * time.Second); ; {
		d.checkRunning(t)
		if resp, err := http.Get(feedURL); err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && bytes.Count(body, []byte("<entry>")) == len(markets) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d entries at %s within 20s; last body:\n%s", len(markets), feedURL, body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	t.Run("readers", func(t *testing.T) {
		for _, row := range rows {
			url := base + row.path
			format := row.path[strings.LastIndexByte(row.path, '.')+1:]
			// The ids every reader must report: those of the Atom document
			// (for .rss and .json rows, of their .atom sibling: an entry
			// keeps its id in every format).
			ids := atomIDs(t, strings.TrimSuffix(url, "."+format)+".atom")
			n := 0
			for _, r := range feedReaders {
				if !slices.Contains(r.formats, format) {
					continue
				}
				n++
				t.Run(strings.TrimPrefix(row.path, "/")+"/"+r.name, func(t *testing.T) {
					t.Parallel()
					entries := r.read(t, url)
					seen := map[string]int{}
					for _, e := range entries {
						seen[e.Title]++
						w, ok := wants[e.Title]
						if !ok || !slices.Contains(row.titles, e.Title) {
							t.Errorf("%s: unexpected entry %+v (mis-decoded charset?)", r.name, e)
							continue
						}
						if e.Link != w.link {
							t.Errorf("%s: %s: link %q, want %q", r.name, e.Title, e.Link, w.link)
						}
						if e.Author != w.author {
							t.Errorf("%s: %s: author %q, want %q", r.name, e.Title, e.Author, w.author)
						}
						if !e.Date.Equal(w.date) {
							t.Errorf("%s: %s: date %v, want %v (%v)", r.name, e.Title, e.Date, w.date.UTC(), w.date)
						}
						if r.source && e.Source != w.source {
							t.Errorf("%s: %s: <source> title %q, want %q", r.name, e.Title, e.Source, w.source)
						}
						if e.ID == "" || e.ID != ids[e.Title] {
							t.Errorf("%s: %s: id %q, want the published <id> %q", r.name, e.Title, e.ID, ids[e.Title])
						}
					}
					for _, title := range row.titles {
						if seen[title] != 1 {
							t.Errorf("%s saw %q %d times, want once", r.name, title, seen[title])
						}
					}
					if t.Failed() {
						t.Logf("%s saw %d entries: %+v", r.name, len(entries), entries)
					}
				})
			}
			if n == 0 {
				t.Errorf("%s: no reader here reads .%s feeds", row.path, format)
			}
		}
	})

	d.stop(t, 5*time.Second)
}
