package scrape

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
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
// PublishedParsed for one raw date, and whether that date is relative
// ("3小时前": read anew against each poll's clock, so approximate).
//
// The date is read without what list pages write around it (dateText): a
// label, brackets, a weekday. With time_format, the text as written is
// tried first, in case the layout spells those out.
func (s *Scraper) date(raw string, loc *time.Location, now time.Time) (string, *time.Time, bool) {
	raw = strings.Join(strings.Fields(raw), " ")
	if raw == "" {
		return "", nil, false
	}
	text := dateText(raw)
	if s.timeFunc != nil {
		for _, x := range []string{raw, text} {
			if t, ok := s.timeFunc(x, loc, now); ok {
				// No raw string: the feed rules must not re-read it
				// (a day-first layout would be misread as month-first).
				return "", &t, false
			}
		}
		return text, nil, false
	}
	raw = text // what package feeds reads, or quotes as not read
	for _, layout := range zonedLayouts {
		if t, err := time.Parse(layout, raw); err == nil {
			return raw, &t, false
		}
	}
	if t, relative, ok := listDate(raw, loc, now); ok {
		read := t // only a date read escapes to the heap
		return "", &read, relative
	}
	return raw, nil, false
}

// dateText is a list page's date without what surrounds it there: a
// leading label ("发布时间：", "时间:", "日期：", "更新时间：", "发布于：",
// as dropLabel drops "作者："), brackets around it ("(12月01日 14:30)",
// "[2026-11-30]", "【…】", "（…）") and a weekday after the day
// ("2026年12月1日 星期二", "2026-12-01(周二) 09:15"). A weekday must follow
// a digit or 日/号: "上周三" is a relative date nobody reads, left whole
// for the warning that quotes it, and "周一 09:00" is not "09:00" today.
func dateText(raw string) string {
	s := raw
	for range 2 { // a label inside brackets, or brackets after a label
		s = dropLabel(unbracket(s))
	}
	s = weekdayPattern.ReplaceAllString(unbracket(s), "$1")
	return strings.Join(strings.Fields(s), " ")
}

// unbracket removes one pair of brackets around all of s.
func unbracket(s string) string {
	s = strings.TrimSpace(s)
	for _, p := range [...][2]string{{"(", ")"}, {"（", "）"}, {"[", "]"}, {"【", "】"}, {"(", "）"}, {"（", ")"}} {
		if strings.HasPrefix(s, p[0]) && strings.HasSuffix(s, p[1]) && len(s) > len(p[0])+len(p[1]) {
			return strings.TrimSpace(s[len(p[0]) : len(s)-len(p[1])])
		}
	}
	return s
}

// weekdayPattern is a weekday after a day's digits or 日/号, bracketed or
// not; $1 is what it follows.
var weekdayPattern = regexp.MustCompile(`([0-9日号號]) ?[(（]?(?:星期|礼拜|禮拜|周|週)[一二三四五六日天][)）]?`)

// listDate reads the dates Chinese list pages and APIs write that need
// the poll's clock (now) or are no date string at all, in loc:
//
//   - a Unix time: 10 digits (seconds, a fraction allowed) or 13
//     (milliseconds), from 2000 to a year after now;
//   - relative: 刚刚, "15分钟前", "3小时前", "2天前" (also 秒, 周, 个月, 年,
//     a numeral 一…十 or 两, 半小时前): now minus that, approximate
//     (relative is true);
//   - a named day: 今天, 昨天, 前天 (今日, 昨日), with a time ("昨天 15:05")
//     or without (the day's start);
//   - without a year: "11月25日 15:05", "11-25 15:05", "11/25", read by the
//     year rule of latestYear;
//   - a time alone, "15:05": today, or yesterday when that is more than an
//     hour after now (a page left from last night).
//
// Everything else is left to package feeds' rules (full dates without a
// zone, "2026.11.20 08:00" among them).
func listDate(raw string, loc *time.Location, now time.Time) (t time.Time, relative, ok bool) {
	if t, ok := plausibleEpoch(raw, now); ok {
		return t, false, true
	}
	if now.IsZero() {
		return time.Time{}, false, false // no clock to read them against
	}
	n := now.In(loc)
	switch {
	case raw == "刚刚" || raw == "剛剛":
		return n, true, true
	case strings.HasSuffix(raw, "前"):
		if m := agoPattern.FindStringSubmatch(raw); m != nil {
			if t, ok := ago(n, m[1], m[2]); ok {
				return t, true, true
			}
		}
	case '0' <= raw[0] && raw[0] <= '9':
		// A four-digit year is a full date: package feeds reads those.
		if len(raw) > 4 && strings.IndexFunc(raw[:4], func(r rune) bool { return r < '0' || r > '9' }) < 0 {
			return time.Time{}, false, false
		}
		if c, err := time.Parse(clockLayout(raw), raw); err == nil {
			t := time.Date(n.Year(), n.Month(), n.Day(), c.Hour(), c.Minute(), c.Second(), 0, loc)
			if t.After(n.Add(time.Hour)) {
				t = t.AddDate(0, 0, -1)
			}
			return t, false, true
		}
		for _, layout := range yearlessLayouts {
			if t, err := time.ParseInLocation(layout, raw, loc); err == nil {
				return latestYear(t, loc, now), false, true
			}
		}
	default:
		if m := dayPattern.FindStringSubmatch(raw); m != nil {
			back := daysBack[m[1]]
			day := time.Date(n.Year(), n.Month(), n.Day()-back, 0, 0, 0, 0, loc)
			if m[2] == "" {
				return day, false, true
			}
			if c, err := time.Parse(clockLayout(m[2]), m[2]); err == nil {
				return time.Date(day.Year(), day.Month(), day.Day(), c.Hour(), c.Minute(), c.Second(), 0, loc), false, true
			}
		}
	}
	return time.Time{}, false, false
}

// yearlessLayouts are the month-first dates without a year that list pages
// write ("1" and "2" also accept a leading zero).
var yearlessLayouts = []string{
	"1月2日 15:04:05", "1月2日 15:04", "1月2日15:04:05", "1月2日15:04", "1月2日",
	"1-2 15:04:05", "1-2 15:04", "1-2",
	"1/2 15:04:05", "1/2 15:04", "1/2",
}

var (
	// agoPattern is "N<unit>前": a count (digits, one numeral, or 半) and
	// a unit, simplified or traditional, spaces allowed.
	agoPattern = regexp.MustCompile(`^(\d{1,4}|[一二两三四五六七八九十]|半) ?(秒钟|秒鐘|秒|分钟|分鐘|分|个小时|個小時|小时|小時|钟头|鐘頭|天|日|个星期|個星期|星期|周|週|个月|個月|月|年) ?(?:之)?前$`)
	// dayPattern is a named day, with a time or not.
	dayPattern = regexp.MustCompile(`^(今天|今日|昨天|昨日|前天) ?(\d{1,2}:\d{2}(?::\d{2})?)?$`)
)

var (
	// daysBack is how many days before today a named day is.
	daysBack = map[string]int{"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2}
	// numerals are the counts written in characters.
	numerals = map[string]int{"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
)

// clockLayout is the layout of "15:04" or "15:04:05".
func clockLayout(s string) string {
	if strings.Count(s, ":") == 2 {
		return "15:04:05"
	}
	return "15:04"
}

// ago is n minus count units ("3", "小时"); 半 is half an hour only.
func ago(n time.Time, count, unit string) (time.Time, bool) {
	k, ok := numerals[count]
	if !ok && count != "半" {
		var err error
		if k, err = strconv.Atoi(count); err != nil {
			return time.Time{}, false
		}
	}
	switch unit {
	case "秒钟", "秒鐘", "秒":
		return n.Add(-time.Duration(k) * time.Second), count != "半"
	case "分钟", "分鐘", "分":
		return n.Add(-time.Duration(k) * time.Minute), count != "半"
	case "个小时", "個小時", "小时", "小時", "钟头", "鐘頭":
		if count == "半" {
			return n.Add(-30 * time.Minute), true
		}
		return n.Add(-time.Duration(k) * time.Hour), true
	case "天", "日":
		return n.AddDate(0, 0, -k), count != "半"
	case "个星期", "個星期", "星期", "周", "週":
		return n.AddDate(0, 0, -7*k), count != "半"
	case "个月", "個月", "月":
		return n.AddDate(0, -k, 0), count != "半"
	case "年":
		return n.AddDate(-k, 0, 0), count != "半"
	}
	return time.Time{}, false
}

// latestYear gives t, read without a year (year 0), the year of the latest
// such date: the current year in loc at now, unless that is more than a
// day after now (a December item read in January: last year). The day of
// slack allows for a site whose clock or zone runs ahead of ours.
func latestYear(t time.Time, loc *time.Location, now time.Time) time.Time {
	n := now.In(loc)
	t = time.Date(n.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
	if t.After(n.Add(24 * time.Hour)) {
		t = t.AddDate(-1, 0, 0)
	}
	return t
}

// plausibleEpoch reads raw as a Unix time when it plainly is one: 10 digits
// of seconds (a fraction allowed) or 13 of milliseconds, between 2000 and
// a year after now. Other numbers (ids, prices, a year) are no date.
func plausibleEpoch(raw string, now time.Time) (time.Time, bool) {
	whole, frac, hasFrac := strings.Cut(raw, ".")
	if strings.IndexFunc(whole, func(r rune) bool { return r < '0' || r > '9' }) >= 0 ||
		(hasFrac && (frac == "" || strings.IndexFunc(frac, func(r rune) bool { return r < '0' || r > '9' }) >= 0)) {
		return time.Time{}, false
	}
	var t time.Time
	var ok bool
	switch {
	case len(whole) == 10:
		t, ok = epoch(raw, time.Second)
	case len(whole) == 13 && !hasFrac:
		t, ok = epoch(raw, time.Millisecond)
	}
	if !ok || t.Before(epochFloor) || (!now.IsZero() && t.After(now.AddDate(1, 0, 0))) {
		return time.Time{}, false
	}
	return t, true
}

// epochFloor is the earliest Unix time read without time_format: no news
// list is older.
var epochFloor = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

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
			// date.
			t = latestYear(t, loc, now)
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

// WebBase parses the URL a page came from: nil when it is no web address
// (a file: URL, a page saved on disk, resolves nothing).
func WebBase(pageURL string) (*url.URL, error) {
	u, err := url.Parse(pageURL)
	if err != nil {
		return nil, fmt.Errorf("page URL %q: %w", pageURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, nil
	}
	return u, nil
}
