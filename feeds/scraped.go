package feeds

import (
	"fmt"
	"time"
)

// parse reads a fetched body as src's kind says: a feed through gofeed
// (Parse), or a page through src.Scraper, decoded with the same charset
// rules (an HTML page's <meta> charset included) and then normalized
// exactly as a feed's items are. skipped counts a page's items that had
// neither guid nor link. A page whose items selector matches nothing is an
// error (scrape.ErrNoItems): the stored items stay as they are.
func (src *Source) parse(resp *Response, now time.Time) (feed *Feed, skipped int, err error) {
	if src.Scraper == nil {
		feed, err = Parse(resp.Body, resp.ContentType, src.Charset, resp.URL, src.Location)
		return feed, 0, err
	}
	loc := src.Location
	if loc == nil {
		loc = time.UTC
	}
	text, err := decodePage(resp.Body, resp.ContentType, src.Charset)
	if err != nil {
		return nil, 0, fmt.Errorf("parse: %w", err)
	}
	res, err := src.Scraper.Parse(text, resp.URL, loc, now)
	if err != nil {
		return nil, 0, fmt.Errorf("scrape: %w", err)
	}
	feed = normalizeFeed(res.Feed, "", resp.URL, loc)
	if !isWebURL(feed.SiteURL) {
		// A page read from disk has no site to link to.
		feed.SiteURL, feed.ID = "", resp.URL
	}
	return feed, res.Skipped, nil
}
