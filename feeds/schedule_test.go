package feeds

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

func TestNextPoll(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	src := Source{Interval: 10 * time.Minute}
	fail := func(status int, retry time.Time) *Result {
		return &Result{Err: fmt.Errorf("fetch: %w", &HTTPError{StatusCode: status, Status: http.StatusText(status), RetryAfter: retry})}
	}
	within := func(name string, got time.Time, want time.Duration) {
		t.Helper()
		d := got.Sub(now)
		if d < want*9/10 || d > want*11/10 {
			t.Errorf("%s: next poll in %v, want %v ±10%%", name, d, want)
		}
	}
	if got := NextPoll(src, &Result{}, 0, now); !got.Equal(now.Add(10 * time.Minute)) {
		t.Errorf("success: next poll in %v, want the interval", got.Sub(now))
	}
	within("1st 500", NextPoll(src, fail(500, time.Time{}), 1, now), 20*time.Minute)
	within("3rd 404", NextPoll(src, fail(404, time.Time{}), 3, now), 80*time.Minute)
	if d := NextPoll(src, fail(500, time.Time{}), 40, now).Sub(now); d != MaxBackoff {
		t.Errorf("40th failure: next poll in %v, want the 24h cap", d)
	}
	if d := NextPoll(src, fail(http.StatusGone, time.Time{}), 1, now).Sub(now); d != MaxBackoff {
		t.Errorf("410 Gone: next poll in %v, want daily", d)
	}
	if d := NextPoll(src, fail(429, now.Add(3*time.Hour)), 1, now).Sub(now); d != 3*time.Hour {
		t.Errorf("429 Retry-After 3h: next poll in %v", d)
	}
	if d := NextPoll(src, fail(503, now.Add(72*time.Hour)), 1, now).Sub(now); d != MaxBackoff {
		t.Errorf("503 Retry-After 72h: next poll in %v, want capped at 24h", d)
	}
	// Jitter spreads sources that fail together.
	seen := map[time.Time]bool{}
	for i := 0; i < 20; i++ {
		seen[NextPoll(src, fail(500, time.Time{}), 2, now)] = true
	}
	if len(seen) < 10 {
		t.Errorf("20 backoffs gave only %d distinct times: no jitter", len(seen))
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"120":                           now.Add(2 * time.Minute),
		"Thu, 26 Nov 2026 15:00:00 GMT": time.Date(2026, 11, 26, 15, 0, 0, 0, time.UTC),
		"":                              {},
		"soon":                          {},
		"-5":                            {},
	} {
		if got := retryAfter(in, now); !got.Equal(want) {
			t.Errorf("Retry-After %q: %v, want %v", in, got, want)
		}
	}
}

func TestNextPoll_FreshnessHintsLengthenOnly(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	src := Source{Interval: 10 * time.Minute, MaxInterval: 2 * time.Hour}
	for _, tc := range []struct {
		fresh, want time.Duration
	}{
		{0, 10 * time.Minute},
		{time.Minute, 10 * time.Minute}, // a hint never shortens the interval
		{time.Hour, time.Hour},          // Cache-Control: max-age=3600
		{24 * time.Hour, 2 * time.Hour}, // sy:updatePeriod daily, capped
	} {
		if d := NextPoll(src, &Result{FreshFor: tc.fresh}, 0, now).Sub(now); d != tc.want {
			t.Errorf("fresh for %v: next poll in %v, want %v", tc.fresh, d, tc.want)
		}
	}
}

func TestFreshness(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		cc, expires string
		want        time.Duration
	}{
		{"public, max-age=1800", "", 30 * time.Minute},
		{"max-age=600", "Thu, 26 Nov 2026 18:00:00 GMT", 10 * time.Minute}, // max-age wins
		{"", "Thu, 26 Nov 2026 14:00:00 GMT", 2 * time.Hour},
		{"no-cache", "Thu, 26 Nov 2026 14:00:00 GMT", 0},
		{"", "Thu, 26 Nov 2026 11:00:00 GMT", 0}, // already expired
		{"max-age=bogus", "", 0},
	} {
		h := http.Header{}
		h.Set("Cache-Control", tc.cc)
		h.Set("Expires", tc.expires)
		if got := freshness(h, now); got != tc.want {
			t.Errorf("Cache-Control %q Expires %q: %v, want %v", tc.cc, tc.expires, got, tc.want)
		}
	}
}

func TestParse_FeedTTL(t *testing.T) {
	for name, tc := range map[string]struct {
		doc  string
		want time.Duration
	}{
		"rss ttl": {`<rss version="2.0"><channel><title>t</title><ttl>90</ttl></channel></rss>`, 90 * time.Minute},
		"sy hourly/2": {`<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>t</title>
<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency></channel></rss>`, 30 * time.Minute},
		"sy daily": {`<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel><title>t</title>
<sy:updatePeriod>daily</sy:updatePeriod></channel></rss>`, 24 * time.Hour},
		"none": {`<rss version="2.0"><channel><title>t</title></channel></rss>`, 0},
	} {
		f, err := Parse([]byte(tc.doc), "", "", "https://example.org/feed", nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.TTL != tc.want {
			t.Errorf("%s: TTL %v, want %v", name, f.TTL, tc.want)
		}
	}
}
