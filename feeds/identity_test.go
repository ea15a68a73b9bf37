package feeds

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// archiveBlog is a GB2312 blog feed of n guid-less posts, each linking to
// its month's archive page with its own #anchor (6 posts a page).
func archiveBlog(t testing.TB, n int) []byte {
	t.Helper()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="gb2312"?><rss version="2.0"><channel><title>老股民的博客</title><link>http://blog.example.cn/</link>`)
	for i := n; i >= 1; i-- {
		fmt.Fprintf(&b, `<item><title>复盘第%d篇：沪指震荡收涨</title><link>http://blog.example.cn/archives/2017-%02d.html#a%d</link>`+
			`<description>第%d篇正文。</description><pubDate>%02d Jun 2017 15:30:00 +0800</pubDate></item>`, i, 1+(i-1)/6, i, i, i)
	}
	b.WriteString(`</channel></rss>`)
	out, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// One archive page with one #anchor per post is many posts: each keeps its
// whole link as its identity, and may be stored under the link without its
// fragment (as identities were), but only as the post whose link that row
// holds. Copies across sources still compare links without fragments.
func TestParseIdentity_FragmentsArePosts(t *testing.T) {
	f := mustParse(t, archiveBlog(t, 16), "", "", "http://blog.example.cn/rss.xml", time.UTC)
	if len(f.Items) != 16 {
		t.Fatalf("%d items of 16 posts", len(f.Items))
	}
	(&Source{Slug: "blog"}).Identify(f, time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	seen := map[string]bool{}
	for _, it := range f.Items {
		if it.Identity != it.Link || seen[it.Identity] {
			t.Errorf("%q: identity %q, want its own whole link %q", it.Title, it.Identity, it.Link)
		}
		seen[it.Identity] = true
		page, _, _ := strings.Cut(it.Link, "#")
		want := []Key{{it.Link, MatchAny}, {page, MatchLink}}
		if fmt.Sprint(it.Lookup) != fmt.Sprint(want) {
			t.Errorf("%q: lookup %v, want %v", it.Title, it.Lookup, want)
		}
		if it.URLKey != strings.TrimPrefix(page, "http:") {
			t.Errorf("%q: story key %q, want the page without the fragment", it.Title, it.URLKey)
		}
	}
}

// The published <id>: the original id when it is an absolute IRI, else a
// tag: URI from the source's authority, the day first seen, the source and
// the identity; our feeds' ids come from the same policy.
func TestEntryID(t *testing.T) {
	seen := time.Date(2026, 11, 26, 23, 30, 0, 0, time.FixedZone("CST", 8*3600))
	src := &Source{Slug: "stcn", TagAuthority: TagAuthority("https://relay.example.org:8443/feedrelay/")}
	tag := regexp.MustCompile(`^tag:relay\.example\.org,2026-11-26:stcn/[0-9a-f]{24}$`)
	for _, tc := range []struct {
		guid, identity string
		want           string // "" for a minted tag: URI
	}{
		{"https://www.stcn.com/article/1.html", "https://www.stcn.com/article/1.html", "https://www.stcn.com/article/1.html"},
		{"urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a", "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a", "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"},
		{"12345", "12345", ""},
		{"urn:", "urn:", ""},
		{"", "https://blog.example.cn/a.html#a1", ""},
		// A guid the feed reuses for another post: that post has an
		// identity of its own, and so an id of its own.
		{"https://www.stcn.com/article/1.html", "https://www.stcn.com/article/1.html#9f86d081884c7d65", ""},
	} {
		got := src.EntryID(&Item{GUID: tc.guid, Identity: tc.identity}, seen)
		if (tc.want != "" && got != tc.want) || (tc.want == "" && !tag.MatchString(got)) {
			t.Errorf("guid %q: entry id %q", tc.guid, got)
		}
	}
	a := src.EntryID(&Item{Identity: "https://blog.example.cn/a.html#a1"}, seen)
	b := src.EntryID(&Item{Identity: "https://blog.example.cn/a.html#a2"}, seen)
	if a == b {
		t.Errorf("two posts of one page share the entry id %q", a)
	}
	if got := (&Source{Slug: "x"}).EntryID(&Item{Identity: "1"}, seen); !strings.HasPrefix(got, "tag:feedrelay.invalid,2026-11-26:x/") {
		t.Errorf("no authority: %q", got)
	}
	if got := TagURI(TagAuthority("not a url"), "2026", "feeds/all"); got != "tag:feedrelay.invalid,2026:feeds/all" {
		t.Errorf("feed id without a base_url host: %q", got)
	}
}
