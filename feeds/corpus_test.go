package feeds

// TestCorpus feeds every file of testdata/corpus (real-world test inputs of
// other feed parsers; see testdata/corpus/README.md and MANIFEST.tsv for
// origin and licence) through fetch → parse → normalize, served over HTTP
// with the headers its origin test used.

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/feedrelay/feedrelay/feeds/feedstest"
)

const corpusDir = "testdata/corpus"

// corpusTimeout bounds one file's fetch and parse; the files are at most a
// few hundred kilobytes, so anything near this is a hang.
const corpusTimeout = 20 * time.Second

// corpusRow is one line of MANIFEST.tsv.
type corpusRow = feedstest.CorpusFile

func readCorpusManifest(t testing.TB) []corpusRow {
	t.Helper()
	rows, err := feedstest.ReadCorpus(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// corpusServer serves testdata/corpus, with the MANIFEST's headers.
func corpusServer(t *testing.T, rows []corpusRow) *httptest.Server {
	srv := httptest.NewServer(feedstest.CorpusHandler(corpusDir, rows))
	t.Cleanup(srv.Close)
	return srv
}

// knownBugs are corpus files the code gets wrong today, with why. Each is
// a genuine production defect to fix; the subtest still runs (and must not
// panic or hang) but its content assertions are relaxed.
var knownBugs = map[string]string{}

// corpusNotJSONFeed are JSON files that are no JSON Feed: ScriptingNews is
// RSS-in-JSON, without a top-level "version". They must give ErrNotAFeed
// naming the reason, not an empty success. (gofeed's fixtures that say
// "version": "1.0"/"1.1" beside their items are read, as gofeed and
// Miniflux read them: see isJSONFeedVersion.)
var corpusNotJSONFeed = map[string]bool{
	"json/netnewswire__ScriptingNews.json": true,
}

// corpusExpected are exact decoded texts for some charset cases. Keys are
// MANIFEST file names; the check is a func so that it can look at the
// right field.
var corpusExpected = map[string]func(f *Feed) (got, want string){
	// EUC-KR declared in the XML declaration; origin: feed['title'] == '\ub144'.
	"encoding/feedparser__encoding__euc-kr.xml": func(f *Feed) (string, string) { return f.Title, "\ub144" },
	"encoding/feedparser__encoding__euc-kr-item.xml": func(f *Feed) (string, string) {
		return firstItem(f).Content, "\ub144"
	},
	// application/xml without charset, declaration says utf-8.
	"encoding/feedparser__encoding__http_i18n.xml": func(f *Feed) (string, string) {
		return f.Title, "I\u00f1t\u00ebrn\u00e2ti\u00f4n\u00e0liz\u00e6ti\u00f8n"
	},
	// Departs from the origin (feedparser), which follows RFC 3023: text/xml
	// without a charset is us-ascii there, so it expects a bozo
	// CharacterEncodingOverride. RFC 7303 §3 drops that rule: the XML
	// declaration (utf-8) decides, and the title decodes cleanly.
	"encoding/feedparser__encoding__bozo_http_i18n.xml": func(f *Feed) (string, string) {
		return f.Title, "I\u00f1t\u00ebrn\u00e2ti\u00f4n\u00e0liz\u00e6ti\u00f8n"
	},
	// windows-1252 from the HTTP charset, no XML declaration.
	"encoding/feedparser__encoding__http_text_xml_charset_2.xml": func(f *Feed) (string, string) {
		return firstItem(f).Content, "This is a \u00a3\u201ctest.\u201d"
	},
	// No charset anywhere, GB 2312 bytes: detected (the origin expects
	// encoding == 'GB2312'; we read GB 2312 as GB18030, its superset).
	"illformed/feedparser__illformed__chardet__gb2312.xml": func(f *Feed) (string, string) {
		return firstItem(f).Title, "不归移民漫画系列：专业工作"
	},
	// HTTP windows-1252 beats the declared iso-8859-1 (RFC 7303 §3).
	"encoding/feedparser__encoding__http_text_xml_charset_overrides_encoding_2.xml": func(f *Feed) (string, string) {
		return firstItem(f).Content, "This is a \u00a3\u201ctest.\u201d"
	},
}

func firstItem(f *Feed) Item {
	if len(f.Items) == 0 {
		return Item{}
	}
	return f.Items[0]
}

type corpusOutcome struct {
	feed *Feed
	err  error
}

func fetchAndParse(ctx context.Context, fetcher *Fetcher, url string) (out corpusOutcome) {
	defer func() {
		if p := recover(); p != nil {
			out = corpusOutcome{err: fmt.Errorf("PANIC: %v", p)}
		}
	}()
	resp, err := fetcher.Fetch(ctx, Request{URL: url, Timeout: corpusTimeout, MaxBodySize: 16 << 20})
	if err != nil {
		return corpusOutcome{err: fmt.Errorf("fetch: %w", err)}
	}
	f, err := Parse(resp.Body, resp.ContentType, "", resp.URL, time.UTC)
	return corpusOutcome{feed: f, err: err}
}

func TestCorpus(t *testing.T) {
	rows := readCorpusManifest(t)
	srv := corpusServer(t, rows)
	fetcher := NewFetcher("")

	// Every file in the corpus is in the MANIFEST and vice versa.
	listed := map[string]bool{}
	for _, r := range rows {
		listed[r.Path] = true
	}
	onDisk := 0
	filepath.WalkDir(corpusDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(corpusDir, p)
		rel = filepath.ToSlash(rel)
		if rel == "MANIFEST.tsv" || rel == "README.md" {
			return nil
		}
		onDisk++
		if !listed[rel] {
			t.Errorf("%s is not in MANIFEST.tsv", rel)
		}
		return nil
	})
	if onDisk != len(rows) {
		t.Errorf("%d corpus files on disk, %d MANIFEST rows", onDisk, len(rows))
	}

	var mu sync.Mutex
	tally := map[string]int{}
	count := func(kind string) {
		mu.Lock()
		tally[kind]++
		mu.Unlock()
	}

	for _, row := range rows {
		t.Run(row.Path, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), corpusTimeout)
			defer cancel()
			done := make(chan corpusOutcome, 1)
			go func() { done <- fetchAndParse(ctx, fetcher, srv.URL+"/"+row.Path) }()
			var out corpusOutcome
			select {
			case out = <-done:
			case <-time.After(corpusTimeout + 5*time.Second):
				count("hang")
				t.Fatalf("fetch+parse did not finish within %v", corpusTimeout)
			}
			kind := outcomeKind(out)
			count(kind)
			bug, isBug := knownBugs[row.Path]
			if isBug {
				t.Logf("known bug (%s): %s", bug, kind)
			}
			checkCorpusOutcome(t, row, out, isBug)
		})
	}

	kinds := make([]string, 0, len(tally))
	for k := range tally {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		t.Logf("%4d %s", tally[k], k)
	}
}

// outcomeKind sorts a result for the summary.
func outcomeKind(out corpusOutcome) string {
	switch err := out.err; {
	case err == nil:
		return "parsed"
	case strings.HasPrefix(err.Error(), "PANIC"):
		return "panic"
	case errors.Is(err, ErrNotAFeed):
		return "error: not a feed"
	case strings.Contains(err.Error(), "empty body"):
		return "error: empty body"
	case strings.Contains(err.Error(), "unknown charset"):
		return "error: unknown charset"
	case strings.Contains(err.Error(), "invalid JSON"):
		return "error: invalid JSON"
	case strings.HasPrefix(err.Error(), "fetch:"):
		return "error: fetch"
	default:
		return "error: parse"
	}
}

func checkCorpusOutcome(t *testing.T, row corpusRow, out corpusOutcome, isBug bool) {
	t.Helper()
	f, err := out.feed, out.err
	if err != nil && strings.HasPrefix(err.Error(), "PANIC") {
		t.Fatalf("%v", err) // never acceptable, known bug or not
	}
	if err != nil {
		msg := strings.TrimSpace(strings.TrimPrefix(err.Error(), "parse:"))
		if msg == "" {
			t.Errorf("error says nothing: %q", err)
		}
		if f != nil {
			t.Errorf("feed returned alongside error %v", err)
		}
		t.Logf("error: %v", err)
	} else if f == nil {
		t.Fatal("neither a feed nor an error")
	} else {
		t.Logf("parsed: title %q, %d items", f.Title, len(f.Items))
	}
	if isBug {
		if err == nil {
			t.Errorf("known bug %q seems fixed: remove it from knownBugs", knownBugs[row.Path])
		}
		return
	}

	dir, _, _ := strings.Cut(row.Path, "/")
	mustParse := false
	switch {
	case corpusNotJSONFeed[row.Path]:
		if !errors.Is(err, ErrNotAFeed) || !strings.Contains(err.Error(), "jsonfeed.org version") {
			t.Errorf("JSON without a jsonfeed.org version gave %v, want ErrNotAFeed saying so", err)
		}
	case strings.Contains(row.Format, "INVALID"):
		// The invalid-on-purpose JSON files must not be an empty success.
		if err == nil {
			t.Fatalf("invalid JSON parsed as a feed with %d items", len(f.Items))
		}
	case strings.HasPrefix(row.Format, "jsonfeed"):
		mustParse = true
	case dir == "edge":
		mustParse = true
	case dir == "encoding":
		// Well-formed and decodable under RFC 7303 rules.
		mustParse = row.WellFormed == "well-formed" && row.DecodeOK()
	case row.Format == "other:note":
		if !errors.Is(err, ErrNotAFeed) {
			t.Errorf("a non-feed XML document gave %v, want ErrNotAFeed", err)
		}
	case row.Format == "other:":
		if err == nil {
			t.Errorf("an empty document parsed as a feed")
		}
	}
	// illformed/ and the "json(not-jsonfeed?)" files may give a clear error
	// or a sane partial result; both are checked below.
	if mustParse && err != nil {
		t.Fatalf("want a feed, got error: %v", err)
	}
	if f == nil {
		return
	}

	// Whatever parsed is valid UTF-8 throughout, and text the MANIFEST says
	// decodes cleanly carries no U+FFFD: the charset was chosen right
	// (RFC 7303: BOM, then HTTP charset, then XML declaration, then UTF-8).
	check := func(what, s string, noFFFD bool) {
		if !utf8.ValidString(s) {
			t.Errorf("%s is not valid UTF-8: %q", what, s)
		}
		if noFFFD && strings.ContainsRune(s, utf8.RuneError) {
			t.Errorf("%s holds U+FFFD (wrong charset?): %q", what, s)
		}
	}
	ok := row.DecodeOK()
	check("feed title", f.Title, ok)
	check("feed id", f.ID, false)
	check("site URL", f.SiteURL, false)
	for i, it := range f.Items {
		check(fmt.Sprintf("item %d title", i), it.Title, ok)
		check(fmt.Sprintf("item %d content", i), it.Content, ok)
		check(fmt.Sprintf("item %d summary", i), it.Summary, ok)
		check(fmt.Sprintf("item %d author", i), it.Author, ok)
		check(fmt.Sprintf("item %d link", i), it.Link, false)
		check(fmt.Sprintf("item %d identity", i), it.Identity, false)
		if it.Identity == "" {
			t.Errorf("item %d has no identity", i)
		}
	}
	if exp, ok := corpusExpected[row.Path]; ok {
		if got, want := exp(f); got != want {
			t.Errorf("decoded text = %q, want %q", got, want)
		}
	}
}
