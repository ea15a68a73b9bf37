package feeds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// Result is the outcome of one poll of one source. The Poller writes it
// (fetch, parse, what the store did) and hands it on; after that only the
// Scheduler, which owns when a source is polled next, sets NextPoll.
type Result struct {
	Source   string    // slug
	URL      string    // the URL polled
	MovedTo  string    // set when the source answered with permanent redirects
	NextPoll time.Time // set by the Scheduler
	// FreshFor is the longest the response or the feed says it stays fresh.
	FreshFor     time.Duration
	Attempted    time.Time
	Duration     time.Duration
	StatusCode   int
	NotModified  bool
	ETag         string
	LastModified string
	Feed         *Feed // nil on 304 or error, and once stored
	Err          error
	Counts       Counts
	// Skipped is how many items of a scraped page had neither guid nor
	// link and were left out.
	Skipped int
	// UnreadDates are the dates of a scraped page that could not be read,
	// one per field (see DateWarning).
	UnreadDates []UnreadDates
	// ReadWarnings are what reading the body warned of (Feed.Warnings):
	// a guessed charset, bytes replaced, JSON Feed fields mended; and of a
	// scraped page, a field that matched nothing in any item, or links
	// that are no web address (scrape.Result.Warnings).
	ReadWarnings []string
	// Retried are the full texts of stored items fetched again in this
	// poll (an earlier fetch failed); Articles counts every article
	// fetch of the poll, those of its items included.
	Retried  []ArticleUpdate
	Articles ArticleCounts
	// Failures is how many polls in a row have failed, this one included,
	// as the Store counts them (so the count survives restarts).
	Failures int
	// Lease is set when the source was polled under a lease the Scheduler
	// claimed (Leaser): the Store must end the lease in Save's
	// transaction and record Lease(failures) — when the source is due
	// again, given its count of failures in a row — as its next poll, so
	// that a poll's items, validators and next poll are written together
	// or not at all. Nil otherwise.
	Lease func(failures int) time.Time
}

// Saved is what Store.Save did with a poll's result.
type Saved struct {
	Counts
	// Failures is how many polls of the source in a row have failed, this
	// one included; 0 after a success.
	Failures int
	// NextPoll is the next poll the store recorded for a leased poll
	// (Result.Lease); zero otherwise.
	NextPoll time.Time
}

// Store is what the poller needs from storage. Save must store the items of
// r.Feed (with their articles), r.Retried and the validators of r in one
// transaction, so that a validator is never saved for items that were not;
// it records failures too, and says what it did. It does not modify r.
//
// StoredArticles says, for each of items (by index), whether it is stored
// and under which list hash; DueArticles lists the source's items whose
// full text is pending and due at now (at most limit).
type Store interface {
	Validators(ctx context.Context, source string) (etag, lastModified string, err error)
	Save(ctx context.Context, r *Result) (Saved, error)
	StoredArticles(ctx context.Context, source string, items []Item) ([]StoredArticle, error)
	DueArticles(ctx context.Context, source string, now time.Time, limit int) ([]DueArticle, error)
}

// Poller polls one source at a time: conditional fetch, parse, normalize,
// store. It is safe for concurrent use on different sources.
type Poller struct {
	Fetcher *Fetcher
	Store   Store
	Logger  *slog.Logger
	Now     func() time.Time // replaceable in tests
}

// Poll fetches src once and stores what changed. The returned Result carries
// any error; Poll itself never fails.
func (p *Poller) Poll(ctx context.Context, src Source) *Result {
	return p.pollOnce(ctx, src, false)
}

// pollOnce is Poll; leased says that the Scheduler claimed src (Leaser), so
// that Save ends the lease and records the next poll.
func (p *Poller) pollOnce(ctx context.Context, src Source, leased bool) *Result {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	start := time.Now() // the clock may be a test's: durations are real
	r := &Result{Source: src.Slug, URL: src.URL, Attempted: now()}
	if leased {
		r.Lease = func(failures int) time.Time { return NextPoll(src, r, failures, time.Now()) }
	}
	r.Err = p.poll(ctx, src, r)
	if r.Err == nil && src.Article != nil {
		r.Err = p.articles(ctx, src, r)
	}
	r.Duration = time.Since(start)
	if r.Err == nil || ctx.Err() == nil {
		saved, err := p.Store.Save(ctx, r)
		if err != nil && r.Err == nil {
			r.Err = fmt.Errorf("store: %w", err)
		}
		r.Counts, r.Failures = saved.Counts, saved.Failures
		if !saved.NextPoll.IsZero() {
			r.NextPoll = saved.NextPoll
		}
	}
	r.Feed = nil // stored: a result kept for its health must not hold the items
	p.log(src, r)
	return r
}

func (p *Poller) poll(ctx context.Context, src Source, r *Result) error {
	etag, lastMod, err := p.Store.Validators(ctx, src.Slug)
	if err != nil {
		return fmt.Errorf("load validators: %w", err)
	}
	req := src.request(src.URL)
	req.ETag, req.LastModified = etag, lastMod
	resp, err := p.Fetcher.Fetch(ctx, req)
	if resp != nil {
		r.StatusCode = resp.StatusCode
		r.MovedTo = resp.MovedTo
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return fmt.Errorf("fetch: timed out after %v", src.Timeout)
		}
		return fmt.Errorf("fetch: %w", err)
	}
	r.ETag, r.LastModified, r.FreshFor = resp.ETag, resp.LastModified, resp.FreshFor
	if resp.NotModified {
		r.NotModified = true
		return nil
	}
	feed, notes, err := src.parse(resp, r.Attempted)
	resp.Release() // the feed holds copies only
	if err != nil {
		return err
	}
	r.Skipped, r.UnreadDates, r.ReadWarnings = notes.Skipped, notes.UnreadDates, notes.Warnings
	src.Identify(feed, r.Attempted)
	r.Feed = feed
	r.FreshFor = max(r.FreshFor, feed.TTL)
	return nil
}

func (p *Poller) log(src Source, r *Result) {
	if p.Logger == nil {
		return
	}
	attrs := []any{
		slog.String("source", src.Slug),
		slog.String("url", src.URL),
		slog.Int("status", r.StatusCode),
		slog.Duration("duration", r.Duration),
	}
	if r.MovedTo != "" {
		p.Logger.Warn("source moved permanently: update its url", append(attrs, slog.String("moved_to", r.MovedTo))...)
	}
	switch {
	case errors.Is(r.Err, context.Canceled):
		// Cut short by us (a shutdown, a reload that removed the
		// source), not the source's failure: nothing is recorded either.
		p.Logger.Info("poll cut short", append(attrs, slog.String("error", r.Err.Error()))...)
		return
	case r.Err != nil:
		p.Logger.Warn("poll failed", append(attrs, slog.String("error", r.Err.Error()))...)
		return
	}
	attrs = append(attrs,
		slog.Bool("not_modified", r.NotModified),
		slog.Int("new", r.Counts.New),
		slog.Int("updated", r.Counts.Updated),
		slog.Int("unchanged", r.Counts.Unchanged))
	if r.Skipped > 0 {
		attrs = append(attrs, slog.Int("skipped", r.Skipped))
	}
	if a := r.Articles; a.OK+a.Failed+a.Held > 0 {
		attrs = append(attrs, slog.Int("articles", a.OK), slog.Int("articles_failed", a.Failed))
		if a.Held > 0 {
			attrs = append(attrs, slog.Int("articles_held", a.Held))
		}
	}
	if w := r.DateWarning(); w != "" {
		// Its own line, whatever else the poll did: the items were
		// stored, dated when first seen.
		msg := "poll: dates not read"
		if !slices.ContainsFunc(r.UnreadDates, func(u UnreadDates) bool { return !u.Future }) {
			msg = "poll: dates in the future"
		}
		p.Logger.Warn(msg, slog.String("source", src.Slug), slog.String("url", src.URL), slog.String("dates", w))
	}
	if len(r.ReadWarnings) > 0 {
		// Likewise: the items were stored, read as the warning says.
		p.Logger.Warn("poll: body read with a warning", slog.String("source", src.Slug), slog.String("url", src.URL),
			slog.String("warning", strings.Join(r.ReadWarnings, "; ")))
	}
	if r.Articles.Failed > 0 {
		p.Logger.Warn("poll: full text not fetched", append(attrs, slog.String("article_error", r.Articles.Err))...)
		return
	}
	p.Logger.Info("poll", attrs...)
}

// Summary is a one-line account of a poll for people: what changed, or why
// it failed.
func (r *Result) Summary() string {
	var s string
	switch {
	case r.Err != nil:
		s = "error: " + r.Err.Error()
		if r.Failures > 1 {
			s += fmt.Sprintf(" (%d failures in a row)", r.Failures)
		}
		if !r.NextPoll.IsZero() {
			s += "; next try " + r.NextPoll.Format("2006-01-02 15:04:05 MST")
		}
	case r.NotModified:
		s = "unchanged (not modified)"
	default:
		s = fmt.Sprintf("new %d, updated %d, unchanged %d", r.Counts.New, r.Counts.Updated, r.Counts.Unchanged)
	}
	if r.Err == nil && r.Skipped > 0 {
		s += fmt.Sprintf("; skipped %d without guid or link", r.Skipped)
	}
	if w := r.Warning(); w != "" {
		s += "; " + w
	}
	if a := r.Articles; r.Err == nil && a.OK+a.Failed > 0 {
		s += fmt.Sprintf("; full text %d fetched", a.OK)
		if a.Failed > 0 {
			s += fmt.Sprintf(", %d failed (kept with their summary, retried later): %s", a.Failed, a.Err)
		}
	}
	if r.MovedTo != "" {
		s += "; moved permanently to " + r.MovedTo
	}
	return s
}

// DateWarning is the warning of the dates of a feed or scraped page that
// could not be read or lie too far ahead (FutureMargin), one clause per
// field ("" for none): Summary and the log say it, and the source's health
// shows it.
func (r *Result) DateWarning() string {
	if r.Err != nil || len(r.UnreadDates) == 0 {
		return ""
	}
	parts := make([]string, len(r.UnreadDates))
	hint := ""
	for i, u := range r.UnreadDates {
		parts[i] = u.String()
		if !u.InFeed && !u.Future {
			hint = " (time_format can give the page's layout)"
		}
	}
	return strings.Join(parts, "; ") + hint
}

// Warning is every warning of a successful poll, "" for none: how the
// body was read (ReadWarnings), then its dates not read (DateWarning).
// Summary says it, and the source's health shows it.
func (r *Result) Warning() string {
	if r.Err != nil {
		return ""
	}
	parts := append([]string(nil), r.ReadWarnings...)
	if w := r.DateWarning(); w != "" {
		parts = append(parts, w)
	}
	return strings.Join(parts, "; ")
}

// Health remembers the last poll of each source. Storage records failures
// and content, but a healthy 304 writes nothing, so the time of the last
// poll lives here. It is safe for concurrent use.
type Health struct {
	mu   sync.RWMutex
	last map[string]Result
}

// Record keeps r (without its feed) as the last poll of its source.
func (h *Health) Record(r *Result) {
	c := *r
	c.Feed = nil
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last == nil {
		h.last = make(map[string]Result)
	}
	h.last[r.Source] = c
}

// Last returns the last poll of a source, if there was one since start.
func (h *Health) Last(source string) (Result, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	r, ok := h.last[source]
	return r, ok
}

// request is a fetch of rawURL under src's limits and policy: its
// timeouts, body cap, user agent and headers, and the private addresses
// its configured URL (never a page it fetched) allows.
func (src Source) request(rawURL string) Request {
	return Request{
		URL:                  rawURL,
		Timeout:              src.Timeout,
		IdleTimeout:          src.IdleTimeout,
		MaxBodySize:          src.MaxBodySize,
		UserAgent:            src.UserAgent,
		Headers:              src.Headers,
		AllowPrivateNetworks: src.AllowPrivateNetworks,
		ConfiguredURL:        src.URL,
	}
}
