package feeds

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/mmcdole/gofeed/atom"
	ext "github.com/mmcdole/gofeed/extensions"
	"github.com/mmcdole/gofeed/rss"
	xhtml "golang.org/x/net/html"

	"github.com/feedrelay/feedrelay/feeds/charset"
)

// ErrNotAFeed is returned for a body that is not RSS, Atom or JSON Feed,
// such as an HTML page or a JSON error object.
var ErrNotAFeed = errors.New("not a feed")

// Parse decodes a fetched body into a normalized Feed. feedURL is the URL the
// body came from (after redirects): relative links are resolved against it
// where the feed gives no xml:base. Dates without a zone are read in loc
// (UTC when loc is nil).
func Parse(body []byte, contentType, charsetOverride, feedURL string, loc *time.Location) (*Feed, error) {
	if loc == nil {
		loc = time.UTC // time.ParseInLocation and time.Date panic on a nil Location
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("parse: empty body")
	}
	text, _, err := charset.ToUTF8(body, contentType, charsetOverride)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	trimmed := bytes.TrimSpace(text)
	isJSON := len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[')
	text = stripForbidden(text, !isJSON)
	if err := sniff(text, contentType, feedURL); err != nil {
		return nil, err
	}
	p := gofeed.NewParser()
	// The image scan is half of RSS parse time and we do not use it.
	p.RSSTranslator = &gofeed.DefaultRSSTranslator{DisableContentImageScan: true}
	// The universal Feed has no feed-level Atom id; the original has.
	p.KeepOriginalFeed = true
	gf, err := p.Parse(bytes.NewReader(text))
	if err != nil {
		if errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
			return nil, fmt.Errorf("%w (%s)", ErrNotAFeed, describe(contentType))
		}
		return nil, fmt.Errorf("parse: %w", err)
	}
	var atomID, ttl string
	switch of := gf.OriginalFeed().(type) {
	case *atom.Feed:
		atomID = strings.TrimSpace(of.ID)
	case *rss.Feed:
		ttl = of.TTL
	}
	f := normalizeFeed(gf, atomID, feedURL, loc)
	f.TTL = feedTTL(ttl, gf.Extensions)
	return f, nil
}

var htmlStart = regexp.MustCompile(`(?i)^\s*(<!--.*?-->\s*)*(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])`)

// sniff rejects bodies that gofeed would misread: an HTML page (which it
// reports only as an undetected type) and a JSON object that is not a JSON
// Feed (which it accepts as an empty feed).
func sniff(text []byte, contentType, feedURL string) error {
	trimmed := bytes.TrimSpace(text)
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		var probe struct {
			Version string `json:"version"`
		}
		if err := json.Unmarshal(trimmed, &probe); err != nil {
			// Valid JSON of another shape (an array, a numeric
			// "version") is not a feed; only a syntax error is
			// broken JSON.
			var typeErr *json.UnmarshalTypeError
			if !errors.As(err, &typeErr) {
				return fmt.Errorf("parse: invalid JSON: %w", err)
			}
		}
		if !strings.HasPrefix(probe.Version, "https://jsonfeed.org/version/") &&
			!strings.HasPrefix(probe.Version, "http://jsonfeed.org/version/") {
			return fmt.Errorf("%w (JSON without a jsonfeed.org version)", ErrNotAFeed)
		}
		return nil
	}
	head := trimmed
	if len(head) > 1024 {
		head = head[:1024]
	}
	if htmlStart.Match(head) {
		if alt := advertisedFeed(text, feedURL); alt != "" {
			return fmt.Errorf("%w (text/html); the page advertises a feed at %s", ErrNotAFeed, alt)
		}
		return fmt.Errorf("%w (text/html)", ErrNotAFeed)
	}
	return nil
}

// advertisedFeed returns the first feed an HTML page announces with
// <link rel="alternate" type="application/rss+xml|atom+xml|feed+json">,
// resolved against the page's URL, so that the operator can fix the YAML.
func advertisedFeed(page []byte, pageURL string) string {
	base, _ := url.Parse(pageURL)
	z := xhtml.NewTokenizer(bytes.NewReader(page))
	for {
		switch z.Next() {
		case xhtml.ErrorToken:
			return ""
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			if string(name) == "body" {
				return "" // feeds are announced in <head>
			}
			if string(name) != "link" || !hasAttr {
				continue
			}
			attrs := map[string]string{}
			for more := true; more; {
				var k, v []byte
				k, v, more = z.TagAttr()
				attrs[string(k)] = string(v)
			}
			switch strings.ToLower(strings.TrimSpace(attrs["type"])) {
			case "application/rss+xml", "application/atom+xml", "application/feed+json", "application/json":
			default:
				continue
			}
			if strings.Contains(" "+strings.ToLower(attrs["rel"])+" ", " alternate ") && attrs["href"] != "" {
				return resolve(base, strings.TrimSpace(attrs["href"]))
			}
		}
	}
}

// feedTTL reads how long a feed says it stays fresh: RSS <ttl> (minutes)
// or the syndication module's updatePeriod / updateFrequency.
func feedTTL(ttl string, exts ext.Extensions) time.Duration {
	if m, err := strconv.Atoi(strings.TrimSpace(ttl)); err == nil && m > 0 {
		return time.Duration(m) * time.Minute
	}
	sy := exts["sy"]
	if len(sy["updatePeriod"]) == 0 {
		return 0
	}
	period := map[string]time.Duration{"hourly": time.Hour, "daily": 24 * time.Hour,
		"weekly": 7 * 24 * time.Hour, "monthly": 30 * 24 * time.Hour, "yearly": 365 * 24 * time.Hour,
	}[strings.ToLower(strings.TrimSpace(sy["updatePeriod"][0].Value))]
	freq := 1
	if fs := sy["updateFrequency"]; len(fs) > 0 {
		if n, err := strconv.Atoi(strings.TrimSpace(fs[0].Value)); err == nil && n > 0 {
			freq = n
		}
	}
	return period / time.Duration(freq)
}

func describe(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt == "" {
		return "unrecognized content"
	}
	return mt
}
