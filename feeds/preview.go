package feeds

import (
	"context"
	"fmt"
	"time"
)

// Preview is what one source yields, read as a poll reads it (fetch,
// parse or scrape, normalize, identify) but stored nowhere: `feedrelay
// poll -dry-run`, the way a person writes a scrape config.
type Preview struct {
	URL        string // after redirects
	StatusCode int
	Feed       *Feed
	// Skipped is how many items of a scraped page had neither guid nor
	// link.
	Skipped int
	// UnreadDates are the dates of a scraped page that could not be read
	// (the items whose published shows none), one per field.
	UnreadDates []UnreadDates
	// Warnings are what reading the body warned of (Feed.Warnings).
	Warnings []string
	// Articles are the full texts of the first items (full_text).
	Articles []PreviewArticle
}

// PreviewArticle is the full text of one item of a Preview.
type PreviewArticle struct {
	Item    int // index in Feed.Items
	URL     string
	Content string // sanitized; empty on error
	Err     error
}

// Preview fetches src once, without validators, and reads it; with
// full_text, it fetches the articles of the first articles items. It needs
// no Store and writes nothing.
func (p *Poller) Preview(ctx context.Context, src Source, articles int) (*Preview, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	resp, err := p.Fetcher.Fetch(ctx, Request{
		URL: src.URL, Timeout: src.Timeout, IdleTimeout: src.IdleTimeout,
		MaxBodySize: src.MaxBodySize, UserAgent: src.UserAgent, Headers: src.Headers,
		AllowPrivateNetworks: src.AllowPrivateNetworks,
	})
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", src.URL, err)
	}
	pv := &Preview{URL: resp.URL, StatusCode: resp.StatusCode}
	seen := now()
	var notes pageNotes
	pv.Feed, notes, err = src.parse(resp, seen)
	if err != nil {
		return pv, err
	}
	pv.Skipped, pv.UnreadDates, pv.Warnings = notes.Skipped, notes.UnreadDates, notes.Warnings
	src.Identify(pv.Feed, seen)
	for i, it := range pv.Feed.Items {
		if len(pv.Articles) >= articles {
			break
		}
		if it.ArticleURL == "" {
			continue
		}
		content, err := p.FetchArticle(ctx, src, it.ArticleURL)
		pv.Articles = append(pv.Articles, PreviewArticle{Item: i, URL: it.ArticleURL, Content: content, Err: err})
	}
	return pv, nil
}
