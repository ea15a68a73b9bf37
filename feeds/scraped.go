package feeds

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
)

// pageNotes is what a poll reports of a scraped page beyond its items.
type pageNotes struct {
	// Skipped counts the items that had neither guid nor link.
	Skipped int
	// UnreadDates are the dates the page gave that could not be read.
	UnreadDates []UnreadDates
	// Warnings are what reading the body warns of (Feed.Warnings), and
	// for a scraped page what its items lacked (scrape.Result.Warnings).
	Warnings []string
}

// UnreadDates is the dates of one field that a source gave but that no
// rule could read: those items are dated when first seen. One poll
// reports each field once, however many items it concerns.
type UnreadDates struct {
	Field    string   // "published" or "updated"
	Count    int      // items whose date could not be read
	Examples []string // the first few distinct raw texts, as the source wrote them
	// InFeed: the dates are a feed's (RSS pubDate, Atom published…),
	// not a scraped page's fields.
	InFeed bool
	// Future: the dates were read, but lie more than FutureMargin after
	// the poll (clampFuture); Examples are them in RFC 3339.
	Future bool
}

// unreadTally counts a feed's or page's dates that could not be read.
type unreadTally struct{ pub, upd UnreadDates }

// note counts raw, a date the source gave, if it was not read.
func (u *unreadTally) note(raw string, read time.Time, into *UnreadDates) {
	if read.IsZero() && strings.TrimSpace(raw) != "" {
		into.Count++
		if len(into.Examples) < maxDateExamples && !slices.Contains(into.Examples, raw) {
			into.Examples = append(into.Examples, raw)
		}
	}
}

// result is the fields with dates not read, none when every one was.
func (u *unreadTally) result() []UnreadDates {
	var out []UnreadDates
	if u.pub.Count > 0 {
		u.pub.Field = "published"
		out = append(out, u.pub)
	}
	if u.upd.Count > 0 {
		u.upd.Field = "updated"
		out = append(out, u.upd)
	}
	return out
}

// maxDateExamples is how many raw texts a poll quotes per field.
const maxDateExamples = 3

// String is the warning in words: `fields.published: 2 dates not read
// ("上周三", "11月") — those items are dated when first seen`.
func (u UnreadDates) String() string {
	quoted := make([]string, len(u.Examples))
	for i, e := range u.Examples {
		quoted[i] = fmt.Sprintf("%q", e)
	}
	more := ""
	if u.Count > len(u.Examples) {
		more = ", …"
	}
	noun := "dates"
	if u.Count == 1 {
		noun = "date"
	}
	field := "fields." + u.Field
	if u.InFeed {
		field = u.Field
	}
	what := "not read"
	if u.Future {
		what = fmt.Sprintf("more than %v ahead of the poll", FutureMargin)
	}
	return fmt.Sprintf("%s: %d %s %s (%s%s), dated when first seen",
		field, u.Count, noun, what, strings.Join(quoted, ", "), more)
}

// parse reads a fetched body as src's kind says: a feed through gofeed
// (Parse), or a page through src.Scraper, decoded with the same charset
// rules (an HTML page's <meta> charset included) and then normalized
// exactly as a feed's items are. The notes count a page's items that had
// neither guid nor link, and its dates that could not be read. A page
// whose items selector matches nothing is an error (scrape.ErrNoItems):
// the stored items stay as they are.
//
// Dates more than FutureMargin after now are dated when first seen
// (clampFuture), and noted with the unread ones.
func (src *Source) parse(resp *Response, now time.Time) (*Feed, pageNotes, error) {
	feed, notes, err := src.read(resp, now)
	if err != nil {
		return feed, notes, err
	}
	notes.UnreadDates = append(notes.UnreadDates, clampFuture(feed, now, src.Scraper == nil)...)
	return feed, notes, nil
}

// read is parse but for the dates ahead of now.
func (src *Source) read(resp *Response, now time.Time) (feed *Feed, notes pageNotes, err error) {
	if src.Scraper == nil {
		feed, err = Parse(resp.Body, resp.ContentType, src.Charset, resp.URL, src.Location)
		if err != nil {
			return nil, notes, err
		}
		notes.UnreadDates, notes.Warnings = feed.UnreadDates, feed.Warnings
		for i := range notes.UnreadDates {
			notes.UnreadDates[i].InFeed = true
		}
		return feed, notes, nil
	}
	loc := src.Location
	if loc == nil {
		loc = time.UTC
	}
	text, cs, err := decodePage(resp.Body, resp.ContentType, src.Charset)
	if err != nil {
		return nil, notes, fmt.Errorf("parse: %w", err)
	}
	if w := cs.Warning(); w != "" {
		notes.Warnings = []string{w}
	}
	res, err := src.Scraper.Parse(text, resp.URL, loc, now)
	if err != nil {
		return nil, notes, fmt.Errorf("scrape: %w", err)
	}
	// The page's own warnings (a field that matched nothing, links that
	// are no web address) go where the body's do: the poll's line, its
	// log, the source's health and the dry run.
	notes.Skipped, notes.Warnings = res.Skipped, append(notes.Warnings, res.Warnings...)
	readScrapedDates(res.Feed.Items, loc)
	feed = normalizeFeed(res.Feed, "", resp.URL, loc)
	notes.UnreadDates = feed.UnreadDates
	if !isWebURL(feed.SiteURL) {
		// A page read from disk has no site to link to.
		feed.SiteURL, feed.ID = "", resp.URL
	}
	return feed, notes, nil
}

// readScrapedDates reads, in loc, the dates the scraper left raw (those it
// could not read itself: zone-less full dates), with the feed rules
// (parseDate), once: normalizing then takes the time, not the text again.
// Those no rule reads stay raw, and normalizeFeed counts them: an undated
// item takes its first-seen time, and a page whose dates nobody reads
// would list last week's story above today's without a word.
func readScrapedDates(items []*gofeed.Item, loc *time.Location) {
	read := func(raw *string, parsed **time.Time) {
		if *raw == "" || *parsed != nil {
			return
		}
		if t := parseDate(*raw, nil, loc); !t.IsZero() {
			*raw, *parsed = "", &t
		}
	}
	for _, gi := range items {
		read(&gi.Published, &gi.PublishedParsed)
		read(&gi.Updated, &gi.UpdatedParsed)
	}
}
