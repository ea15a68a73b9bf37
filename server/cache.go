package server

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
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

	version uint64   // of the store when rendered
	opts    *Options // the options it was rendered with
	ready   chan struct{}
	err     error
	counted int // bytes counted in renderCache.bytes; guarded by its mu
}

// maxCacheBytes bounds the rendered pages kept in memory; past it the cache
// starts over (archive pages that crawlers walked once are not worth more).
const maxCacheBytes = 32 << 20

// renderCache keeps rendered pages by request key. Concurrent requests for
// a page being rendered wait for that rendering instead of repeating it.
type renderCache struct {
	mu    sync.Mutex
	pages map[string]*rendered
	bytes int
}

// get returns the page for key at this store version and options, calling
// render only if it is missing or stale.
func (c *renderCache) get(key string, version uint64, opts *Options, render func() (*rendered, error)) (*rendered, error) {
	c.mu.Lock()
	if c.pages == nil {
		c.pages = make(map[string]*rendered)
	}
	r := c.pages[key]
	if r != nil && r.version == version && r.opts == opts {
		c.mu.Unlock()
		<-r.ready
		return r, r.err
	}
	if r != nil {
		c.bytes -= r.counted
	}
	r = &rendered{version: version, opts: opts, ready: make(chan struct{})}
	c.pages[key] = r
	c.mu.Unlock()

	err := func() (err error) {
		defer close(r.ready) // waiters never block, even if render panics
		r.err = errors.New("render failed")
		out, err := render()
		if err == nil {
			out.finish()
			r.body, r.gz, r.etag, r.gzETag = out.body, out.gz, out.etag, out.gzETag
			r.modified, r.contentType = out.modified, out.contentType
		}
		r.err = err
		return err
	}()

	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		if c.pages[key] == r {
			delete(c.pages, key)
		}
		return nil, err
	}
	if c.pages[key] == r {
		r.counted = len(r.body) + len(r.gz)
		c.bytes += r.counted
		if c.bytes > maxCacheBytes {
			for k, old := range c.pages {
				if old != r {
					c.bytes -= old.counted
					delete(c.pages, k)
				}
			}
		}
	}
	return r, nil
}

// finish compresses the body and computes both ETags.
func (r *rendered) finish() {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(r.body)
	zw.Close()
	r.gz = gz.Bytes()
	sum := sha256.Sum256(r.body)
	tag := hex.EncodeToString(sum[:16])
	r.etag, r.gzETag = `"`+tag+`"`, `"`+tag+`-gzip"`
}
