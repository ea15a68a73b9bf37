package feeds

import (
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds/scrape"
)

// The dates Chinese list pages and APIs write, read as a poll of a scraped
// source reads them (scrape, then the feed rules, in the source's zone),
// with no time_format: each raw value is a JSON literal of an item's
// "d", read at now in Asia/Shanghai. A zero want is a date that is not
// read, and must be reported.
func TestScrapedDateFormats(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, shanghai)
	}
	now := at(2026, 11, 26, 14, 0, 0)
	newYear := at(2027, 1, 1, 0, 30, 0) // just after midnight, 1 January
	for _, tc := range []struct {
		raw  string
		now  time.Time
		want time.Time
	}{
		// Full dates without a zone, in the source's zone.
		{`"2026.11.20 08:00"`, now, at(2026, 11, 20, 8, 0, 0)},
		{`"2026.1.2 15:04:05"`, now, at(2026, 1, 2, 15, 4, 5)},
		{`"2026.11.20"`, now, at(2026, 11, 20, 0, 0, 0)},
		{`"2026-11-25 15:05"`, now, at(2026, 11, 25, 15, 5, 0)},
		// Without a year: this year...
		{`"11月25日 15:05"`, now, at(2026, 11, 25, 15, 5, 0)},
		{`"11月25日15:05"`, now, at(2026, 11, 25, 15, 5, 0)},
		{`"11-25 15:05"`, now, at(2026, 11, 25, 15, 5, 0)},
		{`"11/25 15:05:30"`, now, at(2026, 11, 25, 15, 5, 30)},
		{`"3月1日"`, now, at(2026, 3, 1, 0, 0, 0)},
		// ... up to a day ahead (a site's clock running fast) ...
		{`"11-27 09:00"`, now, at(2026, 11, 27, 9, 0, 0)},
		// ... else last year: more than a day ahead.
		{`"11-28 09:00"`, now, at(2025, 11, 28, 9, 0, 0)},
		// The year boundary: read on 1 January, December is last year's,
		// today and tomorrow this year's.
		{`"12-31 23:50"`, newYear, at(2026, 12, 31, 23, 50, 0)},
		{`"12月30日 10:00"`, newYear, at(2026, 12, 30, 10, 0, 0)},
		{`"01-01 08:00"`, newYear, at(2027, 1, 1, 8, 0, 0)},
		{`"1月2日 00:10"`, newYear, at(2027, 1, 2, 0, 10, 0)},
		{`"01-03 00:10"`, newYear, at(2026, 1, 3, 0, 10, 0)},
		// Relative to the poll's clock.
		{`"刚刚"`, now, now},
		{`"15分钟前"`, now, at(2026, 11, 26, 13, 45, 0)},
		{`"30秒前"`, now, at(2026, 11, 26, 13, 59, 30)},
		{`"3小时前"`, now, at(2026, 11, 26, 11, 0, 0)},
		{`"3 小时前"`, now, at(2026, 11, 26, 11, 0, 0)},
		{`"三小时前"`, now, at(2026, 11, 26, 11, 0, 0)},
		{`"半小时前"`, now, at(2026, 11, 26, 13, 30, 0)},
		{`"2个小时前"`, now, at(2026, 11, 26, 12, 0, 0)},
		{`"2天前"`, now, at(2026, 11, 24, 14, 0, 0)},
		{`"1周前"`, now, at(2026, 11, 19, 14, 0, 0)},
		{`"3小时前"`, newYear, at(2026, 12, 31, 21, 30, 0)},
		{`"今天 08:30"`, now, at(2026, 11, 26, 8, 30, 0)},
		{`"今天08:30"`, now, at(2026, 11, 26, 8, 30, 0)},
		{`"昨天 15:05"`, now, at(2026, 11, 25, 15, 5, 0)},
		{`"昨天 23:50"`, newYear, at(2026, 12, 31, 23, 50, 0)},
		{`"前天 09:00:10"`, now, at(2026, 11, 24, 9, 0, 10)},
		{`"前天"`, now, at(2026, 11, 24, 0, 0, 0)},
		// A time alone is today's, or yesterday's when today's is more
		// than an hour ahead.
		{`"09:15"`, now, at(2026, 11, 26, 9, 15, 0)},
		{`"14:40"`, now, at(2026, 11, 26, 14, 40, 0)},
		{`"23:50"`, newYear, at(2026, 12, 31, 23, 50, 0)},
		// Unix times, as numbers or strings: seconds, milliseconds.
		{`1764120600`, now, at(2025, 11, 26, 9, 30, 0)},
		{`"1764120600"`, now, at(2025, 11, 26, 9, 30, 0)},
		{`1764120600.5`, now, at(2025, 11, 26, 9, 30, 0).Add(500 * time.Millisecond)},
		{`1764120600000`, now, at(2025, 11, 26, 9, 30, 0)},
		// Not read: numbers that are no plausible Unix time (a date
		// written as digits, a time 260 years on, an id), words no rule
		// knows, half a date.
		{`20261126`, now, time.Time{}},
		{`9999999999`, now, time.Time{}},
		{`1864120600`, now, time.Time{}}, // 2029: over a year after now
		{`123456789012`, now, time.Time{}},
		{`"上周三"`, now, time.Time{}},
		{`"11月"`, now, time.Time{}},
		{`"25:61"`, now, time.Time{}},
		{`"13-45 10:00"`, now, time.Time{}},
	} {
		feed, notes := scrapeOne(t, tc.raw, shanghai, tc.now)
		got := feed.Items[0].Published
		if !got.Equal(tc.want) {
			t.Errorf("%s at %s: published %v, want %v", tc.raw, tc.now.Format("2006-01-02 15:04"), got, tc.want)
		}
		unread := len(notes.UnreadDates) == 1 && notes.UnreadDates[0].Count == 1 &&
			notes.UnreadDates[0].Field == "published" && len(notes.UnreadDates[0].Examples) == 1 &&
			strings.Trim(tc.raw, `"`) == notes.UnreadDates[0].Examples[0]
		if tc.want.IsZero() != unread {
			t.Errorf("%s: unread dates %+v", tc.raw, notes.UnreadDates)
		}
	}
}

// scrapeOne parses a JSON answer of one item whose published date is the
// JSON value raw, as a poll of a kind: json source without time_format.
func scrapeOne(t *testing.T, raw string, loc *time.Location, now time.Time) (*Feed, pageNotes) {
	t.Helper()
	s, err := scrape.Compile(scrape.Spec{Kind: scrape.JSON, Items: "list",
		Fields: map[string]string{"guid": "id", "title": "t", "published": "d"}})
	if err != nil {
		t.Fatal(err)
	}
	src := Source{Slug: "api", Location: loc, Scraper: s}
	body := `{"list":[{"id":"1","t":"标题","d":` + raw + `}]}`
	feed, notes, err := src.parse(&Response{URL: "https://api.example.cn/list", ContentType: "application/json", Body: []byte(body)}, now)
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	if len(feed.Items) != 1 {
		t.Fatalf("%s: %d items", raw, len(feed.Items))
	}
	return feed, notes
}

// A relative date is read anew at each poll, a little later each time: it
// must not make the item changed (its hash), or every poll would update
// every such item and fetch its full text again. A date that becomes
// exact does change it.
func TestRelativeDateIsNoChange(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 14, 0, 0, 0, shanghai)
	first, _ := scrapeOne(t, `"3小时前"`, shanghai, now)
	later, _ := scrapeOne(t, `"3小时前"`, shanghai, now.Add(10*time.Minute))
	exact, _ := scrapeOne(t, `"11-26 11:00"`, shanghai, now.Add(10*time.Minute))
	if first.Items[0].Published.Equal(later.Items[0].Published) {
		t.Fatalf("the two readings are the same instant: the test shows nothing")
	}
	if first.Items[0].Hash != later.Items[0].Hash {
		t.Errorf("a relative date read 10 minutes later changed the item's hash")
	}
	if exact.Items[0].Hash == first.Items[0].Hash {
		t.Errorf("the date written in full did not change the item's hash")
	}
}

// A poll quotes a few of the dates it could not read, and counts them all.
func TestUnreadDatesWarning(t *testing.T) {
	s, err := scrape.Compile(scrape.Spec{Kind: scrape.JSON, Items: "list",
		Fields: map[string]string{"guid": "id", "published": "d", "updated": "u"}})
	if err != nil {
		t.Fatal(err)
	}
	src := Source{Slug: "api", Location: time.UTC, Scraper: s}
	body := `{"list":[{"id":"1","d":"上周三"},{"id":"2","d":"上周三"},{"id":"3","d":"上周四"},{"id":"4","d":"大前天"},
		{"id":"5","d":"发布于 11月"},{"id":"6","d":"2026-11-26 09:30","u":"修改于上午"}]}`
	now := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	_, notes, err := src.parse(&Response{URL: "https://api.example.cn/list", ContentType: "application/json", Body: []byte(body)}, now)
	if err != nil {
		t.Fatal(err)
	}
	r := &Result{UnreadDates: notes.UnreadDates}
	want := `fields.published: 5 dates not read ("上周三", "上周四", "大前天", …), dated when first seen; ` +
		`fields.updated: 1 date not read ("修改于上午"), dated when first seen (time_format can give the page's layout)`
	if got := r.DateWarning(); got != want {
		t.Errorf("warning\n %s\nwant\n %s", got, want)
	}
}
