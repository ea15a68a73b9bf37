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
	"bytes"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
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

// writeChunk is the most one write(2) hands the kernel at once once a
// client has stopped keeping up (the socket's buffer is full), so that a
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
	max        int
	stallAfter time.Duration // stallAfter, but for tests
	start      time.Time     // the origin of conn.writingAt
	seq        atomic.Int64  // stamps connection state changes, in order
	watched    atomic.Int64  // clock() at the watchdog's last round (deadline.go)
	done       chan struct{} // closed by Close: the watchdog stops
	closed     atomic.Bool   // Close was called: deadlines go to connections at once
	closeOnce  sync.Once

	mu    sync.Mutex
	conns map[*conn]struct{}
}

// NewListener caps ln's open connections at max.
func NewListener(ln net.Listener, max int) *Listener {
	l := &Listener{Listener: ln, max: max, stallAfter: stallAfter, start: time.Now(),
		done: make(chan struct{}), conns: make(map[*conn]struct{})}
	go l.watch()
	return l
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
		c.stamp.Store(l.seq.Add(1))
		if sc, ok := nc.(syscall.Conn); ok && writevSupported {
			if raw, err := sc.SyscallConn(); err == nil {
				c.raw, c.writevFunc = raw, c.writev
			}
		}
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
	now := l.clock()
	var idle, reading, stalled *conn
	var idleSince, stalledSince int64
	l.mu.Lock()
	for c := range l.conns {
		switch http.ConnState(c.state.Load()) {
		case http.StateIdle:
			if st := c.stamp.Load(); idle == nil || st < idleSince {
				idle, idleSince = c, st
			}
		case http.StateNew:
			if reading == nil || c.accepted.Before(reading.accepted) {
				reading = c
			}
		case http.StateActive:
			if st := c.writingAt.Load(); st != 0 && now-st >= int64(l.stallAfter) &&
				(stalled == nil || st < stalledSince) {
				stalled, stalledSince = c, st
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

// clock is the time since l started, in nanoseconds: never zero.
func (l *Listener) clock() int64 { return int64(time.Since(l.start)) + 1 }

// ConnState records what each connection is doing (net/http's ConnState
// hook). A connection is StateNew until its first request's headers are
// in, StateIdle between requests (and while the next one's headers arrive),
// StateActive while a request is answered. It runs twice a request, so it
// takes no lock but when a connection ends.
func (l *Listener) ConnState(nc net.Conn, s http.ConnState) {
	c, ok := nc.(*conn)
	if !ok {
		return
	}
	c.state.Store(int32(s))
	c.stamp.Store(l.seq.Add(1))
	if s == http.StateHijacked {
		c.goDirect()
	}
	if s == http.StateClosed || s == http.StateHijacked {
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
	}
}

// conn is an accepted connection, tracked until it closes.
//
// It also sends each answer in one system call where net/http would make
// two or more: net/http writes a response through a 4 KiB buffer, so the
// headers and the start of any body larger than that go out in one
// write(2) and the rest in another (two TCP segments, two wake-ups of the
// client). When a write begins a response that declares a Content-Length
// and does not hold all of it, conn keeps it back (a copy) and sends it
// together with the next write, in one writev(2); whatever the connection
// is asked next (a deadline: net/http sets one as soon as a response is
// finished; Close) sends what is kept first. A body whose length is
// declared is of no use to its client until whole, so nothing waits that
// a client could have used earlier; streamed answers (chunked, or
// delimited by the connection's close) are never kept back.
type conn struct {
	net.Conn
	l        *Listener
	accepted time.Time
	once     sync.Once

	state     atomic.Int32 // an http.ConnState
	stamp     atomic.Int64 // when it entered state, as l.seq: only the order counts
	writingAt atomic.Int64 // l.clock() when the chunk being written started; zero when none is

	rd, wd deadline    // its read and write deadlines (deadline.go)
	direct atomic.Bool // deadlines go to the connection at once: hijacked

	raw        syscall.RawConn    // nil: writes go through Conn.Write only
	writevFunc func(uintptr) bool // c.writev, bound once

	wmu     sync.Mutex // serializes writes; guards what follows
	holding atomic.Bool
	held    *[]byte   // the start of a response kept back, when holding
	iov     [2][]byte // what writev sends
	iovN    int       // what it sent
}

// heldSize is net/http's connection buffer: the most a write keeps back.
const heldSize = 4 << 10

var heldBufs = sync.Pool{New: func() any { b := make([]byte, 0, heldSize); return &b }}

// Write hands p to the kernel: in one call with the start of a response
// kept back, if any; else kept back itself if it begins a response of a
// declared length that it does not hold whole.
func (c *conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.held != nil {
		held := *c.held
		n, err := c.write(held, p)
		c.release()
		return max(n-len(held), 0), err
	}
	if c.raw != nil && len(p) <= heldSize && beginsPartialResponse(p) {
		b := heldBufs.Get().(*[]byte)
		*b = append((*b)[:0], p...)
		c.held = b
		c.holding.Store(true)
		return len(p), nil
	}
	return c.write(p, nil)
}

// release forgets what was kept back; c.wmu is held.
func (c *conn) release() {
	heldBufs.Put(c.held)
	c.held = nil
	c.holding.Store(false)
}

// flush sends what is kept back, if anything.
func (c *conn) flush() error {
	if !c.holding.Load() {
		return nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.held == nil {
		return nil
	}
	_, err := c.write(*c.held, nil)
	c.release()
	return err
}

// write hands a then b to the kernel: first in one writev(2) that does not
// wait (all of it, unless the client has fallen behind), then what is left
// a chunk at a time, recording when each chunk started, so that a client
// that stops reading is seen as stalled. c.wmu is held.
func (c *conn) write(a, b []byte) (int, error) {
	n := 0
	if c.raw != nil {
		c.iov[0], c.iov[1], c.iovN = a, b, 0
		c.raw.Write(c.writevFunc) // an error is met again below
		n = c.iovN
		c.iov[0], c.iov[1] = nil, nil
	}
	total := len(a) + len(b)
	if n == total {
		return n, nil
	}
	defer c.writingAt.Store(0)
	for n < total {
		p := a[min(n, len(a)):]
		if len(p) == 0 {
			p = b[n-len(a):]
		}
		c.writingAt.Store(c.l.clock())
		m, err := c.Conn.Write(p[:min(len(p), writeChunk)])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// beginsPartialResponse reports whether p begins an HTTP/1.x response
// whose header declares a Content-Length and whose body p does not hold
// whole: more of it is to come.
func beginsPartialResponse(p []byte) bool {
	if !bytes.HasPrefix(p, []byte("HTTP/1.")) {
		return false
	}
	end := bytes.Index(p, []byte("\r\n\r\n"))
	if end < 0 {
		return false
	}
	i := bytes.Index(p[:end+2], []byte("\r\nContent-Length: "))
	if i < 0 {
		return false // streamed
	}
	length := 0
	for _, d := range p[i+len("\r\nContent-Length: "):] {
		if d < '0' || d > '9' {
			break
		}
		length = length*10 + int(d-'0')
		if length > 1<<40 {
			break
		}
	}
	return len(p)-(end+4) < length
}

// SetDeadline sets both deadlines, handed to the connection when due
// (deadline.go). It sends what is kept back first: net/http sets a
// deadline as soon as a response is finished (and when it hands a
// connection over).
func (c *conn) SetDeadline(t time.Time) error {
	c.flush()
	return errors.Join(c.setDeadline(&c.rd, true, t), c.setDeadline(&c.wd, false, t))
}

// SetReadDeadline is SetDeadline for reads only.
func (c *conn) SetReadDeadline(t time.Time) error {
	c.flush()
	return c.setDeadline(&c.rd, true, t)
}

// SetWriteDeadline is SetDeadline for writes only. What is kept back is
// sent under the deadline it was written under.
func (c *conn) SetWriteDeadline(t time.Time) error {
	c.flush()
	return c.setDeadline(&c.wd, false, t)
}

// Close closes the connection and stops counting it. What is kept back, if
// anything, is sent if the kernel takes it at once (Close never waits for a
// client): net/http closes a connection after a finished response only once
// it has set a deadline, so this is only a response cut short anyway.
func (c *conn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	if c.holding.Load() && c.wmu.TryLock() {
		if c.held != nil {
			c.iov[0], c.iov[1] = *c.held, nil
			c.raw.Write(c.writevFunc)
			c.iov[0] = nil
			c.release()
		}
		c.wmu.Unlock()
	}
	return c.Conn.Close()
}
