// Package connlimit keeps feedrelay's HTTP face reachable when clients
// misbehave: idle keep-alive connections, headers sent a byte at a time,
// clients that never read their answer, megabytes of headers. It sets the
// http.Server's timeouts and header limit, and caps the open connections
// below the process's file descriptor limit: at the cap, a new connection
// takes the place of an idle one, else of the oldest one still sending its
// request, else of the one stalled longest on a client that does not read;
// a fresh client never queues behind hostile ones.
package connlimit

import (
	"errors"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// The timeouts Apply gives a server that has none, and why:
const (
	// ReadHeaderTimeout: a request's headers arrive within it (a browser's
	// or a feed reader's take milliseconds; slowloris takes forever).
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout: the whole request, body included (ours are GETs
	// without one; a trickled body is cut here). net/http also cancels a
	// request's context at this time, so a handler that takes longer is
	// cut too (feed renders run detached from it, and a slow reader still
	// gets its answer: writing is bounded by WriteTimeout only).
	ReadTimeout = 15 * time.Second
	// WriteTimeout: the whole answer, from the end of the request. The
	// largest is a feed page of full-text entries, about 1 MiB plain;
	// two minutes lets it reach a reader on a ~70 kbit/s link (a poor
	// mobile one), while a client that reads nothing is cut by the stall
	// rule below long before, when connections run short.
	WriteTimeout = 2 * time.Minute
	// IdleTimeout: how long a keep-alive connection waits for its next
	// request (nginx keeps them 75 s; readers poll every few minutes, so
	// reuse only helps a page and its assets).
	IdleTimeout = 60 * time.Second
	// MaxHeaderBytes: a feed reader's request carries a few hundred bytes
	// of headers (validators, a cookie at worst); 8 KiB is nginx's
	// default too. net/http adds 4 KiB of slack and answers 431 beyond.
	MaxHeaderBytes = 8 << 10
)

// stallAfter is how long a write must have made no progress before its
// connection may be shed for a new one.
const stallAfter = 5 * time.Second

// writeChunk is the most one Write hands the kernel at once, so that a
// slow reader's progress is seen between chunks.
const writeChunk = 64 << 10

// Apply sets srv's timeouts and header limit where srv has none, and
// returns ln capped at MaxConns(): serve srv on the returned listener.
// srv's own ConnState hook, if any, keeps running.
func Apply(srv *http.Server, ln net.Listener) net.Listener {
	setDefault(&srv.ReadHeaderTimeout, ReadHeaderTimeout)
	setDefault(&srv.ReadTimeout, ReadTimeout)
	setDefault(&srv.WriteTimeout, WriteTimeout)
	setDefault(&srv.IdleTimeout, IdleTimeout)
	if srv.MaxHeaderBytes == 0 {
		srv.MaxHeaderBytes = MaxHeaderBytes
	}
	l := NewListener(ln, MaxConns())
	next := srv.ConnState
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		l.ConnState(c, s)
		if next != nil {
			next(c, s)
		}
	}
	return l
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d == 0 {
		*d = v
	}
}

// MaxConns is how many connections the server may hold open: the file
// descriptor limit (RLIMIT_NOFILE) less a reserve for everything else the
// process opens (the database and its write-ahead log on every pooled
// connection, connections to sources, DNS, logs): a quarter of the
// limit, at least 128 and at most 1,024. Never more than maxConns, as
// limits are often huge (Docker's 1,048,576): memory bounds them too.
func MaxConns() int {
	limit := fdLimit()
	if limit <= 0 {
		limit = 1024
	}
	reserve := min(max(limit/4, 128), 1024)
	return min(max(limit-reserve, 16), maxConns)
}

// maxConns bounds MaxConns: each open connection costs some 20 KiB (its
// goroutine and buffers), so 8,192 of them about 160 MiB.
const maxConns = 8192

// Listener caps the connections open at once, shedding the least useful
// ones to make room for a new one. Give its ConnState to the http.Server
// it feeds (Apply does).
type Listener struct {
	net.Listener
	max int

	mu    sync.Mutex
	conns map[*conn]struct{}
}

// NewListener caps ln's open connections at max.
func NewListener(ln net.Listener, max int) *Listener {
	return &Listener{Listener: ln, max: max, conns: make(map[*conn]struct{})}
}

// Open is how many accepted connections are open.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// Accept waits for the next connection, shedding another if the cap is
// reached. When none can be shed (every one is busy answering), the new
// one is told 503 and closed: better than queueing it behind them.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of descriptors all the same (something else holds
				// them): free one; net/http retries Accept shortly.
				l.shed()
			}
			return nil, err
		}
		c := &conn{Conn: nc, l: l, accepted: time.Now()}
		l.mu.Lock()
		full := len(l.conns) >= l.max
		l.mu.Unlock()
		if full && !l.shed() {
			refuse(nc)
			continue
		}
		l.mu.Lock()
		l.conns[c] = struct{}{}
		l.mu.Unlock()
		return c, nil
	}
}

// refuse answers a connection there is no room for, without reading it.
func refuse(nc net.Conn) {
	nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	nc.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Length: 18\r\n\r\ntoo many clients\r\n"))
	nc.Close()
}

// shed closes the least useful connection: an idle one (the one idle
// longest), else the oldest one that has not finished sending its request,
// else the one whose answer has been stalled longest (its client reads
// nothing). It reports whether it found one.
func (l *Listener) shed() bool {
	now := time.Now()
	var idle, reading, stalled *conn
	l.mu.Lock()
	for c := range l.conns {
		switch c.state {
		case http.StateIdle:
			if idle == nil || c.since.Before(idle.since) {
				idle = c
			}
		case http.StateNew:
			if reading == nil || c.accepted.Before(reading.accepted) {
				reading = c
			}
		case http.StateActive:
			if st := c.stalledSince(); !st.IsZero() && now.Sub(st) >= stallAfter &&
				(stalled == nil || st.Before(stalled.stalledSince())) {
				stalled = c
			}
		}
	}
	victim := idle
	if victim == nil {
		victim = reading
	}
	if victim == nil {
		victim = stalled
	}
	if victim != nil {
		delete(l.conns, victim) // no longer counted, even before it closes
	}
	l.mu.Unlock()
	if victim == nil {
		return false
	}
	victim.Conn.Close()
	return true
}

// ConnState records what each connection is doing (net/http's ConnState
// hook). A connection is StateNew until its first request's headers are
// in, StateIdle between requests (and while the next one's headers arrive),
// StateActive while a request is answered.
func (l *Listener) ConnState(nc net.Conn, s http.ConnState) {
	c, ok := nc.(*conn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c.state, c.since = s, time.Now()
	if s == http.StateClosed || s == http.StateHijacked {
		delete(l.conns, c)
	}
}

// conn is an accepted connection, tracked until it closes.
type conn struct {
	net.Conn
	l        *Listener
	accepted time.Time
	once     sync.Once

	// Guarded by l.mu.
	state http.ConnState
	since time.Time // when it entered state

	wmu       sync.Mutex
	writingAt time.Time // when the chunk being written started; zero when not writing
}

// Write hands p to the kernel a chunk at a time, recording when a chunk
// started, so that a client that stops reading is seen as stalled.
func (c *conn) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), writeChunk)]
		c.wmu.Lock()
		c.writingAt = time.Now()
		c.wmu.Unlock()
		m, err := c.Conn.Write(chunk)
		n += m
		if err != nil {
			c.doneWriting()
			return n, err
		}
		p = p[m:]
	}
	c.doneWriting()
	return n, nil
}

func (c *conn) doneWriting() {
	c.wmu.Lock()
	c.writingAt = time.Time{}
	c.wmu.Unlock()
}

// stalledSince is when the chunk being written started; zero when none is.
func (c *conn) stalledSince() time.Time {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writingAt
}

// Close closes the connection and stops counting it.
func (c *conn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}
