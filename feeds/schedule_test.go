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
	if got := nextPoll(src, &Result{}, 0, now); !got.Equal(now.Add(10 * time.Minute)) {
		t.Errorf("success: next poll in %v, want the interval", got.Sub(now))
	}
	within("1st 500", nextPoll(src, fail(500, time.Time{}), 1, now), 20*time.Minute)
	within("3rd 404", nextPoll(src, fail(404, time.Time{}), 3, now), 80*time.Minute)
	if d := nextPoll(src, fail(500, time.Time{}), 40, now).Sub(now); d != MaxBackoff {
		t.Errorf("40th failure: next poll in %v, want the 24h cap", d)
	}
	if d := nextPoll(src, fail(http.StatusGone, time.Time{}), 1, now).Sub(now); d != MaxBackoff {
		t.Errorf("410 Gone: next poll in %v, want daily", d)
	}
	if d := nextPoll(src, fail(429, now.Add(3*time.Hour)), 1, now).Sub(now); d != 3*time.Hour {
		t.Errorf("429 Retry-After 3h: next poll in %v", d)
	}
	if d := nextPoll(src, fail(503, now.Add(72*time.Hour)), 1, now).Sub(now); d != MaxBackoff {
		t.Errorf("503 Retry-After 72h: next poll in %v, want capped at 24h", d)
	}
	// Jitter spreads sources that fail together.
	seen := map[time.Time]bool{}
	for i := 0; i < 20; i++ {
		seen[nextPoll(src, fail(500, time.Time{}), 2, now)] = true
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
