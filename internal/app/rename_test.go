package app_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/feedrelay/feedrelay/internal/pgtest"
	"github.com/feedrelay/feedrelay/storage"
)

// eachBackend runs test with the config's database on each backend, as
// the subtests sqlite and postgres: "" (the file beside the config) or a
// new PostgreSQL database's URL.
func eachBackend(t *testing.T, test func(t *testing.T, database string)) {
	t.Run("sqlite", func(t *testing.T) { test(t, "") })
	t.Run("postgres", func(t *testing.T) {
		test(t, pgtest.Database(t, "app", func(ctx context.Context, dsn string) error {
			db, err := storage.Open(ctx, dsn)
			if err != nil {
				return err
			}
			return db.Close()
		}))
	})
}

// noRedirects is a client that shows redirects rather than following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// get answers GET path on d, redirects not followed.
func (d *daemon) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirects.Get(d.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// entryIDs are the <id>s of the entries of the Atom feed at path.
func (d *daemon) entryIDs(t *testing.T, path string) []string {
	t.Helper()
	resp, body := d.get(t, path)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	var ids []string
	for _, m := range regexp.MustCompile(`(?s)<entry>.*?</entry>`).FindAllString(body, -1) {
		id := regexp.MustCompile(`<id>([^<]+)</id>`).FindStringSubmatch(m)
		if id == nil {
			t.Fatalf("an entry of %s without <id>: %s", path, m)
		}
		ids = append(ids, id[1])
	}
	slices.Sort(ids)
	return ids
}

// A source renamed in the config — 证券时报网 → 证券时报 with no slug:, so
// its slug zhengquanshibaowang → zhengquanshibao — is the same source: the
// reload says so, the next poll stores only what is new, every entry keeps
// its <id>, search still finds the old items, and the old addresses answer
// 301 to the new ones.
func TestReload_RenamedSourceKeepsItsEntries(t *testing.T) {
	eachBackend(t, func(t *testing.T, database string) {
		o := newFeedOrigin(t)
		o.set("stcn", "A股三大指数集体高开", "央行开展逆回购操作")
		source := func(name string) string {
			return fmt.Sprintf("  - {name: %s, url: %q, categories: [all-news]}\n", name, o.URL+"/stcn.xml")
		}
		d := start(t, o.origin, conf{database: database, interval: "1s", sourcesYAML: source("证券时报网")})
		eventually(t, "the first poll", func() bool { return len(d.resultsOf("zhengquanshibaowang")) >= 1 })
		before := d.entryIDs(t, "/sources/zhengquanshibaowang.atom")
		if len(before) != 2 || !strings.Contains(before[0], ":zhengquanshibaowang/") {
			t.Fatalf("before the rename: %v", before)
		}

		o.set("stcn", "A股三大指数集体高开", "央行开展逆回购操作", "两市成交额突破万亿")
		d.write(t, conf{database: database, interval: "1s", sourcesYAML: source("证券时报")})
		d.reload(t)
		if logs := d.logs.String(); !strings.Contains(logs, `msg="source renamed (same url): its items, entry ids and history follow it, its old addresses redirect" from=zhengquanshibaowang to=zhengquanshibao`) {
			t.Fatalf("the reload did not log the rename:\n%s", logs)
		}
		eventually(t, "a poll under the new slug", func() bool { return len(d.resultsOf("zhengquanshibao")) >= 1 })
		if r := d.resultsOf("zhengquanshibao")[0]; r.Err != nil || r.Counts.New != 1 || r.Counts.Unchanged != 2 {
			t.Errorf("the poll after the rename: %s; want the one new item stored, the two known unchanged", r.Summary())
		}
		after := d.entryIDs(t, "/sources/zhengquanshibao.atom")
		if len(after) != 3 {
			t.Fatalf("after the rename the source shows %d entries, want 3: %v", len(after), after)
		}
		for _, id := range before {
			if !slices.Contains(after, id) {
				t.Errorf("entry %s lost its <id> in the rename: %v", id, after)
			}
		}
		if all := d.entryIDs(t, "/feeds/all-news.atom"); !slices.Equal(all, after) {
			t.Errorf("the category shows %v, want each entry once: %v", all, after)
		}
		eventually(t, "search finding an item stored before the rename", func() bool {
			_, body := d.get(t, "/search?q="+url.QueryEscape("逆回购"))
			return strings.Count(body, "<entry>") == 1 && (strings.Contains(body, "<id>"+before[0]+"</id>") ||
				strings.Contains(body, "<id>"+before[1]+"</id>"))
		})
		for _, tc := range []struct{ from, to string }{
			{"/sources/zhengquanshibaowang.atom", "/sources/zhengquanshibao.atom"},
			{"/sources/zhengquanshibaowang.rss", "/sources/zhengquanshibao.rss"},
			{"/sources/zhengquanshibaowang.json?before=1764118800.42", "/sources/zhengquanshibao.json?before=1764118800.42"},
			{"/s/zhengquanshibaowang", "/s/zhengquanshibao"},
			// A static export's forms of the old addresses.
			{"/s/zhengquanshibaowang/", "/s/zhengquanshibao"},
			{"/s/zhengquanshibaowang/index.html", "/s/zhengquanshibao"},
			{"/sources/zhengquanshibaowang/before-1764118800.42.atom", "/sources/zhengquanshibao.atom?before=1764118800.42"},
		} {
			resp, _ := d.get(t, tc.from)
			if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != tc.to {
				t.Errorf("GET %s: %s to %q, want 301 to %s", tc.from, resp.Status, resp.Header.Get("Location"), tc.to)
			}
		}
		if resp, _ := d.get(t, "/sources/nosuchsource.atom"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("an unknown source: %s, want 404", resp.Status)
		}
		if resp, _ := d.get(t, "/sources/zhengquanshibaowang/nopage.atom"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("a former slug's folder with no page in it: %s, want 404", resp.Status)
		}

		// Once the renamed source leaves the config, its old addresses lead
		// nowhere: 404, as the new ones.
		d.write(t, conf{database: database, interval: "1s", sources: []string{"other"}})
		d.reload(t)
		for _, path := range []string{"/sources/zhengquanshibaowang.atom", "/s/zhengquanshibaowang", "/s/zhengquanshibaowang/", "/sources/zhengquanshibao.atom"} {
			if resp, _ := d.get(t, path); resp.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s once the source is removed: %s to %q, want 404", path, resp.Status, resp.Header.Get("Location"))
			}
		}
	})
}

// A slug reused for another feed (another url and name) is not credited
// with the old feed's items: the reload warns, and the slug's feed shows
// the new feed's entries only.
func TestReload_ReusedSlugShowsOnlyTheNewFeed(t *testing.T) {
	eachBackend(t, func(t *testing.T, database string) {
		o := newFeedOrigin(t)
		o.set("old", "Old story one", "Old story two")
		o.set("fresh", "Fresh story")
		source := func(name, path string) string {
			return fmt.Sprintf("  - {name: %s, slug: news, url: %q, categories: [all-news]}\n", name, o.URL+"/"+path+".xml")
		}
		d := start(t, o.origin, conf{database: database, interval: "1s", sourcesYAML: source("Old News", "old")})
		eventually(t, "the first poll", func() bool { return len(d.resultsOf("news")) >= 1 })
		polls := len(d.resultsOf("news"))

		d.write(t, conf{database: database, interval: "1s", sourcesYAML: source("Fresh News", "fresh")})
		d.reload(t)
		if logs := d.logs.String(); !strings.Contains(logs, `msg="source slug given to a different feed: the old feed's items stay stored, unpublished, until its url is configured again" slug=news`) ||
			!strings.Contains(logs, `name="Fresh News"`) ||
			!strings.Contains(logs, "level=WARN") {
			t.Fatalf("the reload did not warn of the reused slug:\n%s", logs)
		}
		eventually(t, "a poll of the new feed", func() bool {
			rs := d.resultsOf("news")
			return len(rs) > polls && strings.HasSuffix(rs[len(rs)-1].URL, "/fresh.xml")
		})
		eventually(t, "the new feed's entry published", func() bool {
			_, body := d.get(t, "/sources/news.atom")
			return strings.Contains(body, "Fresh story")
		})
		if _, body := d.get(t, "/sources/news.atom"); strings.Contains(body, "Old story") || strings.Count(body, "<entry>") != 1 {
			t.Errorf("the reused slug's feed shows the old feed's items:\n%s", body)
		}
	})
}
