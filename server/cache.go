package server

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"runtime"
	"sync"
	"time"
)

// rendered is one feed page in one format, ready to serve many times: it is
// rendered and compressed once per change of what it shows.
type rendered struct {
	body, gz     []byte
	etag, gzETag string // strong, one per representation
	modified     time.Time
	contentType  string
	link         string // the Link header, if any

	key     string
	version uint64   // of the store when rendered
	opts    *Options // the options it was rendered with
	ready   chan struct{}
	err     error
	counted int           // bytes counted in renderCache.bytes; guarded by its mu
	elem    *list.Element // in renderCache.lru once rendered; guarded by its mu
}

// maxCacheBytes bounds the rendered pages kept in memory; past it the least
// recently served pages go first, so the hot first pages of feeds stay
// while archive pages a crawler walked once make room.
const maxCacheBytes = 32 << 20

// renderCache keeps rendered pages by request key. Concurrent requests for
// a page being rendered wait for that rendering instead of repeating it.
// Archive pages (those of a cursor) render at most renderSlots at a time:
// requests for pages not cached (a client walking random cursors) queue for
// a slot, while first pages — a few per feed — and pages already rendered
// never wait for one.
type renderCache struct {
	mu    sync.Mutex
	pages map[string]*rendered
	lru   list.List // of *rendered, most recently served first
	bytes int
	slots chan struct{}
	once  sync.Once
	limit int // bytes; zero means maxCacheBytes
}

// renderSlots is how many archive pages may render at once: half the
// cores, so that serving everything else always has CPU left.
var renderSlots = max(1, runtime.GOMAXPROCS(0)/2)

// get returns the page for key at this store version and options, calling
// render only if it is missing or stale. An archive page is compressed at
// the default level: the best level (a third more CPU) pays only for pages
// served many times.
func (c *renderCache) get(key string, version uint64, opts *Options, archive bool, render func() (*rendered, error)) (*rendered, error) {
	c.once.Do(func() {
		c.pages = make(map[string]*rendered)
		c.slots = make(chan struct{}, renderSlots)
	})
	c.mu.Lock()
	r := c.pages[key]
	if r != nil && r.version == version && r.opts == opts {
		if r.elem != nil {
			c.lru.MoveToFront(r.elem)
		}
		c.mu.Unlock()
		<-r.ready
		return r, r.err
	}
	if r != nil {
		c.remove(r)
	}
	r = &rendered{key: key, version: version, opts: opts, ready: make(chan struct{})}
	c.pages[key] = r
	c.mu.Unlock()

	err := func() (err error) {
		defer close(r.ready) // waiters never block, even if render panics
		r.err = errors.New("render failed")
		level := gzip.BestCompression
		if archive {
			level = gzip.DefaultCompression
			c.slots <- struct{}{}
			defer func() { <-c.slots }()
		}
		out, err := render()
		if err == nil {
			out.finish(level)
			r.body, r.gz, r.etag, r.gzETag = out.body, out.gz, out.etag, out.gzETag
			r.modified, r.contentType, r.link = out.modified, out.contentType, out.link
		}
		r.err = err
		return err
	}()

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pages[key] != r {
		return r, err // replaced meanwhile by a newer version
	}
	if err != nil {
		delete(c.pages, key)
		return nil, err
	}
	r.counted = len(r.body) + len(r.gz)
	c.bytes += r.counted
	r.elem = c.lru.PushFront(r)
	limit := c.limit
	if limit == 0 {
		limit = maxCacheBytes
	}
	for c.bytes > limit && c.lru.Len() > 1 {
		c.remove(c.lru.Back().Value.(*rendered))
	}
	return r, nil
}

// remove forgets r; c.mu is held.
func (c *renderCache) remove(r *rendered) {
	if c.pages[r.key] == r {
		delete(c.pages, r.key)
	}
	if r.elem != nil {
		c.lru.Remove(r.elem)
		r.elem = nil
		c.bytes -= r.counted
	}
}

// finish compresses the body at level and computes both ETags.
func (r *rendered) finish(level int) {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, level)
	zw.Write(r.body)
	zw.Close()
	r.gz = gz.Bytes()
	sum := sha256.Sum256(r.body)
	tag := hex.EncodeToString(sum[:16])
	r.etag, r.gzETag = `"`+tag+`"`, `"`+tag+`-gzip"`
}
