package server

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

type searchFeed struct {
	ID    string `xml:"id"`
	Title string `xml:"title"`
	Links []struct {
		Href string `xml:"href,attr"`
		Rel  string `xml:"rel,attr"`
	} `xml:"link"`
	Entries []wireEntry `xml:"entry"`
}

func (f *searchFeed) link(rel string) string {
	for _, l := range f.Links {
		if l.Rel == rel {
			return l.Href
		}
	}
	return ""
}

func (f *searchFeed) titles() []string {
	out := []string{}
	for _, e := range f.Entries {
		out = append(out, e.Title)
	}
	return out
}

// searchGet calls the handler itself, whichever route serves it.
func searchGet(t *testing.T, srv *Server, query string) (*searchFeed, int) {
	t.Helper()
	rec := get(t, http.HandlerFunc(srv.handleSearch), "/search?"+query)
	if rec.Code != http.StatusOK {
		return nil, rec.Code
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/atom+xml; charset=utf-8" {
		t.Errorf("%s: Content-Type %q", query, ct)
	}
	var f searchFeed
	if err := xml.Unmarshal(rec.Body.Bytes(), &f); err != nil {
		t.Fatalf("%s: %v\n%s", query, err, rec.Body.String())
	}
	return &f, rec.Code
}

func TestSearch(t *testing.T) {
	srv, _ := newTestServer(t)
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"q=" + url.QueryEscape("高开"), []string{"A股三大指数集体高开"}},                // 2 characters: title and text
		{"q=" + url.QueryEscape("新高"), []string{"科创板新增上市公司超百家"}},              // 2 characters, in the text only
		{"q=" + url.QueryEscape("上市公司"), []string{"科创板新增上市公司超百家"}},            // 4 characters: the trigram index
		{"q=" + url.QueryEscape("集体高开 放量"), []string{"A股三大指数集体高开"}},           // every term
		{"q=" + url.QueryEscape("a股"), []string{"A股三大指数集体高开"}},                // ASCII in any case
		{"q=" + url.QueryEscape("高"), []string{"A股三大指数集体高开", "科创板新增上市公司超百家"}}, // newest first
		{"q=" + url.QueryEscape("  高开  "), []string{"A股三大指数集体高开"}},
		{"q=amp", nil}, // &amp; is text, not markup
		{"q=" + url.QueryEscape("上市公司") + "&category=zhengquanshibaowang", nil},
		{"q=" + url.QueryEscape("高开") + "&category=zhengquanshibaowang", []string{"A股三大指数集体高开"}},
		{"q=" + url.QueryEscape("上市公司") + "&category=markets", []string{"科创板新增上市公司超百家"}},
		{"q=" + url.QueryEscape("上市公司") + "&category=all", []string{"科创板新增上市公司超百家"}},
	} {
		f, code := searchGet(t, srv, tc.query)
		if code != http.StatusOK {
			t.Errorf("%s: status %d", tc.query, code)
			continue
		}
		if tc.want == nil {
			tc.want = []string{}
		}
		if got := f.titles(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: entries %q, want %q", tc.query, got, tc.want)
		}
	}
}

func TestSearch_Feed(t *testing.T) {
	srv, _ := newTestServer(t)
	f, _ := searchGet(t, srv, "q="+url.QueryEscape("高开")+"&category=markets")
	if f.ID != "tag:relay.example.org,2026:search?q=%E9%AB%98%E5%BC%80&category=markets" {
		t.Errorf("feed id %q", f.ID)
	}
	if self := f.link("self"); self != "https://relay.example.org/search?q=%E9%AB%98%E5%BC%80&category=markets" {
		t.Errorf("self link %q", self)
	}
	if !strings.Contains(f.Title, "高开") || !strings.Contains(f.Title, "市场综合") {
		t.Errorf("title %q", f.Title)
	}
	if alt := f.link("alternate"); alt != "https://relay.example.org/c/markets" {
		t.Errorf("alternate link %q", alt)
	}
	if len(f.Entries) != 1 || f.Entries[0].Source.Title != "证券时报网-要闻" ||
		!strings.Contains(f.Entries[0].Content.Text, "（文章来源：证券时报网）") {
		t.Errorf("entries are not attributed like the feeds': %+v", f.Entries)
	}
	// The same query, spelled differently, is the same feed.
	g, _ := searchGet(t, srv, "category=markets&q="+url.QueryEscape(" 高开 "))
	if g.ID != f.ID {
		t.Errorf("ids %q and %q for one query", f.ID, g.ID)
	}
}

func TestSearch_Paging(t *testing.T) {
	srv, _ := newTestServer(t)
	opts := *srv.opts.Load()
	opts.PageSize = 1
	srv.SetOptions(&opts)
	f, _ := searchGet(t, srv, "q="+url.QueryEscape("高"))
	next := f.link("next")
	if got := f.titles(); !slices.Equal(got, []string{"A股三大指数集体高开"}) || next == "" {
		t.Fatalf("first page %q, next %q", got, next)
	}
	if first := f.link("first"); first != "https://relay.example.org/search?q=%E9%AB%98" {
		t.Errorf("first link %q", first)
	}
	u, err := url.Parse(next)
	if err != nil || u.Path != "/search" || u.Query().Get("q") != "高" {
		t.Fatalf("next link %q", next)
	}
	f, _ = searchGet(t, srv, u.RawQuery)
	if got := f.titles(); !slices.Equal(got, []string{"科创板新增上市公司超百家"}) || f.link("next") != "" || f.link("self") != next {
		t.Errorf("second page %q, self %q, next %q", got, f.link("self"), f.link("next"))
	}
}

func TestSearch_BadRequests(t *testing.T) {
	srv, _ := newTestServer(t)
	for query, want := range map[string]int{
		"":                                  http.StatusBadRequest,
		"q=":                                http.StatusBadRequest,
		"q=+++":                             http.StatusBadRequest,
		"q=" + strings.Repeat("涨", 201):     http.StatusBadRequest,
		"q=%FF%FE":                          http.StatusBadRequest,
		"q=x&before=yesterday":              http.StatusBadRequest,
		"q=x&after=1.2":                     http.StatusBadRequest,
		"q=x&category=nope":                 http.StatusNotFound,
		"q=" + strings.Repeat("涨", 200):     http.StatusOK,
		"q=x&category=zhengquanshibaowang":  http.StatusOK,
		"q=" + url.QueryEscape(`"高开" OR *`): http.StatusOK, // no FTS5 syntax
	} {
		rec := get(t, http.HandlerFunc(srv.handleSearch), "/search?"+query)
		if rec.Code != want {
			t.Errorf("%q: status %d, want %d: %s", query, rec.Code, want, rec.Body.String())
		}
		if want == http.StatusBadRequest && strings.TrimSpace(rec.Body.String()) == "" {
			t.Errorf("%q: 400 without a message", query)
		}
	}
}
