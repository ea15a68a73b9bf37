package feeds

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/feedrelay/feedrelay/feeds/charset"
	"github.com/feedrelay/feedrelay/htmltext"
	"github.com/feedrelay/feedrelay/story"
)

// The full text of items (full_text, issue 13). Each item's article is
// fetched once: when the item is new, and again only when the source
// changes the item (its content hash: the list's, never the article's, so
// an unchanged list costs no article fetch). A failed fetch keeps the item
// with what the list says of it, and is retried on later polls, with
// backoff, until MaxArticleAttempts (a 404 or 410 is not retried); it
// never fails the poll. Fetches go
// through the poll's Fetcher (its per-host limit, the source's body cap,
// timeouts and user agent), ArticleConcurrency at a time per source.

// ArticleState is where an item's full text stands.
type ArticleState string

// The states of an item's full text.
const (
	ArticleOK      ArticleState = "ok"      // fetched: the item's content is the article
	ArticlePending ArticleState = "pending" // to fetch, or to retry at NextAttempt
	ArticleFailed  ArticleState = "failed"  // MaxArticleAttempts failed, or a 404/410: not tried again until the item changes
)

// Article is the outcome of one fetch of an item's full text, as storage
// records it.
type Article struct {
	State ArticleState
	// Content is the article, sanitized like feed content; set when
	// State is ArticleOK.
	Content string
	// Attempts counts the fetches since the item was new or last changed,
	// this one included.
	Attempts int
	// NextAttempt is when a pending article may be tried again.
	NextAttempt time.Time
	Attempted   time.Time
	// Err is why the fetch failed; empty when it did not.
	Err string
}

const (
	// MaxArticleAttempts bounds the fetches of one article.
	MaxArticleAttempts = 4
	// ArticleRetryBase is the wait before the first retry; it doubles at
	// each failure, up to ArticleRetryMax (or later when the site asks with
	// Retry-After).
	ArticleRetryBase = 5 * time.Minute
	ArticleRetryMax  = 6 * time.Hour
	// ArticleConcurrency is how many articles of one source are fetched
	// at once; the fetcher's per-host limit applies on top.
	ArticleConcurrency = 4
	// MaxArticlesPerPoll bounds the fetches of one poll; the rest stay
	// pending for the next poll.
	MaxArticlesPerPoll = 100
)

// StoredArticle is what storage holds of one item of a poll: its row, if
// any, and the list hash stored with it.
type StoredArticle struct {
	ItemID int64 // 0: not stored
	Hash   string
	// Pruned: retention removed the item; it is not stored again.
	Pruned bool
}

// DueArticle is a stored item whose full text is pending and due for a
// fetch: its earlier fetch failed, or a poll's bound left it out.
type DueArticle struct {
	ItemID   int64
	URL      string
	Attempts int
	// What the item holds now: the list's content and summary, and the
	// origin, which the article may name when the list did not.
	Content, Summary, Origin string
}

// ArticleUpdate is the fetch of a stored item's full text outside its
// list's changes (a retry), with what the item holds once it is applied.
type ArticleUpdate struct {
	ItemID                   int64
	Content, Summary, Origin string
	Article                  Article
}

// ArticleCounts says what a poll's article fetches gave.
type ArticleCounts struct {
	OK, Failed int
	// Held were not asked for: their host had asked to be left alone
	// (articleHolds); they stay pending until its time.
	Held int
	// Err is the first failure, for the poll's summary and warning.
	Err string
}

// articleJob is one article to fetch: an item of this poll (item ≥ 0), or
// a stored item due for a retry.
type articleJob struct {
	item     int
	due      DueArticle
	url      string
	attempts int // before this fetch
	out      Article
	held     bool // not asked for: its host asked to be left alone
}

// articles fetches the full text r's items and the source's due retries
// need, and puts them in r for Save. Errors of the store are the poll's;
// an article that fails is only that article's.
func (p *Poller) articles(ctx context.Context, src Source, r *Result) error {
	var jobs []*articleJob
	changed := map[int64]bool{} // rows whose article this poll fetches anew
	if r.Feed != nil {
		stored, err := p.Store.StoredArticles(ctx, src.Slug, r.Feed.Items)
		if err != nil {
			return fmt.Errorf("look up stored items for their full text: %w", err)
		}
		for i, it := range r.Feed.Items {
			st := stored[i]
			if it.ArticleURL == "" || st.Pruned || (st.ItemID != 0 && st.Hash == it.Hash) {
				continue
			}
			if st.ItemID != 0 {
				changed[st.ItemID] = true
			}
			jobs = append(jobs, &articleJob{item: i, url: it.ArticleURL})
		}
	}
	due, err := p.Store.DueArticles(ctx, src.Slug, r.Attempted, MaxArticlesPerPoll)
	if err != nil {
		return fmt.Errorf("list articles due for a retry: %w", err)
	}
	for _, d := range due {
		if !changed[d.ItemID] {
			jobs = append(jobs, &articleJob{item: -1, due: d, url: d.URL, attempts: d.Attempts})
		}
	}
	if len(jobs) > MaxArticlesPerPoll {
		jobs = jobs[:MaxArticlesPerPoll] // the rest stay pending
	}
	p.fetchArticles(ctx, src, jobs, r.Attempted)
	for _, j := range jobs {
		if ctx.Err() != nil && j.out.State == "" {
			continue // cancelled before its fetch: still pending
		}
		switch {
		case j.held:
			r.Articles.Held++
		case j.out.State == ArticleOK:
			r.Articles.OK++
		default:
			r.Articles.Failed++
			if r.Articles.Err == "" {
				r.Articles.Err = j.out.Err
			}
		}
		if j.item >= 0 {
			it := &r.Feed.Items[j.item]
			a := j.out
			it.Article = &a
			if a.State == ArticleOK {
				it.Content, it.Summary = withArticle(it.Content, it.Summary, a.Content)
				it.Origin = articleOrigin(it.Origin, a.Content)
			}
			continue
		}
		u := ArticleUpdate{ItemID: j.due.ItemID, Content: j.due.Content, Summary: j.due.Summary,
			Origin: j.due.Origin, Article: j.out}
		if j.out.State == ArticleOK {
			u.Content, u.Summary = withArticle(j.due.Content, j.due.Summary, j.out.Content)
			u.Origin = articleOrigin(j.due.Origin, j.out.Content)
		}
		r.Retried = append(r.Retried, u)
	}
	return nil
}

// withArticle is an item's content and summary once its article is in: the
// article is the content, and what the list said (its summary, else its
// content) the summary.
func withArticle(content, summary, article string) (string, string) {
	if summary == "" {
		summary = content
	}
	if summary == article {
		summary = ""
	}
	return article, summary
}

// articleOrigin is the item's origin once its article is in: the one it
// has (a scraped fields.origin wins), else the one the article names at
// its end (Eastmoney's "（文章来源：证券时报网）").
func articleOrigin(origin, article string) string {
	if origin != "" {
		return origin
	}
	return story.Origin(article)
}

// fetchArticles runs jobs, ArticleConcurrency at a time, and sets each
// job's outcome (left zero for a job not run because ctx ended). An
// article on a host that asked to be left alone is not asked for: it stays
// pending until the host's time (see articleHolds).
func (p *Poller) fetchArticles(ctx context.Context, src Source, jobs []*articleJob, now time.Time) {
	var wg sync.WaitGroup
	slots := make(chan struct{}, ArticleConcurrency)
	for _, j := range jobs {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Go(func() {
			defer func() { <-slots }()
			host := articleHost(j.url)
			if until, held := p.Fetcher.articleHolds.until(host, time.Now()); held {
				// Not an attempt: no error of its own, the host's 429 is
				// the source's warning.
				j.out, j.held = Article{State: ArticlePending, Attempts: j.attempts, NextAttempt: until}, true
				return
			}
			content, err := p.FetchArticle(ctx, src, j.url)
			if err != nil && ctx.Err() != nil {
				return // shutting down: not the article's failure
			}
			p.Fetcher.articleHolds.answered(host, err, time.Now())
			j.out = articleOutcome(content, err, j.attempts+1, now)
		})
	}
	wg.Wait()
}

// articleHolds are the article hosts that asked to be left alone — a 429,
// or any answer with Retry-After — and until when. Their other articles
// wait meanwhile instead of being asked for, in the poll that heard it and
// in the next ones (of any source on that host: the Fetcher keeps them),
// so that a rate-limited site gets the few fetches in flight, not one per
// new item. The zero value holds nothing; it is safe for concurrent use.
type articleHolds struct {
	mu   sync.Mutex
	till map[string]time.Time
}

// until reports whether host is held at now, and until when.
func (h *articleHolds) until(host string, now time.Time) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.till[host]
	if ok && !now.Before(t) {
		delete(h.till, host)
		return time.Time{}, false
	}
	return t, ok
}

// answered holds host when err says it asked to be left alone: until its
// Retry-After (at most MaxBackoff away, as for feed polls), else (a 429
// without one) for ArticleRetryBase.
func (h *articleHolds) answered(host string, err error, now time.Time) {
	var he *HTTPError
	if !errors.As(err, &he) || (he.StatusCode != http.StatusTooManyRequests && he.RetryAfter.IsZero()) {
		return
	}
	t := he.RetryAfter
	if !t.After(now) {
		t = now.Add(ArticleRetryBase)
	}
	t = minTime(t, now.Add(MaxBackoff))
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.till == nil {
		h.till = map[string]time.Time{}
	}
	if t.After(h.till[host]) {
		h.till[host] = t
	}
}

// articleHost is the host an article URL is fetched from ("" if none).
func articleHost(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Host)
}

// articleOutcome is what storage records of a fetch that was the
// attempts-th since the item was new or changed.
func articleOutcome(content string, err error, attempts int, now time.Time) Article {
	a := Article{Attempts: attempts, Attempted: now}
	if err == nil {
		a.State, a.Content = ArticleOK, content
		return a
	}
	a.Err = err.Error()
	if attempts >= MaxArticleAttempts || permanent(err) {
		a.State = ArticleFailed
		return a
	}
	a.State = ArticlePending
	wait := ArticleRetryBase << (attempts - 1)
	if wait > ArticleRetryMax || wait <= 0 {
		wait = ArticleRetryMax
	}
	a.NextAttempt = now.Add(wait)
	var he *HTTPError
	if errors.As(err, &he) && he.RetryAfter.After(a.NextAttempt) {
		a.NextAttempt = minTime(he.RetryAfter, now.Add(MaxBackoff))
	}
	return a
}

// permanent reports whether err is an answer that a retry would only
// repeat: 404 Not Found or 410 Gone (a withdrawn article, a link the list
// got wrong). Such an article is not asked for again until the item
// changes; any other failure may pass (a 5xx, a 403 of an anti-bot wall, a
// timeout).
func permanent(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && (he.StatusCode == http.StatusNotFound || he.StatusCode == http.StatusGone)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// FetchArticle fetches the page at rawURL under src's limits (and its
// address policy: see Request.ConfiguredURL) and returns
// the article src.Article takes out of it, sanitized like feed content
// (relative links resolved against the page's <base href>, else its URL;
// lazy images given their real address).
func (p *Poller) FetchArticle(ctx context.Context, src Source, rawURL string) (string, error) {
	// A private address is reached only where the source's own URL names
	// it, or allow_private_networks says so: never because a page names it.
	resp, err := p.Fetcher.Fetch(ctx, src.request(rawURL))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("timed out after %v", src.Timeout)
		}
		return "", fmt.Errorf("article %s: %w", rawURL, err)
	}
	defer resp.Release() // what is returned is sanitize's, a copy
	text, _, err := decodePage(resp.Body, resp.ContentType, src.Charset)
	if err != nil {
		return "", fmt.Errorf("article %s: %w", rawURL, err)
	}
	raw, base, err := src.Article.Extract(text, resp.URL)
	if err != nil {
		return "", fmt.Errorf("article %s: %w", rawURL, err)
	}
	// Resolved against the page's <base href>, else its URL.
	out := sanitize(raw, base)
	if htmltext.Plain(out) == "" { // the article is HTML, not a title
		return "", fmt.Errorf("article %s: nothing is left of the article once sanitized", rawURL)
	}
	return out, nil
}

// decodePage converts a fetched page (an HTML page, or a JSON answer) to
// UTF-8 by the charset rules (an HTML page's <meta> included) and removes
// the characters XML 1.0 forbids, which could never be published. The
// charset.Result says how it was read (its Warning, for a poll's notes).
func decodePage(body []byte, contentType, override string) ([]byte, charset.Result, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, charset.Result{}, errors.New("empty body")
	}
	var (
		text []byte
		cs   charset.Result
		err  error
	)
	if t := bytes.TrimLeft(body, " \t\r\n\ufeff"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		text, cs, err = charset.ToUTF8(body, contentType, override)
	} else {
		text, cs, err = charset.PageToUTF8(body, contentType, override)
	}
	if err != nil {
		return nil, cs, err
	}
	return stripForbidden(text, false), cs, nil
}
