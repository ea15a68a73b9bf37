// Package feeds fetches source feeds, parses them with gofeed and normalizes
// their items (identity, absolute links, sanitized HTML, dates in the right
// zone), and schedules polls. It knows nothing of SQL or of our output
// formats: it hands normalized feeds to a Store.
package feeds

import (
	"time"

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
}

// Item is one normalized entry of a source feed.
type Item struct {
	// Identity is the key of the item within its source: the guid/id when
	// present, else the normalized link, else a hash of title and date.
	Identity string
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
	// Hash changes whenever anything a reader would see changes.
	Hash string

	// Keys that copies of one story share across sources (package story),
	// and the original publisher the content names, if any.
	URLKey, TitleKey, Origin string
}

// Counts says what a poll did to the stored items.
type Counts struct {
	New, Updated, Unchanged int
}

// KeyStories sets the keys by which copies of one story are found across
// sources (package story), and each item's original publisher. tracking
// are the link parameters to ignore; nil means story.DefaultTrackingParams.
func (f *Feed) KeyStories(tracking []string) {
	if tracking == nil {
		tracking = story.DefaultTrackingParams
	}
	for i := range f.Items {
		it := &f.Items[i]
		it.URLKey, it.TitleKey = story.URLKey(it.Link, tracking), story.TitleKey(it.Title)
		it.Origin = story.Origin(it.Content)
	}
}
