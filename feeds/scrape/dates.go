package scrape

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// zonedLayouts are date formats that carry their own zone, which gofeed
// would have parsed for a feed but nobody parses for a scraped string.
// Zone-less strings ("2026-11-26 09:30:00", "2026年11月26日 09:30") are
// left raw: package feeds reads those in the source's zone, with the same
// rules as for feed dates.
var zonedLayouts = []string{
	time.RFC3339, // also accepts fractional seconds
	"2006-01-02T15:04Z07:00",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05 Z07:00",
	"2006-01-02 15:04:05 -0700",
	"2006-01-02 15:04Z07:00",
	"2006-01-02 15:04 Z07:00",
	time.RFC1123Z,
	time.RFC1123,
	"Mon, 2 Jan 2006 15:04:05 -0700",
}

// date returns what goes into gofeed.Item.Published (the raw string) and
// PublishedParsed for one raw date.
func (s *Scraper) date(raw string, loc *time.Location, now time.Time) (string, *time.Time) {
	raw = strings.Join(strings.Fields(raw), " ")
	if raw == "" {
		return "", nil
	}
	if s.timeFunc != nil {
		if t, ok := s.timeFunc(raw, loc, now); ok {
			// No raw string: the feed rules must not re-read it
			// (a day-first layout would be misread as month-first).
			return "", &t
		}
		return raw, nil
	}
	for _, layout := range zonedLayouts {
		if t, err := time.Parse(layout, raw); err == nil {
			return raw, &t
		}
	}
	return raw, nil
}

// compileTimeFormat returns the parser for a time_format, nil for none.
func compileTimeFormat(format string) (func(string, *time.Location, time.Time) (time.Time, bool), error) {
	switch strings.TrimSpace(format) {
	case "":
		return nil, nil
	case "unix":
		return func(raw string, _ *time.Location, _ time.Time) (time.Time, bool) {
			return epoch(raw, time.Second)
		}, nil
	case "unix_ms":
		return func(raw string, _ *time.Location, _ time.Time) (time.Time, bool) {
			return epoch(raw, time.Millisecond)
		}, nil
	}
	// A layout without a single element formats any time as itself.
	if time.Date(1999, time.December, 31, 23, 59, 58, 0, time.UTC).Format(format) == format {
		return nil, errors.New(`not a Go layout: write the reference time Mon Jan 2 15:04:05 MST 2006 as the site writes dates (e.g. "2006-01-02 15:04", "01月02日 15:04"), or use unix / unix_ms`)
	}
	hasYear := strings.Contains(format, "2006") || strings.Contains(format, "06")
	return func(raw string, loc *time.Location, now time.Time) (time.Time, bool) {
		t, err := time.ParseInLocation(format, raw, loc)
		if err != nil {
			return time.Time{}, false
		}
		if !hasYear && t.Year() == 0 {
			// "11-26 09:30" on a list page means the latest such
			// date: this year, unless that is in the future (a
			// December item read in January).
			n := now.In(loc)
			t = time.Date(n.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
			if t.After(n.Add(24 * time.Hour)) {
				t = t.AddDate(-1, 0, 0)
			}
		}
		return t, true
	}, nil
}

// epoch reads a Unix time in unit (integer or decimal, as APIs write them).
func epoch(raw string, unit time.Duration) (time.Time, bool) {
	if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
		if unit == time.Second {
			return time.Unix(n, 0), true
		}
		return time.UnixMilli(n), true
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return time.Time{}, false
	}
	return time.Unix(0, int64(f*float64(unit))), true
}

// resolve makes ref absolute against base (nil: left as is). A reference
// that does not parse is dropped rather than published broken.
func resolve(base *url.URL, ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil {
		return ""
	}
	if u.IsAbs() || base == nil {
		return ref // as feeds does: an absolute link is kept byte for byte
	}
	return base.ResolveReference(u).String()
}

// pageBase parses the URL a page came from; a file: URL (a page saved on
// disk) resolves nothing.
func pageBase(pageURL string) (*url.URL, error) {
	u, err := url.Parse(pageURL)
	if err != nil {
		return nil, fmt.Errorf("page URL %q: %w", pageURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, nil
	}
	return u, nil
}
