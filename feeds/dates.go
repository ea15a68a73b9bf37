package feeds

import (
	"regexp"
	"strings"
	"time"
)

// localLayouts are date formats that carry no zone. gofeed reads them as
// UTC; we read them in the source's zone. A "1" or "2" or "15" in a layout
// also accepts a leading zero, so 2006-1-2 covers 2006-01-02. Dates that
// need the poll's clock (no year, "3小时前", 昨天 15:05) and Unix times are
// read by package scrape, for the sources that write them: list pages and
// APIs (scrape.listDate).
var localLayouts = []string{
	"2006-1-2 15:04:05",
	"2006-1-2 15:04",
	"2006-1-2T15:04:05",
	"2006-1-2T15:04",
	"2006/1/2 15:04:05",
	"2006/1/2 15:04",
	"2006.1.2 15:04:05",
	"2006.1.2 15:04",
	"2006年1月2日 15:04:05",
	"2006年1月2日 15:04",
	"2006年1月2日15:04:05",
	"2006年1月2日15:04",
	"2006-1-2",
	"2006/1/2",
	"2006.1.2",
	"2006年1月2日",
}

// rfc822Local are RSS's dates (RFC 822, as RFC1123 writes them) with the
// zone left out, which feeds write too: gofeed reads them as UTC.
var rfc822Local = []string{
	"Mon, 2 Jan 2006 15:04:05",
	"Mon, 2 Jan 2006 15:04",
	"2 Jan 2006 15:04:05",
	"2 Jan 2006 15:04",
}

// zonedLayouts are tried after "CST" has been replaced by a numeric offset.
var zonedLayouts = []string{
	time.RFC1123Z,
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"2 Jan 2006 15:04:05 -0700",
	"2006-1-2 15:04:05 -0700",
	"2006-1-2 15:04 -0700",
}

// parseDate reads a raw date string of a source. Zone-less strings are read
// in loc. In a source whose zone is UTC+8, "CST" means China Standard Time,
// not US Central. Anything else falls back to what gofeed parsed.
func parseDate(raw string, parsed *time.Time, loc *time.Location) time.Time {
	raw = strings.TrimSpace(raw)
	if raw != "" {
		if mayBeLocal(raw) {
			for _, layout := range localLayouts {
				// Each layout starts with a four-digit year and the
				// byte after it: a layout whose fifth byte differs
				// cannot match (and a failed parse costs an error).
				if layout[4] != raw[4] {
					continue
				}
				if t, err := time.ParseInLocation(layout, raw, loc); err == nil {
					return t
				}
			}
		}
		if endsWithTime(raw) {
			for _, layout := range rfc822Local {
				if t, err := time.ParseInLocation(layout, raw, loc); err == nil {
					return t
				}
			}
		}
		if fixed, ok := numericGMTOffset(raw); ok {
			for _, layout := range zonedLayouts {
				if t, err := time.Parse(layout, fixed); err == nil {
					return t
				}
			}
		}
		if strings.Contains(raw, "CST") && isChinaZone(loc) {
			fixed := strings.Replace(raw, "CST", "+0800", 1)
			for _, layout := range zonedLayouts {
				if t, err := time.Parse(layout, fixed); err == nil {
					return t
				}
			}
		}
		if t, ok := shortYearDate(raw, loc); ok {
			return t
		}
	}
	if parsed != nil && !parsed.IsZero() {
		return *parsed
	}
	return time.Time{}
}

// shortYear is an RFC 822 date with its two-digit year ("Fri, 31 Dec 99
// 23:59:59 GMT"), which RFC 822 wrote and RSS 2.0 allows: the parts before
// the year, the year, the time, and the zone if any.
var shortYear = regexp.MustCompile(`^((?:[A-Za-z]{3}, ?)?\d{1,2} [A-Za-z]{3} )(\d{2}) (\d{1,2}:\d{2})(:\d{2})? ?([A-Za-z]{1,3}|[+-]\d{4})?$`)

// rfc822Zones are the zone names of RFC 822 §5.1 with their offsets
// ("CST" is China Standard Time in a Chinese source, as parseDate reads
// it).
var rfc822Zones = map[string]string{
	"UT": "+0000", "GMT": "+0000", "Z": "+0000",
	"EST": "-0500", "EDT": "-0400", "CST": "-0600", "CDT": "-0500",
	"MST": "-0700", "MDT": "-0600", "PST": "-0800", "PDT": "-0700",
}

// shortYearDate reads an RFC 822 date with a two-digit year. Years 69–99
// are 1969–1999, 00–68 are 2000–2068, as time.Parse reads "06".
func shortYearDate(raw string, loc *time.Location) (time.Time, bool) {
	if !hasShortYear(raw) {
		return time.Time{}, false // most dates: no regexp for them
	}
	m := shortYear.FindStringSubmatch(raw)
	if m == nil {
		return time.Time{}, false
	}
	century := "20"
	if m[2] >= "69" {
		century = "19"
	}
	secs := m[4]
	if secs == "" {
		secs = ":00"
	}
	// The weekday is left out: time.Parse would check it against the date.
	day := m[1]
	if i := strings.IndexByte(day, ','); i >= 0 {
		day = day[i+1:]
	}
	full := strings.TrimSpace(day) + " " + century + m[2] + " " + m[3] + secs
	zone := strings.ToUpper(m[5])
	switch {
	case zone == "":
		t, err := time.ParseInLocation("2 Jan 2006 15:04:05", full, loc)
		return t, err == nil
	case zone == "CST" && isChinaZone(loc):
		zone = "+0800"
	case zone[0] != '+' && zone[0] != '-':
		if zone = rfc822Zones[zone]; zone == "" {
			return time.Time{}, false // a military letter, or a name RFC 822 does not define
		}
	}
	t, err := time.Parse("2 Jan 2006 15:04:05 -0700", full+" "+zone)
	return t, err == nil
}

// hasShortYear reports whether the time of day in raw follows a month
// name and a two-digit year ("Dec 99 23:"), as in every date shortYear
// matches.
func hasShortYear(raw string) bool {
	h := strings.IndexByte(raw, ':') - 1 // the hour's last digit
	if h > 0 && isDigit(raw[h-1]) {
		h--
	}
	return h >= 5 && raw[h-1] == ' ' && isDigit(raw[h-2]) && isDigit(raw[h-3]) && raw[h-4] == ' ' && !isDigit(raw[h-5])
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// mayBeLocal reports whether raw may match a layout of localLayouts.
// Each starts with "2006" (time.Parse reads exactly four digits) and then
// a '-', '/', '.' or '年'; and every byte a match consumes is a digit, one of
// the layouts' own bytes (- / : T, a space, 年月日) or part of fractional
// seconds (. or , before digits), which time.Parse accepts after "05".
// Most dates are RFC 822 ("Thu, 26 Nov 2026 …") or RFC 3339 with a zone
// ("+08:00", "Z"): they fail one check or the other, without the error
// each failed time.Parse allocates.
func mayBeLocal(raw string) bool {
	if len(raw) < 5 {
		return false
	}
	for i := range 4 {
		if raw[i] < '0' || raw[i] > '9' {
			return false
		}
	}
	if raw[4] != '-' && raw[4] != '/' && raw[4] != '.' && !strings.HasPrefix(raw[4:], "年") {
		return false
	}
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case '0' <= c && c <= '9':
		case c == '-', c == '/', c == ':', c == 'T', c == ' ', c == '.', c == ',':
		case strings.HasPrefix(raw[i:], "年"), strings.HasPrefix(raw[i:], "月"), strings.HasPrefix(raw[i:], "日"):
			i += len("年") - 1
		default:
			return false
		}
	}
	return true
}

// gmtOffset is a zone written as an offset from GMT or UTC, as feeds
// write Beijing time: "GMT+8", "UTC+8", "GMT+08:00". gofeed reads the
// first as GMT and cannot read the others.
var gmtOffset = regexp.MustCompile(` ?(?:GMT|UTC) ?([+-])(\d{1,2})(?::?(\d{2}))?$`)

// numericGMTOffset is raw with such a zone written as RFC 822's numeric
// one ("… +0800"), if it has one.
func numericGMTOffset(raw string) (string, bool) {
	// Most dates end in "GMT" or a numeric zone: no regexp for them.
	i := strings.LastIndex(raw, "GMT")
	if i < 0 {
		i = strings.LastIndex(raw, "UTC")
	}
	if i < 0 {
		return "", false
	}
	if rest := strings.TrimPrefix(raw[i+3:], " "); rest == "" || rest[0] != '+' && rest[0] != '-' {
		return "", false
	}
	m := gmtOffset.FindStringSubmatchIndex(raw)
	if m == nil {
		return "", false
	}
	hours, minutes := raw[m[4]:m[5]], "00"
	if m[6] >= 0 {
		minutes = raw[m[6]:m[7]]
	}
	if len(hours) == 1 {
		hours = "0" + hours
	}
	return raw[:m[0]] + " " + raw[m[2]:m[3]] + hours + minutes, true
}

// endsWithTime reports whether raw, not a local date of the year-first
// kinds, ends with a time of day, not a zone: "Fri, 13 Mar 2026 10:00:00"
// rather than "… 10:00:00 +0800" or "… GMT", the only dates worth trying
// rfc822Local on.
func endsWithTime(raw string) bool {
	last := raw[strings.LastIndexByte(raw, ' ')+1:]
	return last != raw && strings.IndexByte(last, ':') > 0 && '0' <= raw[len(raw)-1] && raw[len(raw)-1] <= '9'
}

func isChinaZone(loc *time.Location) bool {
	_, off := time.Date(2020, 1, 1, 0, 0, 0, 0, loc).Zone()
	return off == 8*3600
}
