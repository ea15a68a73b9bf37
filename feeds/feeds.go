// Package feeds fetches source feeds, parses them with gofeed and normalizes
// their items (identity, absolute links, sanitized HTML, dates in the right
// zone), and schedules polls. It knows nothing of SQL or of our output
// formats: it hands normalized feeds to a Store.
package feeds

import (
	"net/url"
	"strings"
	"time"

	"github.com/feedrelay/feedrelay/feeds/article"
	"github.com/feedrelay/feedrelay/feeds/scrape"
	"github.com/feedrelay/feedrelay/story"
)

// Source is one feed to poll, as the poller needs it.
type Source struct {
	Slug        string
	Name        string
	URL         string // http(s):// or file://
	Interval    time.Duration
	Timeout     time.Duration // the whole fetch
	IdleTimeout time.Duration // the longest silence while reading the body
	MaxBodySize int64
	Location    *time.Location // for dates written without a zone
	Charset     string         // operator's override; empty means detect
	UserAgent   string         // empty means the fetcher's default
	Headers     map[string]string
	// TrackingParams are dropped from links to compare them across
	// sources (story.URLKey); nil means story.DefaultTrackingParams.
	TrackingParams []string
	// MaxInterval caps how far a feed's own hints (Cache-Control, Expires,
	// <ttl>, sy:updatePeriod) may stretch Interval.
	MaxInterval time.Duration
	// TagAuthority is the authority of the tag: URIs minted for this
	// source's entries whose original id is not an absolute IRI: the host
	// of base_url (see TagAuthority). Empty means "feedrelay.invalid".
	TagAuthority string
	// AllowPrivateNetworks: see Request.AllowPrivateNetworks.
	AllowPrivateNetworks bool
	// Scraper reads the items of a page that is no feed (kind: html or
	// json); nil for a feed (RSS, Atom, JSON Feed) read by gofeed.
	Scraper *scrape.Scraper
	// Article, when set (full_text), takes each new item's article out of
	// its page, fetched once (see Poller).
	Article *article.Extractor
}

// Feed is a parsed, normalized source feed.
type Feed struct {
	ID       string // the feed's own id (Atom), else its site URL, else the polled URL
	Title    string
	SiteURL  string
	Updated  time.Time // zero when the feed does not say
	Language string
	Items    []Item
	// TTL is how long the feed says it stays fresh (RSS <ttl>,
	// sy:updatePeriod/updateFrequency); zero when it does not say.
	TTL time.Duration
	// UnreadDates are the dates its entries gave that no rule could read
	// (those entries are dated when first seen).
	UnreadDates []UnreadDates
	// Warnings are what reading the body warns of, one sentence each: a
	// charset that was guessed, many bytes replaced with U+FFFD, JSON
	// Feed fields of the wrong type mended or dropped.
	Warnings []string
}

// Item is one normalized entry of a source feed. Everything storage keeps
// of it is decided here, in feeds: storage persists it as given.
type Item struct {
	// Identity is the key of the item within its source: the guid/id when
	// present, else the whole link (fragment included: one archive page
	// with one #anchor per post is many posts), else a hash of title and
	// date.
	Identity string
	// Lookup is where the row this item already has may be, in order:
	// the first row found that fits its Key's Match is the item's. Nil
	// means the row under Identity. It lists other forms when the item may
	// be stored under one: a feed that reuses a guid for several posts,
	// or an identity an earlier feedrelay gave it (links without their
	// fragment).
	Lookup []Key
	// EntryID is the Atom <id> the item is published under if it is new
	// (Source.EntryID); a stored item keeps the id it was first given.
	EntryID string
	// GUID is the original entry id or RSS guid, possibly empty.
	GUID       string
	Link       string // absolute
	Title      string // plain text
	Author     string
	Content    string // sanitized HTML with absolute URLs
	Summary    string // sanitized HTML, only when distinct from Content
	Published  time.Time
	Updated    time.Time
	Categories []string
	// Enclosures are the files the item carries (a podcast's audio), in
	// the source's order; nil for none.
	Enclosures []Enclosure
	// Hash changes whenever anything a reader would see changes.
	Hash string

	// Keys that copies of one story share across sources (package story),
	// and the original publisher: the one a scraped page names for the
	// item (fields.origin), else the one its content names at its end.
	URLKey, TitleKey, Origin string

	// ArticleURL is where the item's full text is fetched from when its
	// source has full_text: the URL full_text.url made for it, else its
	// link; empty for none.
	ArticleURL string
	// Article is what this poll's fetch of the full text gave; nil when
	// none was made (the item is not new nor changed, or the poll's bound
	// of fetches was reached: storage keeps it pending).
	Article *Article
}

// A Key is one place where an item may already be stored: the row under
// Identity, when that row holds what Match asks for.
type Key struct {
	Identity string
	Match    Match
}

// Match says when a stored row found under a Key is the item's.
type Match int

const (
	// MatchAny: the row is the item's, whatever it holds now (an edited
	// post is updated in place).
	MatchAny Match = iota
	// MatchLink: the row is the item's only if it holds the item's link.
	MatchLink
	// MatchPost: the row is the item's only if it holds the item's link
	// and title.
	MatchPost
)

// Counts says what a poll did to the stored items.
type Counts struct {
	New, Updated, Unchanged int
}

// Identify decides what storage keeps of f's items, as polled from src at
// seen, beyond what Parse read: the id each is published under if it is new,
// the keys by which copies of one story are found across sources (package
// story), and each item's original publisher.
//
// An origin the page names for the item (a scraped fields.origin) wins over
// the one its content names. Enclosures on a private address the source
// may not reach are dropped (reachableEnclosures). With full_text, each
// item's ArticleURL is its own full_text URL or its link, when that is a
// URL the fetcher may read (see articleURL).
func (src *Source) Identify(f *Feed, seen time.Time) {
	keys := StoryKeys(src.TrackingParams)
	for i := range f.Items {
		it := &f.Items[i]
		it.EntryID = src.EntryID(it, seen)
		it.Enclosures = src.reachableEnclosures(it.Enclosures)
		var origin string
		it.URLKey, it.TitleKey, origin = keys(it.Link, it.Title, it.Content)
		if it.Origin == "" {
			it.Origin = origin
		}
		if src.Article == nil {
			it.ArticleURL = ""
			continue
		}
		if it.ArticleURL == "" {
			it.ArticleURL = it.Link
		}
		it.ArticleURL = src.articleURL(it.ArticleURL)
	}
}

// articleURL is raw if the fetcher may read it for this source's full
// text, else "": an http(s) URL, or a file: URL when the source itself is
// a file (a demo or a local scraper's output on disk). A page on the web
// naming file:///etc/passwd as an article must not have it read.
func (src *Source) articleURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host != "" {
			return raw
		}
	case "file":
		if strings.HasPrefix(src.URL, "file:") {
			return raw
		}
	}
	return ""
}

// StoryKeys returns the function that computes an item's story keys and
// original publisher from its link, title and content. tracking are the
// link parameters to ignore; nil means story.DefaultTrackingParams. Storage
// uses it to key items stored before story keys existed.
func StoryKeys(tracking []string) func(link, title, content string) (urlKey, titleKey, origin string) {
	if tracking == nil {
		tracking = story.DefaultTrackingParams
	}
	return func(link, title, content string) (string, string, string) {
		return story.URLKey(link, tracking), story.TitleKey(title), story.Origin(content)
	}
}
