package feeds

import (
	"crypto/sha256"
	"encoding/hex"
	"html"
	"net/url"
	"strings"
	"time"

	"github.com/microcosm-cc/bluemonday"
	"github.com/mmcdole/gofeed"
)

// Policies are built once: building one costs about half a millisecond, and
// they are safe for concurrent use.
var (
	contentPolicy = bluemonday.UGCPolicy()
	textPolicy    = bluemonday.StrictPolicy()
)

func normalizeFeed(gf *gofeed.Feed, atomID, feedURL string, loc *time.Location) *Feed {
	base, _ := url.Parse(feedURL)
	if base != nil && base.Scheme == "file" {
		// A scraper's output on disk has no web address; its own site
		// link is the best base for its relative links.
		if site, err := url.Parse(strings.TrimSpace(gf.Link)); err == nil && isWebURL(site.String()) {
			base = site
		}
	}
	f := &Feed{
		Title:    plainText(gf.Title),
		SiteURL:  resolve(base, gf.Link),
		Language: strings.TrimSpace(gf.Language),
		Updated:  parseDate(gf.Updated, gf.UpdatedParsed, loc),
	}
	if f.Updated.IsZero() {
		f.Updated = parseDate(gf.Published, gf.PublishedParsed, loc)
	}
	switch {
	case atomID != "":
		f.ID = atomID
	case f.SiteURL != "":
		f.ID = f.SiteURL
	default:
		f.ID = feedURL
	}
	items := make([]Item, 0, len(gf.Items))
	posts := map[string]map[[2]string]bool{} // identity → its distinct (title, link)
	for _, gi := range gf.Items {
		it := normalizeItem(gi, base, loc)
		if posts[it.Identity] == nil {
			posts[it.Identity] = map[[2]string]bool{}
		}
		posts[it.Identity][[2]string{it.Title, it.Link}] = true
		items = append(items, it)
	}
	seen := make(map[string]bool, len(items))
	f.Items = items[:0]
	for _, it := range items {
		// A feed that reuses one guid for different posts (it happens):
		// each gets an identity of its own (storage still finds a post
		// stored under the plain guid before the reuse began).
		if it.GUID != "" && len(posts[it.Identity]) > 1 {
			it.Identity = ReusedGUIDIdentity(it.GUID, it.Title, it.Link)
		}
		// The same entry listed twice: keep the first (newest) copy.
		if seen[it.Identity] {
			continue
		}
		seen[it.Identity] = true
		f.Items = append(f.Items, it)
	}
	return f
}

func normalizeItem(gi *gofeed.Item, base *url.URL, loc *time.Location) Item {
	it := Item{
		GUID:      strings.TrimSpace(gi.GUID),
		Link:      resolve(base, strings.TrimSpace(gi.Link)),
		Title:     plainText(gi.Title),
		Published: parseDate(gi.Published, gi.PublishedParsed, loc),
		Updated:   parseDate(gi.Updated, gi.UpdatedParsed, loc),
	}
	if it.Link == "" && len(gi.Links) > 0 {
		it.Link = resolve(base, strings.TrimSpace(gi.Links[0]))
	}
	if it.Link == "" && isWebURL(it.GUID) {
		it.Link = it.GUID // an RSS guid is a permalink by default
	}
	for _, a := range gi.Authors {
		if a == nil {
			continue
		}
		if name := strings.TrimSpace(a.Name); name != "" {
			it.Author = name
			break
		}
		if email := strings.TrimSpace(a.Email); email != "" {
			it.Author = email
			break
		}
	}
	content, summary := gi.Content, gi.Description
	if strings.TrimSpace(content) == "" {
		content, summary = summary, ""
	}
	it.Content = sanitize(content, base)
	if s := sanitize(summary, base); s != it.Content {
		it.Summary = s
	}
	if it.Title == "" {
		it.Title = excerpt(plainText(it.Content), 60)
	}
	for _, c := range gi.Categories {
		if c = strings.TrimSpace(c); c != "" {
			it.Categories = append(it.Categories, c)
		}
	}
	it.Identity = identity(it)
	it.Hash = contentHash(it)
	return it
}

// ReusedGUIDIdentity is the identity of a post whose guid its feed also
// gives other posts: the guid and a hash of the post's title and link.
func ReusedGUIDIdentity(guid, title, link string) string {
	sum := sha256.Sum256([]byte(title + "\x00" + link))
	return guid + "#" + hex.EncodeToString(sum[:8])
}

// identity is the item's key within its source: guid, else normalized link,
// else a hash of title and date.
func identity(it Item) string {
	switch {
	case it.GUID != "":
		return it.GUID
	case it.Link != "":
		return NormalizeURL(it.Link)
	}
	date := ""
	if !it.Published.IsZero() {
		date = it.Published.UTC().Format(time.RFC3339)
	}
	sum := sha256.Sum256([]byte(it.Title + "\x00" + date))
	return "sha256:" + hex.EncodeToString(sum[:16])
}

func contentHash(it Item) string {
	h := sha256.New()
	for _, s := range []string{it.Link, it.Title, it.Author, it.Content, it.Summary,
		strings.Join(it.Categories, "\x1f"), timeKey(it.Published), timeKey(it.Updated)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func timeKey(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// NormalizeURL gives the form of a link used to recognize the same item:
// lower-case scheme and host, no default port, no fragment.
func NormalizeURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return raw
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	if p := u.Port(); (u.Scheme == "http" && p == "80") || (u.Scheme == "https" && p == "443") {
		u.Host = u.Hostname()
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

func isWebURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

func resolve(base *url.URL, ref string) string {
	if ref == "" || base == nil {
		return ref
	}
	u, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	if u.IsAbs() {
		return ref
	}
	if base.Scheme == "file" {
		// A local file has no web address to resolve against.
		return ref
	}
	return base.ResolveReference(u).String()
}

// plainText turns a title that may hold markup or entities into text.
func plainText(s string) string {
	if strings.ContainsAny(s, "<&") {
		s = html.UnescapeString(textPolicy.Sanitize(s))
	}
	return strings.Join(strings.Fields(s), " ")
}

func excerpt(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// urlAttrs are the attributes whose relative URLs we resolve before
// sanitizing: bluemonday leaves relative URLs as they are, and a reader
// cannot resolve them against our feed.
var urlAttrs = map[string]bool{"href": true, "src": true, "poster": true, "cite": true}

// sanitize resolves relative URLs against base, then removes anything
// unsafe (scripts, on* handlers, javascript: URLs, iframes, styles).
func sanitize(fragment string, base *url.URL) string {
	fragment = strings.TrimSpace(fragment)
	if fragment == "" {
		return ""
	}
	out := strings.TrimSpace(contentPolicy.Sanitize(fragment))
	// Only a web page's address resolves relative links: any other base
	// (javascript:, data:, a file) could turn them into what bluemonday
	// just removed.
	if base != nil && (base.Scheme == "http" || base.Scheme == "https") {
		out = resolveSanitized(out, base)
	}
	return out
}

// resolveSanitized makes the URL attributes of bluemonday's output
// absolute. In that output every attribute value is double-quoted and a
// '"' in text or values is escaped, so `name="` only starts an attribute.
func resolveSanitized(s string, base *url.URL) string {
	var b strings.Builder
	last := 0
	for i := 0; ; {
		k := strings.Index(s[i:], `="`)
		if k < 0 {
			break
		}
		k += i
		start := k + 2
		end := strings.IndexByte(s[start:], '"')
		if end < 0 {
			break
		}
		end += start
		i = end + 1
		n := k
		for n > 0 && s[n-1] >= 'a' && s[n-1] <= 'z' {
			n--
		}
		if n == 0 || s[n-1] != ' ' || !urlAttrs[s[n:k]] {
			continue
		}
		v := s[start:end]
		if hasScheme(v) {
			continue
		}
		abs := html.EscapeString(resolve(base, html.UnescapeString(v)))
		if abs == v {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(abs)
		last = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func hasScheme(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == ':':
			return i > 0
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return false
}
