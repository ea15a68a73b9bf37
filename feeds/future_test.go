package feeds_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
	"github.com/feedrelay/feedrelay/storage"
)

// A feed with an item dated 2099 and one whose +0800 time is labelled GMT
// (eight hours ahead): the 2099 date is dated when first seen, and the
// poll says so in its summary, its log and `poll -dry-run`; the mislabelled
// one, within a day of the poll, is kept as the source dates it.
func TestPoll_FutureDates(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	const feed = `<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>f</title><link>https://f.example/</link>
<item><guid>f1</guid><title>from 2099</title><link>https://f.example/1</link><pubDate>Thu, 01 Jan 2099 00:00:00 +0000</pubDate></item>
<item><guid>f2</guid><title>zone mislabelled</title><link>https://f.example/2</link><pubDate>Tue, 01 Dec 2026 20:00:00 GMT</pubDate></item>
</channel></rss>`
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write([]byte(feed))
	}))
	defer ts.Close()
	src := feeds.Source{Slug: "f", Name: "f", URL: ts.URL, Timeout: 5 * time.Second, MaxBodySize: 1 << 20}
	p, db := newPoller(t, "f")
	p.Now = func() time.Time { return now }
	db.Now = p.Now
	var logged bytes.Buffer
	p.Logger = slog.New(slog.NewTextHandler(&logged, nil))

	const warning = `published: 1 date more than 24h0m0s ahead of the poll ("2099-01-01T00:00:00Z"), dated when first seen`
	r := p.Poll(context.Background(), src)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if got := r.Summary(); got != "new 2, updated 0, unchanged 0; "+warning {
		t.Errorf("summary %q", got)
	}
	if log := logged.String(); !strings.Contains(log, `level=WARN msg="poll: dates in the future" source=f`) || !strings.Contains(log, "2099-01-01T00:00:00Z") {
		t.Errorf("log:\n%s", log)
	}
	dates := map[string]time.Time{}
	stored, err := db.Entries(context.Background(), storage.EntryQuery{Sources: []string{"f"}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range stored {
		dates[e.Title] = e.Published
	}
	if !dates["from 2099"].Equal(now) || !dates["zone mislabelled"].Equal(time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC)) {
		t.Errorf("published: %v; want the 2099 item at the poll, the other as dated", dates)
	}

	// The next poll, the same feed: the clamped date changes nothing.
	now = now.Add(time.Hour)
	if r := p.Poll(context.Background(), src); r.Counts != (feeds.Counts{Unchanged: 2}) {
		t.Errorf("second poll: %+v, want 2 unchanged", r.Counts)
	}

	pv, err := p.Preview(context.Background(), src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pv.UnreadDates) != 1 || pv.UnreadDates[0].String() != warning {
		t.Errorf("dry run warnings %+v, want %q", pv.UnreadDates, warning)
	}
}
