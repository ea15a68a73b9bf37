package feeds

import (
	"crypto/sha256"
	"encoding/hex"
	"html"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/microcosm-cc/bluemonday"

	"github.com/feedrelay/feedrelay/htmltext"
	"github.com/mmcdole/gofeed"

	"github.com/feedrelay/feedrelay/feeds/scrape"
)

// Policies are built once: building one costs about half a millisecond, and
// they are safe for concurrent use.
var (
	contentPolicy = bluemonday.UGCPolicy()
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
	// The feed's authors are its entries' where they name none (RFC 4287
	// §4.2.1, JSON Feed 1.1). They are not hashed: stored items do not
	// count as changed when the feed names its author.
	feedAuthor := authorsOf(gf.Authors, gf.Author)
	items := make([]Item, 0, len(gf.Items))
	// A guid is reused when the items listed under it are different
	// posts: their titles or links differ from the first one's.
	first := make(map[string]int, len(gf.Items)) // identity → index of its first item
	var reused map[string]bool
	var unread unreadTally
	for _, gi := range gf.Items {
		it := normalizeItem(gi, base, loc)
		unread.note(gi.Published, it.Published, &unread.pub)
		unread.note(gi.Updated, it.Updated, &unread.upd)
		if j, ok := first[it.Identity]; !ok {
			first[it.Identity] = len(items)
		} else if items[j].Title != it.Title || items[j].Link != it.Link {
			if reused == nil {
				reused = map[string]bool{}
			}
			reused[it.Identity] = true
		}
		items = append(items, it)
	}
	seen := first // reused for the identities kept
	clear(seen)
	f.Items = items[:0]
	for _, it := range items {
		switch {
		case it.GUID != "":
			it.Identity, it.Lookup = guidIdentity(it.GUID, it, reused[it.Identity])
		case reused[it.Identity]:
			// One link for different posts, and no guid: a notice board
			// whose every item links to its index.
			it.Identity, it.Lookup = guidIdentity(it.Identity, it, true)
		case it.Link != "" && it.Lookup == nil:
			// Known by its link alone, it may be stored under its own
			// form while its link was shared (a pinned copy of it was
			// listed too): found there, it is not new again.
			it.Identity, it.Lookup = guidIdentity(it.Identity, it, false)
		}
		if it.Author == "" {
			it.Author = feedAuthor
		}
		// The same entry listed twice: keep the first (newest) copy.
		if _, dup := seen[it.Identity]; dup {
			continue
		}
		seen[it.Identity] = 0
		f.Items = append(f.Items, it)
	}
	f.UnreadDates = unread.result()
	return f
}

// guidIdentity is the identity of an item known by key (its guid, or its
// link when it has none), and where storage looks for its row. A feed that
// reuses one guid, or one link with no guid, for different posts (it
// happens) gives each its own identity: the key and a hash of the post's
// title and link. The post may be stored under the other form: under the
// plain key before the reuse began, or under its own while the feed lists
// it alone again. A row under the plain key is this post's when it holds
// the post's title and link; failing that, the post's own row; failing that,
// the row under the plain key holds an edit of the post.
func guidIdentity(key string, it Item, reused bool) (string, []Key) {
	var stack [512]byte
	sum := sha256.Sum256(append(append(append(stack[:0], it.Title...), 0), it.Link...))
	own := key + "#" + hex.EncodeToString(sum[:8])
	if reused {
		return own, []Key{{own, MatchAny}, {key, MatchPost}}
	}
	return key, []Key{{key, MatchPost}, {own, MatchAny}, {key, MatchAny}}
}

func normalizeItem(gi *gofeed.Item, base *url.URL, loc *time.Location) Item {
	it := Item{
		GUID:      strings.TrimSpace(gi.GUID),
		Link:      itemLink(base, gi.Link),
		Title:     plainText(gi.Title),
		Published: parseDate(gi.Published, gi.PublishedParsed, loc),
		Updated:   parseDate(gi.Updated, gi.UpdatedParsed, loc),
	}
	if it.Link == "" && len(gi.Links) > 0 {
		it.Link = itemLink(base, gi.Links[0])
	}
	if it.Link == "" && isWebURL(it.GUID) {
		it.Link = it.GUID // an RSS guid is a permalink by default
	}
	people := gi.Authors
	if gi.DublinCoreExt != nil && len(gi.DublinCoreExt.Creator) > 1 {
		// gofeed keeps the first of several dc:creator.
		for _, c := range gi.DublinCoreExt.Creator {
			people = append(people, &gofeed.Person{Name: c})
		}
	}
	it.Author = authorsOf(people, gi.Author)
	content, summary := gi.Content, gi.Description
	if strings.TrimSpace(content) == "" {
		content, summary = summary, ""
	}
	it.Content = sanitize(content, base)
	if s := sanitize(summary, base); s != it.Content {
		it.Summary = s
	}
	it.Content, it.Summary = inPageLinks(it.Content, base, it.Link), inPageLinks(it.Summary, base, it.Link)
	if it.Title == "" {
		it.Title = excerpt(htmltext.Plain(it.Content), 60) // content is HTML
	}
	for _, c := range gi.Categories {
		if c = strings.TrimSpace(c); c != "" {
			it.Categories = append(it.Categories, c)
		}
	}
	it.Enclosures = normalizeEnclosures(gi.Enclosures, base)
	// What a scraped page says of the item beyond gofeed's fields.
	it.Origin = plainText(gi.Custom[scrape.CustomOrigin])
	if u := strings.TrimSpace(gi.Custom[scrape.CustomFullTextURL]); u != "" {
		it.ArticleURL = resolveArticle(base, u)
	}
	it.Identity, it.Lookup = identity(it)
	// A relative date ("3小时前") is read anew, a little later, at each
	// poll: hashed, it would make the item changed at every poll. Left
	// out, the first reading stays until the item changes, or until the
	// page writes the date in full.
	hashed := it
	if gi.Custom[scrape.CustomRelativePublished] != "" {
		hashed.Published = time.Time{}
	}
	if gi.Custom[scrape.CustomRelativeUpdated] != "" {
		hashed.Updated = time.Time{}
	}
	it.Hash = contentHash(hashed)
	return it
}

// maxAuthors is how many authors an item names at most: the byline of a
// paper is shown, not its whole list of contributors.
const maxAuthors = 10

// authorsOf is the byline of people: each one's name, else e-mail, once,
// joined by ", " ("Alice, Bob"), as Miniflux shows several authors. one
// is gofeed's single author, for a parser that filled only that.
func authorsOf(people []*gofeed.Person, one *gofeed.Person) string {
	if len(people) == 0 && one != nil {
		people = []*gofeed.Person{one}
	}
	var names []string
	for _, a := range people {
		if a == nil {
			continue
		}
		name := strings.TrimSpace(a.Name)
		if name == "" {
			name = strings.TrimSpace(a.Email)
		}
		if name == "" || slices.Contains(names, name) {
			continue
		}
		if names = append(names, name); len(names) == maxAuthors {
			break
		}
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names, ", ")
}

// identity is the item's key within its source: guid, else the whole link,
// else a hash of title and date. An item known by its link, whose link has
// a fragment, may be stored under the link without it: earlier feedrelay
// dropped fragments, and stored one row for the posts of an archive
// page (#anchor per post). That row holds the link of the post last saved
// in it: it is the item's if it holds the item's link (its other posts
// are new).
func identity(it Item) (string, []Key) {
	switch {
	case it.GUID != "":
		return it.GUID, nil
	case it.Link != "":
		id, old := linkIdentity(it.Link)
		if old != id {
			return id, []Key{{id, MatchAny}, {old, MatchLink}}
		}
		return id, nil
	}
	date := ""
	if !it.Published.IsZero() {
		date = it.Published.UTC().Format(time.RFC3339)
	}
	sum := sha256.Sum256([]byte(it.Title + "\x00" + date))
	return "sha256:" + hex.EncodeToString(sum[:16]), nil
}

// contentHash is the hash of what the source says of an item: the list's,
// never the full text fetched for it, so that an unchanged list fetches no
// article. A scraped origin is part of it (it is shown); it is hashed only
// when set, so that the hashes of feed items stay what they were and an
// upgrade does not count every stored item as changed.
func contentHash(it Item) string {
	// The bytes hashed are built in one buffer (on the stack for most
	// items) and hashed at once: the same bytes as writing each field
	// and its NUL to a hash.Hash, without a copy of each field.
	n := len(it.Link) + len(it.Title) + len(it.Author) + len(it.Content) + len(it.Summary) +
		2*len(time.RFC3339) + 8 + len("origin\x00") + len(it.Origin)
	for _, c := range it.Categories {
		n += len(c) + 1
	}
	var stack [4096]byte
	buf := stack[:0]
	if n > len(stack) {
		buf = make([]byte, 0, n)
	}
	for _, s := range [...]string{it.Link, it.Title, it.Author, it.Content, it.Summary} {
		buf = append(append(buf, s...), 0)
	}
	for i, c := range it.Categories {
		if i > 0 {
			buf = append(buf, 0x1f)
		}
		buf = append(buf, c...)
	}
	buf = append(appendTimeKey(append(appendTimeKey(append(buf, 0), it.Published), 0), it.Updated), 0)
	if it.Origin != "" {
		buf = append(append(buf, "origin\x00"...), it.Origin...)
	}
	buf = appendEnclosuresKey(buf, it.Enclosures)
	sum := sha256.Sum256(buf)
	return hex.EncodeToString(sum[:16])
}

// appendTimeKey appends what a hash holds of a time: nothing for none,
// else its instant in UTC (RFC 3339).
func appendTimeKey(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	return t.UTC().AppendFormat(b, time.RFC3339)
}

// linkIdentity is the identity of an item known by its link: the link with
// scheme and host lower-cased and no default port, its fragment kept (one
// page with one #anchor per post is many posts). old is that form without
// the fragment, as identities were before they kept fragments.
func linkIdentity(raw string) (id, old string) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return raw, raw
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	if p := u.Port(); (u.Scheme == "http" && p == "80") || (u.Scheme == "https" && p == "443") {
		u.Host = u.Hostname()
	}
	id = u.String()
	u.Fragment, u.RawFragment = "", ""
	return id, u.String()
}

// itemLink is an item's link resolved against base, or "" when it is no
// web address (javascript:void(0), data:, mailto:): such a link is never
// published, and as the item's identity it would make every item so linked
// one item, each overwriting the last.
func itemLink(base *url.URL, raw string) string {
	link := resolve(base, strings.TrimSpace(raw))
	if hasScheme(link) && !isWebURL(strings.ToLower(link[:min(len(link), len("https://"))])) {
		return ""
	}
	return link
}

func isWebURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// resolveArticle makes a full_text URL absolute: against the page's web
// address like any link, and also against a file: list page, whose
// articles may be files beside it (Source.articleURL decides which URLs
// may be read).
func resolveArticle(base *url.URL, ref string) string {
	if base != nil && base.Scheme == "file" {
		if u, err := url.Parse(ref); err == nil && !u.IsAbs() {
			return base.ResolveReference(u).String()
		}
	}
	return resolve(base, ref)
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

// plainText is the text of a title as gofeed gives it: gofeed has already
// undone the format's escaping once, and keeps no Atom title type, so a
// title is read as HTML only when it looks like HTML (htmltext.Title):
// "Vec<String> in Rust" and entities in a text title are its text (issue
// 11 item 9), "<b>Breaking</b>: news" reads "Breaking: news". A scraped
// title, an element's text, is read the same way.
func plainText(s string) string { return htmltext.Title(s) }

func excerpt(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// urlAttr reports whether name is an attribute whose relative URL we
// resolve: bluemonday leaves relative URLs as they are, and a reader
// cannot resolve them against our feed.
func urlAttr(name string) bool {
	switch name {
	case "href", "src", "poster", "cite":
		return true
	}
	return false
}

// sanitize gives lazy images their real address (lazyImages), resolves
// relative URLs against base, then removes anything unsafe (scripts, on*
// handlers, javascript: URLs, iframes, styles).
func sanitize(fragment string, base *url.URL) string {
	fragment = strings.TrimSpace(fragment)
	if fragment == "" {
		return ""
	}
	fragment = lazyImages(fragment)
	// Only a web page's address resolves relative links: any other base
	// (javascript:, data:, a file) could turn them into what bluemonday
	// just removed.
	if base != nil && base.Scheme != "http" && base.Scheme != "https" {
		base = nil
	}
	if out, ok := fastSanitize(fragment, base); ok {
		return strings.TrimSpace(out) // its URLs resolved already
	}
	out := strings.TrimSpace(contentPolicy.Sanitize(fragment))
	if base != nil {
		out = resolveSanitized(out, base)
	}
	return out
}

// inPageLinks points the links of sanitized HTML to a place in its own
// page ("#fn1", a footnote) at the item's page, link: resolved against
// the feed's address, as relative links are, they would open the feed
// document.
func inPageLinks(sanitized string, base *url.URL, link string) string {
	// A link to the feed document holds a '#' and the feed's host; the
	// sanitizer's own &#39; makes a '#' alone no sign of one.
	if base == nil || link == "" || base.Host == "" || strings.IndexByte(sanitized, '#') < 0 ||
		!strings.Contains(sanitized, base.Host) || !isWebURL(link) {
		return sanitized
	}
	doc := *base
	doc.Fragment, doc.RawFragment = "", ""
	feedPlace := `="` + html.EscapeString(doc.String()) + "#"
	if !strings.Contains(sanitized, feedPlace) {
		return sanitized
	}
	page, _, _ := strings.Cut(link, "#")
	return strings.ReplaceAll(sanitized, feedPlace, `="`+html.EscapeString(page)+"#")
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
		if n == 0 || s[n-1] != ' ' || !urlAttr(s[n:k]) {
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
		if last == 0 {
			b.Grow(len(s) + 64) // a resolved URL is a little longer
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
