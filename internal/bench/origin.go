package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/feedrelay/feedrelay/internal/bench/synth"
)

// origin serves the synthetic sources on 127.0.0.1, as a well-behaved web
// server does: a strong ETag and a Last-Modified per version of a feed, 304
// for If-None-Match (else If-Modified-Since), gzip when the client accepts
// it (Go's transport asks for it). Source i is at /s/{i}.xml.
type origin struct {
	items, size int
	gzip        bool

	mu    sync.RWMutex
	feeds []*feedVersion

	srv *http.Server
	url string // http://127.0.0.1:PORT

	full, notModified, conns atomic.Int64
	bytesOut                 atomic.Int64
}

type feedVersion struct {
	body, gz []byte
	etag     string
	modified time.Time
	lastMod  string
	last     int // number of the newest item
}

// newOrigin generates n sources of items items each and starts serving them.
func newOrigin(n, items, size int, gz bool) (*origin, error) {
	o := &origin{items: items, size: size, gzip: gz, feeds: make([]*feedVersion, n)}
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range max(1, procs()) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				o.feeds[i] = o.version(i, items)
			}
		})
	}
	wg.Wait()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	o.url = "http://" + ln.Addr().String()
	o.srv = &http.Server{
		Handler:           o,
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				o.conns.Add(1)
			}
		},
	}
	go o.srv.Serve(ln)
	return o, nil
}

// version builds source i's feed whose newest item is number last.
func (o *origin) version(i, last int) *feedVersion {
	body := synth.Feed(i, max(1, last-o.items+1), last, o.size)
	sum := sha256.Sum256(body)
	// Sources change at most once a second in real life; a version number
	// in the date keeps the validators distinct however fast we churn.
	mod := synth.Start.Add(time.Duration(last) * time.Minute).UTC()
	v := &feedVersion{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`,
		modified: mod, lastMod: mod.Format(http.TimeFormat), last: last}
	if o.gzip {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		zw.Write(body)
		zw.Close()
		v.gz = buf.Bytes()
	}
	return v
}

// feedURL is the address of source i.
func (o *origin) feedURL(i int) string { return o.url + "/s/" + strconv.Itoa(i) + ".xml" }

// churn adds one new item to each of the given sources (the oldest leaves
// the feed, as in a real feed's window).
func (o *origin) churn(sources []int) {
	next := make([]*feedVersion, len(sources))
	for k, i := range sources {
		o.mu.RLock()
		last := o.feeds[i].last
		o.mu.RUnlock()
		next[k] = o.version(i, last+1)
	}
	o.mu.Lock()
	for k, i := range sources {
		o.feeds[i] = next[k]
	}
	o.mu.Unlock()
}

// bodies returns the current (uncompressed) feed of every source.
func (o *origin) bodies() [][]byte {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make([][]byte, len(o.feeds))
	for i, f := range o.feeds {
		out[i] = f.body
	}
	return out
}

func (o *origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/s/")
	name, ok2 := strings.CutSuffix(name, ".xml")
	i, err := strconv.Atoi(name)
	o.mu.RLock()
	var f *feedVersion
	if ok && ok2 && err == nil && i >= 0 && i < len(o.feeds) {
		f = o.feeds[i]
	}
	o.mu.RUnlock()
	if f == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("ETag", f.etag)
	h.Set("Last-Modified", f.lastMod)
	h.Set("Vary", "Accept-Encoding")
	if notModified(r, f) {
		o.notModified.Add(1)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	h.Set("Content-Type", "application/rss+xml; charset=utf-8")
	if f.gz != nil && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		body = f.gz
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	o.full.Add(1)
	o.bytesOut.Add(int64(len(body)))
	if r.Method == http.MethodGet {
		w.Write(body)
	}
}

// notModified applies RFC 9110 §13.1: If-None-Match when sent, else
// If-Modified-Since.
func notModified(r *http.Request, f *feedVersion) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, tag := range strings.Split(inm, ",") {
			tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
			if tag == f.etag || tag == "*" {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil && !f.modified.After(t) {
			return true
		}
	}
	return false
}

func (o *origin) close() { o.srv.Close() }
