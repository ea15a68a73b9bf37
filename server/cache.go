package server

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// rendered is one page in one format, ready to serve many times: it is
// rendered and compressed once per change of what it shows, and carries the
// header values it is served with, so that serving it from the cache
// formats nothing. It is not modified once finished.
type rendered struct {
	plain, gz    representation
	modified     time.Time
	contentType  string
	link         string // the Link header, if any
	cacheControl string // the Cache-Control header, if any (set by finish)

	// Header values shared by every response (net/http never modifies a
	// value it is given); nil for a header not sent.
	contentTypeH, lastModifiedH, linkH, cacheControlH []string
}

// representation is the page in one content coding.
type representation struct {
	body           []byte
	etag           string   // strong, one per representation
	etagH, lengthH []string // its ETag and Content-Length header values
}

// cacheEntry is a page in the cache, or being rendered for it.
type cacheEntry struct {
	key     string
	version uint64   // of the store when rendered
	opts    *Options // the options it was rendered with
	ready   chan struct{}
	page    *rendered // once ready, nil if err
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
// Archive pages (those of a cursor) render through a renderQueue: a few at
// a time, within a share of the CPU, each client behind its own earlier
// requests; first pages — a few per feed — and pages already rendered never
// wait for it.
type renderCache struct {
	mu    sync.Mutex
	pages map[string]*cacheEntry
	lru   list.List // of *cacheEntry, most recently served first
	bytes int
	queue *renderQueue
	once  sync.Once
	limit int // bytes; zero means maxCacheBytes
}

// renderSlots is how many archive pages may render at once: half the
// cores, so that serving everything else always has CPU left.
var renderSlots = max(1, runtime.GOMAXPROCS(0)/2)

// errAbandoned is the error of a render whose requester went away before
// it started: whoever waited for it asks again.
var errAbandoned = errors.New("render abandoned: its client went away")

func (c *renderCache) init() {
	c.once.Do(func() {
		c.pages = make(map[string]*cacheEntry)
		c.queue = newRenderQueue(renderSlots, renderShare)
	})
}

// lookup returns the page for key if it is rendered at this store version
// and options, else nil: the fast path of a request, which builds nothing
// and waits for nothing.
func (c *renderCache) lookup(key string, version uint64, opts *Options) *rendered {
	c.init()
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.pages[key]
	if e == nil || e.elem == nil || e.version != version || e.opts != opts {
		return nil // missing, stale, or still rendering
	}
	c.lru.MoveToFront(e.elem)
	return e.page
}

// get returns the page for key at this store version and options, calling
// render only if it is missing or stale. An archive page renders through
// the queue, in client's turn, and is compressed at the default level: the
// best level (a third more CPU) pays only for pages served many times. ctx
// bounds only the wait for the queue.
func (c *renderCache) get(ctx context.Context, key string, version uint64, opts *Options, archive bool, client string, render func() (*rendered, error)) (*rendered, error) {
	c.init()
	for {
		page, err := c.getOnce(ctx, key, version, opts, archive, client, render)
		if !errors.Is(err, errAbandoned) || ctx.Err() != nil {
			return page, err
		}
		// The request that was to render it went away; this one renders it.
	}
}

func (c *renderCache) getOnce(ctx context.Context, key string, version uint64, opts *Options, archive bool, client string, render func() (*rendered, error)) (*rendered, error) {
	c.mu.Lock()
	e := c.pages[key]
	if e != nil && e.version == version && e.opts == opts {
		if e.elem != nil {
			c.lru.MoveToFront(e.elem)
		}
		c.mu.Unlock()
		<-e.ready
		return e.page, e.err
	}
	if e != nil {
		c.remove(e)
	}
	e = &cacheEntry{key: key, version: version, opts: opts, ready: make(chan struct{})}
	c.pages[key] = e
	c.mu.Unlock()

	func() {
		defer close(e.ready) // waiters never block, even if render panics
		e.err = errors.New("render failed")
		var page *rendered
		var err error
		do := func() {
			if page, err = render(); err == nil {
				level := gzip.BestCompression
				if archive {
					level = gzip.DefaultCompression
				}
				page.finish(level, opts.MaxAge)
			}
		}
		if !archive {
			do()
		} else if qerr := c.queue.run(ctx, client, do); qerr != nil {
			err = errors.Join(errAbandoned, qerr)
		}
		if err != nil {
			page = nil
		}
		e.page, e.err = page, err
	}()

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pages[key] != e {
		return e.page, e.err // replaced meanwhile by a newer version
	}
	if e.err != nil {
		delete(c.pages, key)
		return nil, e.err
	}
	e.counted = len(e.page.plain.body) + len(e.page.gz.body)
	c.bytes += e.counted
	e.elem = c.lru.PushFront(e)
	limit := c.limit
	if limit == 0 {
		limit = maxCacheBytes
	}
	for c.bytes > limit && c.lru.Len() > 1 {
		c.remove(c.lru.Back().Value.(*cacheEntry))
	}
	return e.page, nil
}

// remove forgets e; c.mu is held.
func (c *renderCache) remove(e *cacheEntry) {
	if c.pages[e.key] == e {
		delete(c.pages, e.key)
	}
	if e.elem != nil {
		c.lru.Remove(e.elem)
		e.elem = nil
		c.bytes -= e.counted
	}
}

// finish compresses the body at level, computes both ETags and the header
// values of both representations; a page of options whose MaxAge is set
// says how long it may be cached.
func (r *rendered) finish(level int, maxAge time.Duration) {
	if maxAge > 0 {
		r.cacheControl = "public, max-age=" + strconv.Itoa(int(maxAge.Seconds()))
	}
	r.gz.body = compress(r.plain.body, level)
	sum := sha256.Sum256(r.plain.body)
	tag := hex.EncodeToString(sum[:16])
	r.plain.etag, r.gz.etag = `"`+tag+`"`, `"`+tag+`-gzip"`
	for _, rep := range []*representation{&r.plain, &r.gz} {
		rep.etagH = []string{rep.etag}
		rep.lengthH = []string{strconv.Itoa(len(rep.body))}
	}
	r.contentTypeH = []string{r.contentType}
	if !r.modified.IsZero() { // ServeContent sends none for a zero time either
		r.lastModifiedH = []string{r.modified.UTC().Format(http.TimeFormat)}
	}
	if r.link != "" {
		r.linkH = []string{r.link}
	}
	if r.cacheControl != "" {
		r.cacheControlH = []string{r.cacheControl}
	}
}

// gzipWriters keeps gzip writers by level for reuse: a new one allocates
// about 800 KB of compressor state, which was 40 % of the bytes a render
// allocated (and so of the garbage collections a flood of renders causes).
// (indexed by level - gzip.HuffmanOnly, the lowest level).
var gzipWriters [gzip.BestCompression - gzip.HuffmanOnly + 1]sync.Pool

// compress returns body gzipped at level (any of compress/gzip's).
func compress(body []byte, level int) []byte {
	var out bytes.Buffer
	pool := &gzipWriters[level-gzip.HuffmanOnly]
	zw, _ := pool.Get().(*gzip.Writer)
	if zw == nil {
		zw, _ = gzip.NewWriterLevel(&out, level)
	} else {
		zw.Reset(&out)
	}
	zw.Write(body)
	zw.Close()
	zw.Reset(io.Discard) // hold on to nothing of this page
	pool.Put(zw)
	return out.Bytes()
}
