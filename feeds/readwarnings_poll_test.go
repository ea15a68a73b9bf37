package feeds_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/feeds/feedstest"
	"github.com/feedrelay/feedrelay/storage"
)

// pollCorpusFile polls one file of testdata/corpus (see its README and
// MANIFEST.tsv for origin and licence), served as its origin test served
// it, as source slug, and returns the poll's result and what was stored.
func pollCorpusFile(t *testing.T, path, slug string) (*feeds.Result, []storage.Entry, string) {
	t.Helper()
	rows, err := feedstest.ReadCorpus("testdata/corpus")
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(feedstest.CorpusHandler("testdata/corpus", rows))
	defer ts.Close()
	p, db := newPoller(t, slug)
	var logged bytes.Buffer
	p.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	r := p.Poll(context.Background(), feeds.Source{Slug: slug, URL: ts.URL + "/" + path, Interval: time.Hour,
		Timeout: 10 * time.Second, MaxBodySize: 1 << 20})
	if r.Err != nil {
		t.Fatalf("%s: %s", path, r.Summary())
	}
	es, err := db.Entries(context.Background(), storage.EntryQuery{Sources: []string{slug}, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	return r, es, logged.String()
}

// Feeds that name their charset nowhere (no HTTP charset, no BOM, no XML
// declaration) in encodings other than UTF-8 — feedparser's chardet cases:
// each is stored as its real text, as feedparser reads the same bytes
// decoded in the encoding its MANIFEST row names, and the poll says that
// the charset was guessed (its summary, its log, the source's health).
// Thai in TIS-620, which the detector has no model for, is not guessed:
// its bytes become U+FFFD as before, but no longer silently.
func TestPoll_UndeclaredCharsetDetected(t *testing.T) {
	const dir = "illformed/feedparser__illformed__chardet__"
	for _, c := range []struct {
		file, label string
		title, text string // the first item's, as feedparser reads them; text is a prefix of its description
	}{
		{"gb2312.xml", "gb18030", "不归移民漫画系列：专业工作", ""},
		{"eucjp.xml", "euc-jp", "ゲーム三昧な正月", "『SDガンダムGジェネレーションNEO』をずっとプレイしている。"},
		{"euckr.xml", "euc-kr", "EUC-KR 에서 TypeKey 한글닉네임 표시하기", "TypeKey 시스템이 UTF-8로 돌아가는데"},
		{"koi8r.xml", "koi8-r", "Как пережить новогоднюю ночь", "Наверное, единственное, во что сегодня можно верить"},
		{"shiftjis.xml", "shift_jis", "DrecomRSSに記事投稿が反映されない…", "色々調べてたら、MT3.2がRSS1.0をサポートしていないことが判明。"},
		{"windows1255.xml", "iso-8859-8-i", "", "האם תדפיס נייר של אתר אינטרנט שמוצג על מסך משתמש הוא העתק נאמן למקור"},
	} {
		t.Run(c.file, func(t *testing.T) {
			r, es, log := pollCorpusFile(t, dir+c.file, "src")
			if r.Counts.New != 1 || len(es) != 1 {
				t.Fatalf("%s; %d stored", r.Summary(), len(es))
			}
			e := es[0]
			if strings.ContainsRune(e.Title+e.Summary+e.Content, '\uFFFD') {
				t.Errorf("U+FFFD stored: title %q, summary %q", e.Title, e.Summary)
			}
			if c.title != "" && e.Title != c.title {
				t.Errorf("title %q, want %q", e.Title, c.title)
			}
			if c.text != "" && !strings.Contains(e.Summary+e.Content, c.text) {
				t.Errorf("text %q, want it to hold %q", e.Summary+e.Content, c.text)
			}
			want := "charset not declared; read as " + c.label + " (detected, confidence "
			if !strings.Contains(r.Summary(), "; "+want) || !strings.Contains(r.Warning(), want) {
				t.Errorf("summary %q, want it to say %q", r.Summary(), want)
			}
			if !strings.Contains(log, `level=WARN msg="poll: body read with a warning" source=src`) || !strings.Contains(log, want) {
				t.Errorf("log lacks the warning:\n%s", log)
			}
		})
	}

	t.Run("tis620.xml", func(t *testing.T) {
		r, es, _ := pollCorpusFile(t, dir+"tis620.xml", "src")
		if len(es) != 1 {
			t.Fatalf("%s; %d stored", r.Summary(), len(es))
		}
		want := "charset not declared and not detected; 231 bytes not valid UTF-8 replaced with U+FFFD"
		if !strings.Contains(r.Summary(), want) {
			t.Errorf("summary %q, want it to say %q", r.Summary(), want)
		}
	})
}

// A UTF-8 feed that declares nothing reads as before, without a warning.
func TestPoll_UndeclaredUTF8NoWarning(t *testing.T) {
	r, es, log := pollCorpusFile(t, "encoding/feedparser__encoding__demoronize-1.xml", "src")
	if len(es) != 1 || r.Warning() != "" || r.Summary() != "new 1, updated 0, unchanged 0" || strings.Contains(log, "WARN") {
		t.Errorf("%d stored, summary %q, log:\n%s", len(es), r.Summary(), log)
	}
}

// NetNewsWire's rose.json gives every item "tags" as a string ("a,b", or
// ""), which gofeed's strict decoding rejected with the whole feed: all 84
// items are stored, the tags read as the lists they mean, and the poll
// says what it mended.
func TestPoll_JSONFeedWrongTypesMended(t *testing.T) {
	r, es, log := pollCorpusFile(t, "json/netnewswire__rose.json", "rose")
	if r.Counts.New != 84 || len(es) != 84 {
		t.Fatalf("%s; %d stored, want 84", r.Summary(), len(es))
	}
	want := "JSON Feed fields not of the spec's type: items[].tags: a string read as a comma-separated list, 84 times"
	if r.Summary() != "new 84, updated 0, unchanged 0; "+want {
		t.Errorf("summary %q, want the warning %q", r.Summary(), want)
	}
	if !strings.Contains(log, "poll: body read with a warning") {
		t.Errorf("log lacks the warning:\n%s", log)
	}
	var found bool
	for _, e := range es {
		if e.Title == "Workflow: Add Task & Sub Tasks To OmniFocus" {
			found = true
			if strings.Join(e.Categories, "|") != "workflow|omnifocus" {
				t.Errorf("%q: categories %q, want [workflow omnifocus]", e.Title, e.Categories)
			}
		}
	}
	if !found {
		t.Errorf("the first item is not stored under its title")
	}
}

// gofeed's own fixtures write "version": "1.0" / "1.1" without the
// jsonfeed.org URL; beside an items array that is a JSON Feed, as gofeed
// and Miniflux read it.
func TestPoll_JSONFeedBareVersion(t *testing.T) {
	for _, f := range []string{"gofeed__parser__universal__json10_feed.json", "gofeed__parser__universal__json11_feed.json"} {
		r, es, _ := pollCorpusFile(t, "json/"+f, "g")
		if len(es) != 1 || es[0].Title != "title" || r.Warning() != "" {
			t.Errorf("%s: %s; %d stored", f, r.Summary(), len(es))
		}
	}
}
