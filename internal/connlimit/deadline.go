package connlimit

import (
	"sync"
	"time"
)

// Deadlines are kept by conn and handed to the connection only when due.
//
// net/http sets eight deadlines a request on its connection (read: the
// request's headers', the whole request's, cleared for its background read,
// one long past and cleared again to stop that read, the idle wait's;
// write: the answer's, then cleared), each a timer of the runtime's to
// move: 1.6 µs a request on this machine, a tenth of all that serving a
// cached page costs net/http. Nearly all of them are seconds away and
// replaced long before they are due. So conn keeps a deadline that far
// away to itself, and the listener's watchdog hands it to the connection
// once it is due within deadlineHorizon; a deadline sooner than that (or
// past: how net/http stops a read at once) goes to the connection at once,
// as does clearing one the connection has. Every deadline still fires at
// its time, with the runtime's precision, unless the watchdog runs more
// than deadlineHorizon - deadlineTick late.
const (
	deadlineTick    = 250 * time.Millisecond
	deadlineHorizon = time.Second
)

// deadline is one of a conn's two deadlines.
type deadline struct {
	mu     sync.Mutex
	t      time.Time // wanted; zero: none
	at     int64     // t on the listener's clock
	handed bool      // the connection has t as its deadline
}

// setDeadline sets d, c's read deadline if read, else its write deadline,
// to t.
func (c *conn) setDeadline(d *deadline, read bool, t time.Time) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.t = t
	if !t.IsZero() {
		d.at = int64(t.Sub(c.l.start)) // monotonic when t is (net/http's are)
		if c.direct.Load() || c.l.closed.Load() || d.at < c.l.watched.Load()+int64(deadlineHorizon) {
			d.handed = true
			return c.apply(read, t)
		}
	}
	if d.handed {
		d.handed = false
		return c.apply(read, time.Time{})
	}
	return nil
}

// due hands d to the connection if it is due before horizon (on the
// listener's clock).
func (c *conn) due(d *deadline, read bool, horizon int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.t.IsZero() && !d.handed && d.at < horizon {
		d.handed = true
		c.apply(read, d.t) // an error: the connection is closed
	}
}

func (c *conn) apply(read bool, t time.Time) error {
	if read {
		return c.Conn.SetReadDeadline(t)
	}
	return c.Conn.SetWriteDeadline(t)
}

// goDirect hands c's deadlines to the connection from now on: it is no
// longer the listener's to watch (net/http gave it to a handler).
func (c *conn) goDirect() {
	c.direct.Store(true)
	c.due(&c.rd, true, 1<<63-1)
	c.due(&c.wd, false, 1<<63-1)
}

// watch hands every connection the deadlines due within deadlineHorizon,
// every deadlineTick, until l is closed.
func (l *Listener) watch() {
	tick := time.NewTicker(deadlineTick)
	defer tick.Stop()
	var conns []*conn
	for {
		select {
		case <-l.done:
			return
		case <-tick.C:
		}
		now := l.clock()
		l.watched.Store(now)
		l.mu.Lock()
		for c := range l.conns {
			conns = append(conns, c)
		}
		l.mu.Unlock()
		horizon := now + int64(deadlineHorizon)
		for _, c := range conns {
			c.due(&c.rd, true, horizon)
			c.due(&c.wd, false, horizon)
		}
		clear(conns) // keeps no connection from the collector
		conns = conns[:0]
	}
}

// Close stops accepting connections, and the watchdog: the connections
// still open (a graceful shutdown lets them finish) have their deadlines
// handed over, now and from now on.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() {
		l.closed.Store(true)
		close(l.done)
		l.mu.Lock()
		conns := make([]*conn, 0, len(l.conns))
		for c := range l.conns {
			conns = append(conns, c)
		}
		l.mu.Unlock()
		for _, c := range conns {
			c.goDirect()
		}
	})
	return l.Listener.Close()
}
