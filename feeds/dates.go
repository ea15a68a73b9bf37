package feeds

import (
	"strings"
	"time"
)

// localLayouts are date formats that carry no zone. gofeed reads them as
// UTC; we read them in the source's zone. A "1" or "2" or "15" in a layout also
// accepts a leading zero, so 2006-1-2 covers 2006-01-02.
var localLayouts = []string{
	"2006-1-2 15:04:05",
	"2006-1-2 15:04",
	"2006-1-2T15:04:05",
	"2006-1-2T15:04",
	"2006/1/2 15:04:05",
	"2006/1/2 15:04",
	"2006年1月2日 15:04:05",
	"2006年1月2日 15:04",
	"2006年1月2日15:04:05",
	"2006年1月2日15:04",
	"2006-1-2",
	"2006/1/2",
	"2006年1月2日",
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
		for _, layout := range localLayouts {
			if t, err := time.ParseInLocation(layout, raw, loc); err == nil {
				return t
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
	}
	if parsed != nil && !parsed.IsZero() {
		return *parsed
	}
	return time.Time{}
}

func isChinaZone(loc *time.Location) bool {
	_, off := time.Date(2020, 1, 1, 0, 0, 0, 0, loc).Zone()
	return off == 8*3600
}
