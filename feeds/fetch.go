package feeds

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultUserAgent names us and where to read about us, as polite crawlers do.
const DefaultUserAgent = "feedrelay/0.1 (+https://github.com/feedrelay/feedrelay)"

// MaxRedirects is how many redirects a fetch follows before giving up.
const MaxRedirects = 5

// ErrBodyTooLarge is returned when a response exceeds the source's body cap.
var ErrBodyTooLarge = errors.New("body too large")

// HTTPError is a response with a status we do not treat as a feed.
type HTTPError struct {
	StatusCode int
	Status     string
	// RetryAfter is when a 429 or 503 asked us to come back (zero if it
	// did not say).
	RetryAfter time.Time
}

func (e *HTTPError) Error() string { return "HTTP " + e.Status }

type fetchKey struct{}

// fetchState is what one fetch's redirects check and record.
type fetchState struct {
	policy dialPolicy
	// headers are the operator's own headers for the source's host, which
	// may hold its credentials (an API key, a cookie).
	headers []string
	moved   string // where a chain of permanent redirects ended
	broken  bool   // a temporary redirect was in the chain
}

// Request is one conditional fetch.
type Request struct {
	URL          string
	ETag         string
	LastModified string
	Timeout      time.Duration
	IdleTimeout  time.Duration // zero: only Timeout applies
	MaxBodySize  int64
	UserAgent    string
	Headers      map[string]string // sent to URL's host only, never across a redirect to another
	// AllowPrivateNetworks lets the fetch connect to loopback, private,
	// link-local and other non-public addresses (allow_private_networks).
	// Without it, besides public addresses, only the address URL itself
	// names (http://127.0.0.1:8080/, http://localhost/) may be reached.
	AllowPrivateNetworks bool
	// ConfiguredURL is the URL the operator wrote for the source, when URL
	// is another (an article page a feed links to): only the literal
	// address the operator's URL names is exempt, never one a feed names.
	// Empty: URL is the configured one.
	ConfiguredURL string
}

// Response is a fetched body, or a 304.
type Response struct {
	URL          string // after redirects
	StatusCode   int
	NotModified  bool
	ContentType  string
	Body         []byte
	ETag         string
	LastModified string
	// MovedTo is set when every redirect was permanent (301/308): the
	// source has a new address.
	MovedTo string
	// FreshFor is how long the response says it stays fresh
	// (Cache-Control max-age, else Expires); zero when it does not say.
	FreshFor time.Duration
	// buf holds Body, from bodies (Release).
	buf *bytes.Buffer
}

// Fetcher fetches feeds over HTTP(S) and from local files. It is safe for
// concurrent use. Fetches share connections, one pool per address policy
// (see Request.AllowPrivateNetworks): a connection to a private address one
// source may reach is never handed to a source that may not.
type Fetcher struct {
	userAgent string
	// resolver resolves host names; nil is the system's (tests set one).
	resolver *net.Resolver
	proxies  map[string]bool // host:port of the environment's proxies

	mu      sync.Mutex
	perHost int
	hosts   map[string]chan struct{} // a slot per fetch in flight to that host
	clients map[dialPolicy]*http.Client

	articleHolds articleHolds // the article hosts that asked to be left alone
}

// DefaultPerHost is how many fetches may run at once against one host.
const DefaultPerHost = 2

// SetPerHostLimit sets how many fetches may run at once against one host
// (for sources sharing a site or an RSSHub instance). Call it before the
// first fetch.
func (f *Fetcher) SetPerHostLimit(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.perHost = max(n, 1)
	for _, c := range f.clients {
		setPerHost(c.Transport.(*http.Transport), f.perHost)
	}
}

func setPerHost(tr *http.Transport, n int) {
	tr.MaxConnsPerHost = n
	tr.MaxIdleConnsPerHost = max(n, 4)
}

// acquire waits for a free slot for host; release it with the returned func.
func (f *Fetcher) acquire(ctx context.Context, host string) (func(), error) {
	f.mu.Lock()
	slots, ok := f.hosts[host]
	if !ok {
		slots = make(chan struct{}, f.perHost)
		f.hosts[host] = slots
	}
	f.mu.Unlock()
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// NewFetcher returns a Fetcher with shared, connection-reusing clients.
func NewFetcher(userAgent string) *Fetcher {
	if userAgent == "" {
		userAgent = DefaultUserAgent
	}
	return &Fetcher{
		userAgent: userAgent,
		proxies:   proxyAddrs(),
		perHost:   DefaultPerHost,
		hosts:     make(map[string]chan struct{}),
		clients:   make(map[dialPolicy]*http.Client),
	}
}

// client is the client whose connections obey p.
func (f *Fetcher) client(p dialPolicy) *http.Client {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.clients[p]; ok {
		return c
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           p.dialer(f.resolver, f.proxies),
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	setPerHost(tr, f.perHost)
	c := &http.Client{Transport: tr, CheckRedirect: checkRedirect}
	f.clients[p] = c
	return c
}

// checkRedirect decides whether to follow a redirect to req, and records
// whether the source has moved for good.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxRedirects {
		return fmt.Errorf("redirect loop: more than %d redirects", MaxRedirects)
	}
	st, ok := req.Context().Value(fetchKey{}).(*fetchState)
	if !ok {
		return errors.New("redirect outside a fetch")
	}
	// Credentials in a redirect's URL were chosen by the server that
	// redirected, not by the operator: net/http would send them as Basic
	// auth to wherever they point.
	req.URL.User = nil
	if err := st.policy.checkURL(req.URL); err != nil {
		return err
	}
	// The operator's credentials are for the configured host only.
	// (net/http keeps Authorization and Cookie for its subdomains, and
	// every other header for any host.)
	if !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
		for _, k := range []string{"Authorization", "Proxy-Authorization", "Cookie", "Cookie2"} {
			req.Header.Del(k)
		}
		for _, k := range st.headers {
			req.Header.Del(k)
		}
	}
	// Only a chain of permanent redirects from the configured URL means
	// the operator should update the YAML.
	code := req.Response.StatusCode
	if !st.broken && (code == http.StatusMovedPermanently || code == http.StatusPermanentRedirect) {
		st.moved = req.URL.String()
	} else {
		st.moved, st.broken = "", true
	}
	return nil
}

// ErrIdle is returned when a response stops sending for req.IdleTimeout.
var ErrIdle = errors.New("idle timeout")

// Fetch gets req.URL, sending the validators it is given. The whole fetch,
// body included, is bounded by req.Timeout, a silence while reading the body
// by req.IdleTimeout, and the body by req.MaxBodySize (counted after gzip
// decoding).
func (f *Fetcher) Fetch(ctx context.Context, req Request) (*Response, error) {
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	ctx, cancelIdle := context.WithCancelCause(ctx)
	defer cancelIdle(nil)
	u, err := url.Parse(req.URL)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "file" {
		return fetchFile(u.Path, req)
	}
	configured := u
	if req.ConfiguredURL != "" {
		if configured, err = url.Parse(req.ConfiguredURL); err != nil {
			return nil, fmt.Errorf("configured url: %w", err)
		}
	}
	policy := policyFor(configured, req.AllowPrivateNetworks)
	st := &fetchState{policy: policy}
	for k := range req.Headers {
		switch http.CanonicalHeaderKey(k) {
		case "User-Agent", "Accept", "Accept-Language":
		default:
			st.headers = append(st.headers, k)
		}
	}
	release, err := f.acquire(ctx, u.Host)
	if err != nil {
		return nil, err
	}
	defer release()
	ctx = context.WithValue(ctx, fetchKey{}, st)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, req.URL, nil)
	if err != nil {
		return nil, err
	}
	ua := req.UserAgent
	if ua == "" {
		ua = f.userAgent
	}
	hreq.Header.Set("User-Agent", ua)
	hreq.Header.Set("Accept", "application/atom+xml, application/rss+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5")
	if req.ETag != "" {
		hreq.Header.Set("If-None-Match", req.ETag)
	}
	if req.LastModified != "" {
		hreq.Header.Set("If-Modified-Since", req.LastModified)
	}
	for k, v := range req.Headers {
		hreq.Header.Set(k, v)
	}
	resp, err := f.client(policy).Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := &Response{
		URL:          resp.Request.URL.String(),
		StatusCode:   resp.StatusCode,
		ContentType:  resp.Header.Get("Content-Type"),
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		MovedTo:      st.moved,
		FreshFor:     freshness(resp.Header, time.Now()),
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && req.ETag == "" && req.LastModified == "":
		// RFC 9110 §15.4.5: 304 answers a conditional request only. Taken
		// as "unchanged", a server that answers every request so would
		// show as healthy while it never sent anything.
		return out, errors.New("HTTP 304 Not Modified to a request that asked for no validation (no If-None-Match or If-Modified-Since sent): nothing to read")
	case resp.StatusCode == http.StatusNotModified:
		out.NotModified = true
		// RFC 9111 §4.3.4: a 304 may carry fresh validators; keep the old
		// ones where it does not.
		if out.ETag == "" {
			out.ETag = req.ETag
		}
		if out.LastModified == "" {
			out.LastModified = req.LastModified
		}
		return out, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return out, &HTTPError{StatusCode: resp.StatusCode, Status: resp.Status,
			RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	body := io.Reader(resp.Body)
	if req.IdleTimeout > 0 {
		idle := &idleReader{r: resp.Body, d: req.IdleTimeout,
			t: time.AfterFunc(req.IdleTimeout, func() { cancelIdle(ErrIdle) })}
		defer idle.t.Stop()
		body = idle
	}
	err = readCapped(out, body, req.MaxBodySize)
	if err != nil && context.Cause(ctx) == ErrIdle {
		return out, fmt.Errorf("%w: nothing received for %v", ErrIdle, req.IdleTimeout)
	}
	return out, err
}

// idleReader restarts its timer whenever bytes arrive.
type idleReader struct {
	r io.Reader
	d time.Duration
	t *time.Timer
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.t.Reset(ir.d)
	}
	return n, err
}

// freshness reads Cache-Control max-age, else Expires (RFC 9111 §4.2.1).
func freshness(h http.Header, now time.Time) time.Duration {
	for _, d := range strings.Split(h.Get("Cache-Control"), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(d), "=")
		switch strings.ToLower(k) {
		case "no-cache", "no-store":
			return 0
		case "max-age":
			if secs, err := strconv.Atoi(strings.Trim(v, `"`)); err == nil && secs > 0 {
				return time.Duration(secs) * time.Second
			}
			return 0
		}
	}
	if t, err := http.ParseTime(h.Get("Expires")); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// retryAfter reads a Retry-After header (RFC 9110 §10.2.3): a number of
// seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return time.Time{}
		}
		return now.Add(time.Duration(secs) * time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		return t
	}
	return time.Time{}
}

// bodies are the buffers fetched bodies are read into, for a later fetch to
// reuse once the poll that read one has parsed it (Response.Release):
// reading each body into new memory was a tenth of a cold poll's
// allocations. Only a body of up to pooledBody bytes stays in its buffer,
// so that a pooled buffer never holds more than about twice that; a larger
// one (a huge feed's, or one cut off at max_body_size) is read as
// io.ReadAll reads, into memory of its own: pooled buffers that doubled
// with a 16 MiB body had raised the peak RSS of `serve` under hostile
// sources (TestServeHostileSources) from 110–117 to 156–161 MiB.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const pooledBody = 1 << 20

func recycle(buf *bytes.Buffer) {
	buf.Reset()
	bodies.Put(buf)
}

// Release gives the body's memory back for a later fetch to read into. The
// caller must be done with Body and with anything that may still point
// into it. What Parse and a scraper return does not: gofeed, encoding/xml
// and x/net/html (goquery's parser) read through a reader into memory of
// their own, and gjson's GetBytes copies what it finds. A parser that
// returns strings over its input (a zero-copy one, gjson.Get on an unsafe
// string) must not come between a fetch and Release:
// TestPoll_ItemsOutliveTheirBody compares every field of what a poll saved
// before and after later fetches. Skipping Release is allowed (the
// collector takes the buffer).
func (r *Response) Release() {
	if r.buf != nil {
		recycle(r.buf)
	}
	r.buf, r.Body = nil, nil
}

// readCapped reads r into out.Body, failing with ErrBodyTooLarge past
// limit bytes (no limit when it is 0 or less).
func readCapped(out *Response, r io.Reader, limit int64) error {
	head := int64(pooledBody)
	if limit > 0 {
		head = min(head, limit)
	}
	buf := bodies.Get().(*bytes.Buffer)
	if _, err := buf.ReadFrom(io.LimitReader(r, head+1)); err != nil {
		recycle(buf)
		return fmt.Errorf("read body: %w", err)
	}
	n := int64(buf.Len())
	switch {
	case limit > 0 && n > limit:
		recycle(buf)
		return fmt.Errorf("%w (over %d bytes)", ErrBodyTooLarge, limit)
	case n <= head: // all of it
		out.buf, out.Body = buf, buf.Bytes()
		return nil
	}
	rest := r
	if limit > 0 {
		rest = io.LimitReader(r, limit-n+1) // not limit+1-n: limit may be math.MaxInt64
	}
	b, err := io.ReadAll(io.MultiReader(bytes.NewReader(buf.Bytes()), rest))
	recycle(buf)
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if limit > 0 && int64(len(b)) > limit {
		return fmt.Errorf("%w (over %d bytes)", ErrBodyTooLarge, limit)
	}
	out.Body = b
	return nil
}

// fetchFile reads a feed written by a local program. Its modification time
// plays the part of Last-Modified, so an untouched file costs no parse.
func fetchFile(path string, req Request) (*Response, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	out := &Response{
		URL:          req.URL,
		StatusCode:   http.StatusOK,
		LastModified: st.ModTime().UTC().Format(time.RFC3339Nano),
	}
	if out.LastModified == req.LastModified {
		out.NotModified = true
		out.StatusCode = http.StatusNotModified
		return out, nil
	}
	err = readCapped(out, fh, req.MaxBodySize)
	return out, err
}
