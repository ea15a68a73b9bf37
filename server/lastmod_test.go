package server

import (
	"context"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/publish"
	"github.com/feedrelay/feedrelay/storage"
)

// lastModRig is what `feedrelay serve` runs for one file: source in
// category lm: a real poller, a real SQLite file, and the server listening
// on 127.0.0.1; its clock is set by the test (poller and store alike).
type lastModRig struct {
	t    *testing.T
	file string // the source feed, an RSS file
	now  time.Time
	p    *feeds.Poller
	src  feeds.Source
	base string // http://127.0.0.1:port
}

func newLastModRig(t *testing.T, start time.Time) *lastModRig {
	t.Helper()
	dir := t.TempDir()
	rig := &lastModRig{t: t, file: filepath.Join(dir, "f.xml"), now: start}
	db := openTestDB(t, storage.SourceInfo{Slug: "lm", Name: "lm", URL: "file://" + rig.file})
	db.Now = func() time.Time { return rig.now }
	rig.p = &feeds.Poller{Fetcher: feeds.NewFetcher(""), Store: db, Now: db.Now}
	rig.src = feeds.Source{Slug: "lm", Name: "lm", URL: "file://" + rig.file, Timeout: 5 * time.Second, MaxBodySize: 1 << 20}
	srv := New(db, nil, nil, &Options{Options: publish.Options{
		BaseURL: "http://relay.example/", Title: "feedrelay", PageSize: 50,
		Attribution: template.Must(template.New("a").Parse(defaultAttribution)),
		Categories:  []publish.Category{{Slug: "lm", Title: "lm", Sources: []string{"lm"}}},
		Sources:     []publish.Source{{Slug: "lm", Name: "lm", URL: "file://" + rig.file}},
	}})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	rig.base = hs.URL
	return rig
}

// write makes the source feed list these items: guid, title, pubDate.
func (rig *lastModRig) write(items ...[3]string) {
	rig.t.Helper()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>lm</title><link>https://lm.example/</link>`)
	for _, it := range items {
		fmt.Fprintf(&b, `<item><guid>%s</guid><title>%s</title><link>https://lm.example/%s</link><pubDate>%s</pubDate></item>`,
			it[0], it[1], it[0], it[2])
	}
	b.WriteString(`</channel></rss>`)
	if err := os.WriteFile(rig.file, []byte(b.String()), 0o644); err != nil {
		rig.t.Fatal(err)
	}
}

// poll polls the source at the rig's time plus d, which it moves to.
func (rig *lastModRig) poll(d time.Duration) *feeds.Result {
	rig.t.Helper()
	rig.now = rig.now.Add(d)
	r := rig.p.Poll(context.Background(), rig.src)
	if r.Err != nil {
		rig.t.Fatalf("poll: %v", r.Err)
	}
	return r
}

// get asks for path with header (name, value pairs) over HTTP.
func (rig *lastModRig) get(path string, header ...string) (*http.Response, string) {
	rig.t.Helper()
	req, err := http.NewRequest(http.MethodGet, rig.base+path, nil)
	if err != nil {
		rig.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		rig.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		rig.t.Fatal(err)
	}
	return resp, string(body)
}

// lmFeed is what these tests read of an Atom feed.
type lmFeed struct {
	Updated string `xml:"updated"`
	Entries []struct {
		Title   string `xml:"title"`
		Updated string `xml:"updated"`
	} `xml:"entry"`
}

func parseLMFeed(t *testing.T, body string) lmFeed {
	t.Helper()
	var f lmFeed
	if err := xml.Unmarshal([]byte(body), &f); err != nil {
		t.Fatalf("not Atom: %v\n%s", err, body)
	}
	return f
}

// The tester's repro: an item new to us but dated before the feed's
// newest (a late, backdated post) changes the feed, and a reader that
// revalidates by date (If-Modified-Since with the Last-Modified it was
// given) gets the new feed, not 304. The same reader asking again with the
// new Last-Modified gets 304; If-None-Match decides over
// If-Modified-Since either way (RFC 9110 §13.2.2).
func TestLastModified_LateBackdatedItem(t *testing.T) {
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Second).UTC()
	rig := newLastModRig(t, start)
	rfc := func(t time.Time) string { return t.Format(time.RFC1123Z) }
	rig.write([3]string{"lm1", "第一条", rfc(start.Add(-time.Hour))})
	rig.poll(0)
	first, body := rig.get("/feeds/lm.atom")
	lm, etag := first.Header.Get("Last-Modified"), first.Header.Get("ETag")
	if first.StatusCode != http.StatusOK || lm == "" || len(parseLMFeed(t, body).Entries) != 1 {
		t.Fatalf("first fetch: %d, Last-Modified %q, body %s", first.StatusCode, lm, body)
	}
	if resp, _ := rig.get("/feeds/lm.atom", "If-Modified-Since", lm); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("unchanged feed, If-Modified-Since its Last-Modified: %d, want 304", resp.StatusCode)
	}

	// lm2, new to us, dated a day and a half before lm1.
	rig.write([3]string{"lm1", "第一条", rfc(start.Add(-time.Hour))}, [3]string{"lm2", "迟到的一条", rfc(start.Add(-36 * time.Hour))})
	if r := rig.poll(5 * time.Minute); r.Counts.New != 1 {
		t.Fatalf("second poll: %+v, want 1 new", r.Counts)
	}
	resp, body := rig.get("/feeds/lm.atom", "If-Modified-Since", lm)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("If-Modified-Since %s after a late item was stored: %d, want 200 with it", lm, resp.StatusCode)
	}
	if n := len(parseLMFeed(t, body).Entries); n != 2 {
		t.Errorf("%d entries, want 2", n)
	}
	newLM, newETag := resp.Header.Get("Last-Modified"), resp.Header.Get("ETag")
	if newETag == etag {
		t.Errorf("ETag unchanged (%s) though the feed changed", etag)
	}
	if want := rig.now.Format(http.TimeFormat); newLM != want {
		t.Errorf("Last-Modified %q, want when lm2 was stored, %q", newLM, want)
	}
	for _, c := range []struct {
		name   string
		header []string
		want   int
	}{
		{"If-Modified-Since the new Last-Modified", []string{"If-Modified-Since", newLM}, http.StatusNotModified},
		{"a stale If-None-Match, a current If-Modified-Since", []string{"If-None-Match", etag, "If-Modified-Since", newLM}, http.StatusOK},
		{"a current If-None-Match, a stale If-Modified-Since", []string{"If-None-Match", newETag, "If-Modified-Since", lm}, http.StatusNotModified},
		{"If-Modified-Since in 2099 (a date earlier feedrelay sent)", []string{"If-Modified-Since", "Thu, 01 Jan 2099 00:00:00 GMT"}, http.StatusOK},
	} {
		if resp, _ := rig.get("/feeds/lm.atom", c.header...); resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
}

// An item dated 2099 is dated when first seen: it does not date the feed
// (Last-Modified, <updated>) in the future, it leaves the top of the feed
// to the next item stored, its source says why in its poll's summary, and
// it does not become "updated" at every poll.
func TestLastModified_FarFutureItem(t *testing.T) {
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Second).UTC()
	rig := newLastModRig(t, start)
	rfc := func(t time.Time) string { return t.Format(time.RFC1123Z) }
	future := [3]string{"lm9", "来自2099年", "Thu, 01 Jan 2099 00:00:00 +0000"}
	rig.write(future)
	r := rig.poll(0)
	if w := r.Summary(); !strings.Contains(w, `published: 1 date more than 24h0m0s ahead of the poll ("2099-01-01T00:00:00Z"), dated when first seen`) {
		t.Errorf("summary %q does not warn of the 2099 date", w)
	}

	// A later item, polled ten minutes on: it goes on top.
	rig.write([3]string{"lm3", "新的一条", rfc(start.Add(5 * time.Minute))}, future)
	if r := rig.poll(10 * time.Minute); r.Counts != (feeds.Counts{New: 1, Unchanged: 1}) {
		t.Fatalf("second poll: %+v, want 1 new, 1 unchanged", r.Counts)
	}
	check := func(when string) (lm, etag string) {
		t.Helper()
		for _, path := range []string{"/feeds/lm.atom", "/feeds/all.atom"} {
			resp, body := rig.get(path)
			lm, etag = resp.Header.Get("Last-Modified"), resp.Header.Get("ETag")
			if want := rig.now.Format(http.TimeFormat); lm != want {
				t.Errorf("%s %s: Last-Modified %q, want %q (when lm3 was stored)", when, path, lm, want)
			}
			f := parseLMFeed(t, body)
			if want := start.Add(5 * time.Minute).Format(time.RFC3339); f.Updated != want {
				t.Errorf("%s %s: <updated> %s, want lm3's %s", when, path, f.Updated, want)
			}
			if len(f.Entries) != 2 || f.Entries[0].Title != "新的一条" || f.Entries[1].Updated != start.Format(time.RFC3339) {
				t.Errorf("%s %s: entries %+v, want lm3 first, then the 2099 item dated when first seen (%s)", when, path, f.Entries, start.Format(time.RFC3339))
			}
		}
		if resp, body := rig.get("/c/lm"); strings.Index(body, "新的一条") > strings.Index(body, "来自2099年") || resp.StatusCode != http.StatusOK {
			t.Errorf("%s /c/lm: %d, the 2099 item above the newer one", when, resp.StatusCode)
		}
		return lm, etag
	}
	lm, etag := check("after the second poll")

	// The source still says 2099, in a file written again (its time
	// stands for Last-Modified: an untouched file is not read): nothing
	// changes.
	time.Sleep(10 * time.Millisecond)
	rig.write([3]string{"lm3", "新的一条", rfc(start.Add(5 * time.Minute))}, future)
	if r := rig.poll(10 * time.Minute); r.NotModified || r.Counts != (feeds.Counts{Unchanged: 2}) {
		t.Errorf("third poll: %+v, want 2 unchanged: the clamped date made the item changed", r.Counts)
	}
	rig.now = rig.now.Add(-10 * time.Minute) // check's expected Last-Modified: lm3's store
	if lm2, etag2 := check("after the third poll"); lm2 != lm || etag2 != etag {
		t.Errorf("an unchanged poll moved Last-Modified %q → %q or ETag %s → %s", lm, lm2, etag, etag2)
	}
}
