// Package websub tells WebSub hubs (W3C WebSub, the PubSubHubbub publish
// ping) that published feeds changed, so that readers subscribed through a
// hub hear of new entries at once instead of at their next poll.
//
// Changes finds which feeds a poll changed: it remembers a fingerprint of
// each feed's first page, as package publish makes it, and reports the
// feeds whose fingerprint moved. Pinger sends their URLs to every hub:
// hub.mode=publish with one hub.url per feed URL, form-encoded, in one
// request per hub. Each hub has its own queue and goroutine: a slow or
// failing hub delays neither polling nor the other hubs; a failed ping is
// retried with exponential backoff, and URLs that change meanwhile join it,
// so each hub hears of each change once.
package websub

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/feedrelay/feedrelay/publish"
)

// Formats are the extensions of every format a feed is published in: each
// is a topic of its own.
var Formats = []string{".atom", ".rss", ".json"}

// Topics are the URLs of f's first page in every format.
func Topics(f *publish.Feed) []string {
	out := make([]string, 0, len(Formats))
	for _, ext := range Formats {
		out = append(out, f.URL(ext, ""))
	}
	return out
}

// Changes remembers what the first page of each published feed shows. It
// is safe for concurrent use.
type Changes struct {
	mu    sync.Mutex
	print map[string][sha256.Size]byte // by feed path
}

// Changed returns the feeds of pub that may show the entries of any of
// sources (every feed if sources is nil) whose first page differs from the
// last time it was looked at, and remembers the new ones. A feed seen for
// the first time is remembered, not reported: it is the state before the
// changes to come.
func (c *Changes) Changed(ctx context.Context, pub *publish.Publisher, sources []string) ([]*publish.Feed, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.print == nil {
		c.print = map[string][sha256.Size]byte{}
	}
	var changed []*publish.Feed
	for _, f := range pub.Feeds() {
		if sources != nil && !slices.ContainsFunc(f.Sources(), func(s string) bool { return slices.Contains(sources, s) }) {
			continue
		}
		pg, err := pub.Page(ctx, f, publish.Cursor{})
		if err != nil {
			return changed, fmt.Errorf("what %s shows: %w", f.Path, err)
		}
		sum := fingerprint(pg)
		old, seen := c.print[f.Path]
		c.print[f.Path] = sum
		if seen && old != sum {
			changed = append(changed, f)
		}
	}
	return changed, nil
}

// fingerprint sums what a reader of the page sees.
func fingerprint(pg *publish.Page) [sha256.Size]byte {
	h := sha256.New()
	field := func(s string) {
		binary.Write(h, binary.LittleEndian, int64(len(s)))
		io.WriteString(h, s)
	}
	field(pg.Title)
	for _, e := range pg.Entries {
		field(e.EntryID)
		field(e.Title)
		field(e.Link)
		field(e.Author)
		field(e.HTML)
		field(e.Updated.UTC().Format(time.RFC3339Nano))
		field(e.Source.Title)
	}
	return [sha256.Size]byte(h.Sum(nil))
}

// Pinger sends publish pings to hubs. It is safe for concurrent use; Run
// must be running for pings to leave.
type Pinger struct {
	Client *http.Client
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the wait before a failed ping is
	// sent again (doubling from the first to the second).
	MinBackoff, MaxBackoff time.Duration

	pings *prometheus.CounterVec

	mu    sync.Mutex
	hubs  map[string]*hub
	ctx   context.Context // Run's; nil before
	group sync.WaitGroup
}

// hub is one hub's queue: the topics it has yet to hear of.
type hub struct {
	url    string
	mu     sync.Mutex
	topics []string
	wake   chan struct{} // a token when topics were added
	stop   context.CancelFunc
}

// NewPinger returns a Pinger that counts its pings on reg as
// feedrelay_websub_pings_total{result} (success, failure).
func NewPinger(reg prometheus.Registerer, logger *slog.Logger) *Pinger {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Pinger{
		Client:     &http.Client{Timeout: 10 * time.Second},
		Logger:     logger,
		MinBackoff: time.Second,
		MaxBackoff: 10 * time.Minute,
		pings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "feedrelay_websub_pings_total",
			Help: "Publish pings sent to WebSub hubs, by result (success: the hub answered 2xx; failure: it did not, or could not be reached; retried with backoff).",
		}, []string{"result"}),
		hubs: map[string]*hub{},
	}
	p.pings.WithLabelValues("success")
	p.pings.WithLabelValues("failure")
	if reg != nil {
		reg.MustRegister(p.pings)
	}
	return p
}

// SetHubs makes hubs the ones pinged: a hub no longer listed stops (what
// it had yet to hear of is dropped), a new one starts with nothing to send.
func (p *Pinger) SetHubs(hubs []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for u, h := range p.hubs {
		if !slices.Contains(hubs, u) {
			if h.stop != nil {
				h.stop()
			}
			delete(p.hubs, u)
		}
	}
	for _, u := range hubs {
		if p.hubs[u] == nil {
			h := &hub{url: u, wake: make(chan struct{}, 1)}
			p.hubs[u] = h
			if p.ctx != nil {
				p.start(h)
			}
		}
	}
}

// start runs h's sender until Run ends or h is removed; p.mu is held.
func (p *Pinger) start(h *hub) {
	ctx, cancel := context.WithCancel(p.ctx)
	h.stop = cancel
	p.group.Go(func() { p.send(ctx, h) })
}

// Run sends the pings until ctx ends, then waits for the requests in
// flight.
func (p *Pinger) Run(ctx context.Context) {
	p.mu.Lock()
	p.ctx = ctx
	for _, h := range p.hubs {
		p.start(h)
	}
	p.mu.Unlock()
	<-ctx.Done()
	p.group.Wait()
	p.mu.Lock()
	p.ctx = nil
	p.mu.Unlock()
}

// Publish queues topics for every hub and returns at once.
func (p *Pinger) Publish(topics []string) {
	if len(topics) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, h := range p.hubs {
		h.add(topics)
	}
}

// PublishNow pings every hub with topics once, now, and returns what
// failed: for a process that exits next (a cron `feedrelay export static
// -ping`), which cannot wait to retry. Run need not be running.
func (p *Pinger) PublishNow(ctx context.Context, topics []string) error {
	if len(topics) == 0 {
		return nil
	}
	p.mu.Lock()
	hubs := make([]string, 0, len(p.hubs))
	for u := range p.hubs {
		hubs = append(hubs, u)
	}
	p.mu.Unlock()
	slices.Sort(hubs)
	var errs []error
	for _, u := range hubs {
		if err := p.ping(ctx, u, topics); err != nil {
			p.pings.WithLabelValues("failure").Inc()
			errs = append(errs, err)
			continue
		}
		p.pings.WithLabelValues("success").Inc()
	}
	return errors.Join(errs...)
}

// add queues topics not queued yet, and wakes the sender.
func (h *hub) add(topics []string) {
	h.mu.Lock()
	for _, t := range topics {
		if !slices.Contains(h.topics, t) {
			h.topics = append(h.topics, t)
		}
	}
	h.mu.Unlock()
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// take empties the queue.
func (h *hub) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics
	h.topics = nil
	return t
}

// send pings h with what is queued, each time something is, until ctx
// ends; a failed ping goes back to the queue, and is sent again after the
// backoff together with whatever joined it.
func (p *Pinger) send(ctx context.Context, h *hub) {
	backoff := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		}
		topics := h.take()
		if len(topics) == 0 {
			continue
		}
		err := p.ping(ctx, h.url, topics)
		if err == nil {
			p.pings.WithLabelValues("success").Inc()
			backoff = 0
			continue
		}
		if ctx.Err() != nil {
			return
		}
		p.pings.WithLabelValues("failure").Inc()
		backoff = min(max(2*backoff, p.MinBackoff), p.MaxBackoff)
		p.Logger.Warn("websub ping failed: retrying", slog.String("hub", h.url),
			slog.Int("topics", len(topics)), slog.Duration("retry_in", backoff), slog.String("error", err.Error()))
		h.add(topics)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

// ping is one publish request: hub.mode=publish and a hub.url per topic.
func (p *Pinger) ping(ctx context.Context, hubURL string, topics []string) error {
	form := url.Values{"hub.mode": {"publish"}, "hub.url": topics}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hubURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("ping %s: %w", hubURL, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.Client.Do(req)
	if err != nil {
		return fmt.Errorf("ping %s: %w", hubURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("ping %s: %s: %s", hubURL, resp.Status, excerpt(body, 200))
	}
	p.Logger.Info("websub ping", slog.String("hub", hubURL), slog.Int("topics", len(topics)))
	return nil
}

// excerpt is the start of a hub's answer on one line (an error page's HTML
// spans many), at most n bytes, cut at a character.
func excerpt(body []byte, n int) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "\uFFFD")), " ")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
