package main

// TestCorpusPipeline runs the whole program over the corpus of real-world
// feeds (feeds/testdata/corpus: other parsers' test inputs, with origins and
// licences in its MANIFEST.tsv and README.md) and checks that no item is lost
// anywhere on the way: for every file that feedparser reads without bozo,
// the distinct entries feedparser sees = the items `poll` stores = the
// entries a reader reaches through the source's republished feed.

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds/feedstest"
)

const corpusDir = "../../feeds/testdata/corpus"

// fpEntry is one entry as feedparser reports it.
type fpEntry struct {
	ID, Link, Title, Date string
}

// fpFile is what feedparser makes of one corpus file.
type fpFile struct {
	Path      string
	Bozo      bool
	Exception string `json:"exc"`
	Version   string // the format feedparser recognised ("rss20", "atom10"…), "" for none
	Entries   []fpEntry
}

// corpusFeedparserScript reads every corpus file with feedparser, as a reader
// subscribed to it would: with the HTTP headers the MANIFEST gives (none
// when it gives none: with any, feedparser behaves as over HTTP and flags a
// missing Content-Type), gzip bodies decompressed as the HTTP client does.
const corpusFeedparserScript = `
import gzip, json, sys, feedparser
out = []
for f in json.load(sys.stdin):
    data = open(f["file"], "rb").read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    headers = {k.lower(): ", ".join(v) for k, v in f["headers"].items()}
    d = feedparser.parse(data, response_headers=headers or None)
    out.append({"path": f["path"], "bozo": bool(d.bozo), "exc": str(d.get("bozo_exception", "")),
        "version": d.get("version", ""),
        "entries": [{"id": (e.get("id") or "").strip(), "link": (e.get("link") or "").strip(),
                     "title": (e.get("title") or "").strip(),
                     "date": e.get("published") or e.get("updated") or ""} for e in d.entries]})
json.dump(out, sys.stdout, ensure_ascii=False)
`

func readWithFeedparser(t *testing.T, files []feedstest.CorpusFile) map[string]fpFile {
	t.Helper()
	type req struct {
		Path    string      `json:"path"`
		File    string      `json:"file"`
		Headers http.Header `json:"headers"`
	}
	var reqs []req
	for _, f := range files {
		reqs = append(reqs, req{f.Path, filepath.Join(corpusDir, filepath.FromSlash(f.Path)), f.Headers})
	}
	in, _ := json.Marshal(reqs)
	cmd := exec.Command(feedparserPython, "-c", corpusFeedparserScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("feedparser (%s; apt-get install python3-feedparser, the test command does): %v\n%s", feedparserPython, err, stderr.String())
	}
	var got []fpFile
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("feedparser output: %v", err)
	}
	byPath := map[string]fpFile{}
	for _, f := range got {
		byPath[f.Path] = f
	}
	return byPath
}

// distinct returns the entries feedparser sees that are distinct items by
// feedrelay's identity rule (DESIGN.md, "Identity and deduplication"): the
// entry id / RSS guid when present, else the whole link (fragment
// included), else title + date. As feeds does, one id given to entries with
// different titles or links (a feed reusing a guid) is several items.
func distinct(entries []fpEntry) []fpEntry {
	titlesLinks := map[string]map[[2]string]bool{}
	for _, e := range entries {
		if e.ID != "" {
			if titlesLinks[e.ID] == nil {
				titlesLinks[e.ID] = map[[2]string]bool{}
			}
			titlesLinks[e.ID][[2]string{e.Title, e.Link}] = true
		}
	}
	seen := map[string]bool{}
	var out []fpEntry
	for _, e := range entries {
		var key string
		switch {
		case e.ID != "" && len(titlesLinks[e.ID]) > 1:
			key = "id:" + e.ID + "\x00" + e.Title + "\x00" + e.Link
		case e.ID != "":
			key = "id:" + e.ID
		case e.Link != "":
			key = "link:" + e.Link
		default:
			key = "title:" + e.Title + "\x00" + e.Date
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, e)
		}
	}
	return out
}

// pubEntry is one entry of a republished feed page.
type pubEntry struct {
	ID    string `xml:"id"`
	Title string `xml:"title"`
	Links []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"link"`
}

func (e pubEntry) alternate() string {
	for _, l := range e.Links {
		if l.Rel == "" || l.Rel == "alternate" {
			return l.Href
		}
	}
	return ""
}

// republished reads /sources/{slug}.atom of the daemon at base, and every
// page rel="next" leads to: links under public (the config's base_url),
// followed on base as a reverse proxy serving public would.
func republished(base, public, slug string) ([]pubEntry, int, error) {
	var all []pubEntry
	seenPage := map[string]bool{}
	next := base + "/sources/" + slug + ".atom"
	pages := 0
	for next != "" {
		if seenPage[next] {
			return all, pages, fmt.Errorf("rel=next loops back to %s", next)
		}
		seenPage[next] = true
		resp, err := http.Get(next)
		if err != nil {
			return all, pages, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return all, pages, fmt.Errorf("GET %s: %d %v: %.200s", next, resp.StatusCode, err, body)
		}
		pages++
		var page struct {
			Links []struct {
				Rel  string `xml:"rel,attr"`
				Href string `xml:"href,attr"`
			} `xml:"link"`
			Entries []pubEntry `xml:"entry"`
		}
		if err := xml.Unmarshal(body, &page); err != nil {
			return all, pages, fmt.Errorf("GET %s: %v", next, err)
		}
		all = append(all, page.Entries...)
		this := next
		next = ""
		for _, l := range page.Links {
			if l.Rel == "next" {
				if next, err = proxied(base, public, l.Href); err != nil {
					return all, pages, fmt.Errorf("GET %s: rel=next: %w", this, err)
				}
			}
		}
	}
	return all, pages, nil
}

// missing returns the feedparser entries no republished entry stands for,
// described for a failure message. An entry is matched by its id, else its
// link, else its title; one with none of them (feedrelay titles it from its
// content) by any republished entry left over.
func missing(want []fpEntry, got []pubEntry) []string {
	used := make([]bool, len(got))
	match := func(ok func(pubEntry) bool) bool {
		for i, e := range got {
			if !used[i] && ok(e) {
				used[i] = true
				return true
			}
		}
		return false
	}
	var anonymous int
	var out []string
	for _, w := range want {
		switch {
		case w.ID != "" && match(func(e pubEntry) bool { return e.ID == w.ID }):
		case w.Link != "" && match(func(e pubEntry) bool { return e.alternate() == w.Link }):
		case w.Title != "" && match(func(e pubEntry) bool { return e.Title == w.Title }):
		case w.ID == "" && w.Link == "" && w.Title == "":
			anonymous++
		default:
			out = append(out, fmt.Sprintf("{id %q, link %q, title %q}", w.ID, w.Link, w.Title))
		}
	}
	for ; anonymous > 0; anonymous-- {
		if !match(func(pubEntry) bool { return true }) {
			out = append(out, "an entry without id, link or title")
		}
	}
	return out
}

func TestCorpusPipeline(t *testing.T) {
	files, err := feedstest.ReadCorpus(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	origin := httptest.NewServer(feedstest.CorpusHandler(corpusDir, files))
	t.Cleanup(origin.Close)
	fp := readWithFeedparser(t, files)

	// One source per file feedparser reads without bozo.
	type source struct {
		slug string
		file feedstest.CorpusFile
		want []fpEntry
		// feed says whether feedparser recognised a feed format.
		feed bool
	}
	var sources []source
	seen := 0
	for _, f := range files {
		r, ok := fp[f.Path]
		if !ok {
			t.Fatalf("feedparser did not report on %s", f.Path)
		}
		if r.Bozo {
			continue
		}
		seen += len(r.Entries)
		sources = append(sources, source{slug: fmt.Sprintf("c%03d", len(sources)), file: f, want: distinct(r.Entries), feed: r.Version != ""})
	}
	if len(sources) == 0 {
		t.Fatal("feedparser reads no corpus file without bozo")
	}

	dir := t.TempDir()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, `listen: 127.0.0.1:0
base_url: %s
database: %s
page_size: 3
log: {format: json, level: info}
defaults: {interval: 6h, timeout: 10s}
categories:
  - {slug: corpus, title: Corpus}
sources:
`, relayBase, filepath.Join(dir, "corpus.db"))
	for _, s := range sources {
		fmt.Fprintf(&cfg, "  - {name: %q, slug: %s, url: %q, categories: [corpus]}\n", s.file.Path, s.slug, origin.URL+"/"+s.file.Path)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	// Poll every source once into a fresh database: "new N" is what was
	// stored.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var pollOut, pollErr bytes.Buffer
	Run(ctx, []string{"poll", "-config", cfgPath}, &pollOut, &pollErr)
	line := regexp.MustCompile(`(?m)^(c\d{3}) \((.*)\): (.*)$`)
	polled := map[string]string{}
	for _, m := range line.FindAllStringSubmatch(pollOut.String(), -1) {
		polled[m[1]] = m[3]
	}
	newItems := regexp.MustCompile(`^new (\d+), updated 0, unchanged 0$`)

	// Serve what was stored.
	serveCtx, stopServe := context.WithCancel(context.Background())
	served := make(chan int, 1)
	var serveLog syncBuffer
	go func() { served <- Run(serveCtx, []string{"serve", "-config", cfgPath}, &serveLog, &serveLog) }()
	defer func() {
		stopServe()
		select {
		case <-served:
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop within 10 s of its context's end")
		}
	}()
	base := "http://" + servingAddr(t, &serveLog, func() bool { return len(served) > 0 })
	for deadline := time.Now().Add(10 * time.Second); ; {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer /healthz within 10 s:\n%s", serveLog.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	var totals struct{ files, bozoFree, seen, distinct, stored, reachable, pages, matched int }
	totals.files, totals.bozoFree, totals.seen = len(files), len(sources), seen
	for _, s := range sources {
		totals.distinct += len(s.want)
		summary, ok := polled[s.slug]
		stored := -1
		if m := newItems.FindStringSubmatch(summary); m != nil {
			stored, _ = strconv.Atoi(m[1])
			totals.stored += stored
		}
		entries, pages, err := republished(base, relayBase, s.slug)
		totals.reachable += len(entries)
		totals.pages += pages
		ids := map[string]bool{}
		for _, e := range entries {
			if ids[e.ID] {
				t.Errorf("%s: entry %s reached twice through the feed pages", s.file.Path, e.ID)
			}
			ids[e.ID] = true
		}

		// What is lost before storage, and what is lost between
		// storage and the feed pages.
		var stage = map[string][]string{}
		switch {
		case !ok:
			stage["store"] = append(stage["store"], "poll printed no line for it")
		case stored < 0 && !s.feed && len(s.want) == 0:
			// Nothing to lose: a document in which feedparser
			// recognises no feed (an empty body, a <note>) may be
			// refused.
			t.Logf("%s: feedparser sees no feed in it; poll: %s", s.file.Path, summary)
			stored = 0
		case stored < 0:
			stage["store"] = append(stage["store"], "poll: "+summary)
		case stored != len(s.want):
			stage["store"] = append(stage["store"], fmt.Sprintf("feedparser sees %d distinct entries, %d stored", len(s.want), stored))
		}
		if err != nil {
			stage["publish"] = append(stage["publish"], "reading its feed: "+err.Error())
		}
		if len(entries) != len(s.want) {
			stage["publish"] = append(stage["publish"], fmt.Sprintf("feedparser sees %d distinct entries, %d reachable through /sources/%s.atom (%d pages)", len(s.want), len(entries), s.slug, pages))
		}
		if m := missing(s.want, entries); len(m) > 0 {
			stage["publish"] = append(stage["publish"], "not republished: "+strings.Join(m, ", "))
		}
		if problems := append(stage["store"], stage["publish"]...); len(problems) > 0 {
			t.Errorf("%s (%s): %s", s.file.Path, s.slug, strings.Join(problems, "; "))
		} else {
			totals.matched++
		}
	}

	t.Logf("corpus: %d files, %d read by feedparser without bozo (%d entries, %d distinct items)", totals.files, totals.bozoFree, totals.seen, totals.distinct)
	t.Logf("stored %d items; %d entries reachable through %d republished feed pages", totals.stored, totals.reachable, totals.pages)
	t.Logf("%d of %d files: distinct = stored = reachable", totals.matched, totals.bozoFree)
	var skipped []string
	for _, f := range files {
		if r := fp[f.Path]; r.Bozo {
			skipped = append(skipped, f.Path)
		}
	}
	sort.Strings(skipped)
	t.Logf("%d files feedparser flags bozo (not compared), e.g. %s", len(skipped), strings.Join(skipped[:min(3, len(skipped))], ", "))
}
