package connlimit

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// serve runs srv on a capped loopback listener (max connections; 0: from
// the fd limit, as Apply does) until the test ends.
func serve(t *testing.T, srv *http.Server, max int) (addr string, l *Listener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l = Apply(srv, ln).(*Listener)
	if max > 0 {
		l.max = max
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), l
}

func okHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
}

// dial opens a raw connection; get sends one request on it and reads the
// answer's status line and body.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func get(t *testing.T, c net.Conn, path string) (*http.Response, error) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, nil
}

// closed reports whether the server closed c within d.
func closed(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	return err == io.EOF || (err != nil && !isTimeout(err))
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func TestApply_SetsLimits(t *testing.T) {
	srv := &http.Server{ReadHeaderTimeout: 3 * time.Second}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	Apply(srv, ln)
	if srv.ReadHeaderTimeout != 3*time.Second || srv.ReadTimeout != ReadTimeout || srv.WriteTimeout != WriteTimeout ||
		srv.IdleTimeout != IdleTimeout || srv.MaxHeaderBytes != MaxHeaderBytes || srv.ConnState == nil {
		t.Errorf("after Apply: %+v", srv)
	}
	if m := MaxConns(); m < 16 || m >= fdLimit() {
		t.Errorf("MaxConns %d with an fd limit of %d", m, fdLimit())
	}
}

// A keep-alive connection is closed once idle for IdleTimeout.
func TestIdleConnectionClosed(t *testing.T) {
	addr, _ := serve(t, &http.Server{Handler: okHandler(), IdleTimeout: 300 * time.Millisecond}, 0)
	c := dial(t, addr)
	if resp, err := get(t, c, "/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("first request: %v %v", resp, err)
	}
	if !closed(c, 3*time.Second) {
		t.Error("an idle keep-alive connection was still open 3 s after a 300 ms IdleTimeout")
	}
}

// Headers that never end are cut at ReadHeaderTimeout.
func TestSlowHeadersCut(t *testing.T) {
	addr, _ := serve(t, &http.Server{Handler: okHandler(), ReadHeaderTimeout: 300 * time.Millisecond}, 0)
	c := dial(t, addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
	if !closed(c, 3*time.Second) {
		t.Error("a request whose headers never end was still open 3 s after a 300 ms ReadHeaderTimeout")
	}
}

// Headers beyond MaxHeaderBytes are refused with 431 at once: 64 KiB of a
// header that never ends (a client that would send a megabyte, 1,000
// clients that would make the server buffer a gigabyte) need no more.
func TestHugeHeaders431(t *testing.T) {
	addr, _ := serve(t, &http.Server{Handler: okHandler()}, 0)
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	go func() {
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
		c.Write([]byte(strings.Repeat("a", 64<<10))) // and no end of line
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("1 MiB of headers: %s, want 431", resp.Status)
	}
}

// At the cap, a new client takes the place of the connection idle longest,
// else of the oldest that has not finished its request; when every
// connection is busy answering, it is told 503 at once.
func TestShedding(t *testing.T) {
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/", okHandler())
	mux.HandleFunc("/block", func(w http.ResponseWriter, r *http.Request) { <-release })
	addr, l := serve(t, &http.Server{Handler: mux}, 3)
	defer close(release)
	waitOpen := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); l.Open() != n; {
			if time.Now().After(deadline) {
				t.Fatalf("%d connections open, want %d", l.Open(), n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	// Three idle keep-alive connections, the first idle longest: each is
	// idle on the server's side (which it records after the client has its
	// answer) before the next one asks.
	idleNow := func() int {
		l.mu.Lock()
		defer l.mu.Unlock()
		n := 0
		for c := range l.conns {
			if http.ConnState(c.state.Load()) == http.StateIdle {
				n++
			}
		}
		return n
	}
	var idle []net.Conn
	for i := range 3 {
		c := dial(t, addr)
		if _, err := get(t, c, "/"); err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
		for deadline := time.Now().Add(5 * time.Second); idleNow() != i+1; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d connections idle, want %d", idleNow(), i+1)
			}
		}
	}
	waitOpen(3)
	fresh := dial(t, addr)
	if resp, err := get(t, fresh, "/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("a fresh client at the cap: %v %v", resp, err)
	}
	if !closed(idle[0], time.Second) {
		t.Error("the connection idle longest was not shed")
	}
	if closed(idle[1], 50*time.Millisecond) || closed(idle[2], 50*time.Millisecond) {
		t.Error("more idle connections were shed than needed")
	}
	fresh.Close()
	idle[1].Close()
	idle[2].Close()
	waitOpen(0)

	// Three connections that never finish their headers.
	var slow []net.Conn
	for range 3 {
		c := dial(t, addr)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
		slow = append(slow, c)
		time.Sleep(20 * time.Millisecond)
	}
	waitOpen(3)
	fresh = dial(t, addr)
	if resp, err := get(t, fresh, "/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("a fresh client behind unfinished requests: %v %v", resp, err)
	}
	if !closed(slow[0], time.Second) {
		t.Error("the oldest unfinished request was not shed")
	}
	for _, c := range append(slow[1:], fresh) {
		c.Close()
	}
	waitOpen(0)

	// Three requests being answered: no one to shed.
	for range 3 {
		c := dial(t, addr)
		io.WriteString(c, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	for deadline := time.Now().Add(5 * time.Second); ; {
		l.mu.Lock()
		active := 0
		for c := range l.conns {
			if http.ConnState(c.state.Load()) == http.StateActive {
				active++
			}
		}
		l.mu.Unlock()
		if active == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests in the handler, want 3", active)
		}
		time.Sleep(5 * time.Millisecond)
	}
	start := time.Now()
	resp, err := get(t, dial(t, addr), "/")
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a client with every connection busy: %v %v, want 503", resp, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the 503 took %v", d)
	}
}

// Answers of every size arrive whole, in order, on keep-alive connections,
// with their Content-Length or streamed: conn keeps back the start of an
// answer of a declared length to send it with the rest, and must never
// lose, repeat or reorder a byte doing so (sizes around net/http's 4 KiB
// buffer, the header alone, bodies written in several pieces, HEAD).
func TestAnswersArriveWhole(t *testing.T) {
	body := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + i*7%26)
		}
		return b
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n, pieces int
		declared := r.URL.Query().Get("declared") == "1"
		fmt.Sscan(r.URL.Query().Get("n"), &n)
		fmt.Sscan(r.URL.Query().Get("pieces"), &pieces)
		b := body(n)
		if declared {
			w.Header().Set("Content-Length", strconv.Itoa(n))
		}
		if pieces <= 1 {
			w.Write(b)
			return
		}
		for i := range pieces {
			w.Write(b[i*n/pieces : (i+1)*n/pieces])
		}
	})
	addr, _ := serve(t, &http.Server{Handler: handler}, 0)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
	defer client.CloseIdleConnections()
	sizes := []int{0, 1, 100, 3000, 3800, 4000, 4095, 4096, 4097, 5000, 8192, 10483, 70000, 154795, 1 << 20}
	var wg sync.WaitGroup
	for w := range 4 { // four clients at once, each on its own keep-alive connection
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, n := range sizes {
				for _, declared := range []string{"0", "1"} {
					pieces := 1 + (i+w)%3
					url := fmt.Sprintf("http://%s/?n=%d&declared=%s&pieces=%d", addr, n, declared, pieces)
					for _, method := range []string{http.MethodGet, http.MethodHead} {
						req, _ := http.NewRequest(method, url, nil)
						resp, err := client.Do(req)
						if err != nil {
							t.Errorf("%s %s: %v", method, url, err)
							return
						}
						got, err := io.ReadAll(resp.Body)
						resp.Body.Close()
						want := body(n)
						if method == http.MethodHead {
							want = nil
						}
						if err != nil || !bytes.Equal(got, want) {
							t.Errorf("%s %s: %d bytes (%v), want %d intact", method, url, len(got), err, len(want))
						}
					}
				}
			}
		}()
	}
	wg.Wait()
}

// A streamed answer (no Content-Length) reaches its client as the handler
// flushes it, never kept back for the rest: here the first part must
// arrive while the handler waits to write the second.
func TestStreamedAnswerNotKeptBack(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	for _, n := range []int{100, 4000, 4096, 5000, 70000} {
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write(bytes.Repeat([]byte("x"), n))
			w.(http.Flusher).Flush()
			<-release
			io.WriteString(w, "end")
		})
		addr, _ := serve(t, &http.Server{Handler: handler}, 0)
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(3 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%d bytes flushed: %v", n, err)
		}
		if _, err := io.ReadFull(resp.Body, make([]byte, n)); err != nil {
			t.Errorf("%d bytes flushed, then the handler waits: the client got %v", n, err)
		}
	}
}

// At the cap, with no idle connection and no unfinished request, a new
// client takes the place of the one whose answer has made no progress for
// longest: a client that asked for a big page and reads nothing.
func TestStalledWriterShed(t *testing.T) {
	big := bytes.Repeat([]byte("y"), 16<<20) // more than any socket buffer holds
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/", okHandler())
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(big)))
		w.Write(big)
	})
	mux.HandleFunc("/block", func(w http.ResponseWriter, r *http.Request) { <-release })
	addr, l := serve(t, &http.Server{Handler: mux}, 2)
	defer close(release)
	l.stallAfter = 200 * time.Millisecond

	stalled := dial(t, addr) // asks for the big page and never reads it
	io.WriteString(stalled, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	busy := dial(t, addr) // busy answering, but not stalled
	io.WriteString(busy, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
	// Until the chunk being written has waited past stallAfter: the chunks
	// before it went through while the kernels' buffers filled.
	for deadline := time.Now().Add(5 * time.Second); ; {
		l.mu.Lock()
		stalled, now := 0, l.clock()
		for c := range l.conns {
			if at := c.writingAt.Load(); at != 0 && now-at >= int64(l.stallAfter+50*time.Millisecond) {
				stalled++
			}
		}
		l.mu.Unlock()
		if stalled == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the big page's write never blocked on its client")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if resp, err := get(t, dial(t, addr), "/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("a fresh client at the cap with a stalled one: %v %v", resp, err)
	}
	// Shed, it ends after what the kernels held of the page; else it
	// would get the whole page now that it reads, and stay open.
	stalled.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := io.Copy(io.Discard, stalled)
	if err != nil || n >= int64(len(big)) {
		t.Errorf("the stalled connection was not shed: it read %d bytes of a %d-byte page, then %v", n, len(big), err)
	}
	if closed(busy, 50*time.Millisecond) {
		t.Error("the busy connection was shed instead")
	}
}

// Timeouts longer than deadlineHorizon, which conn keeps to itself until
// the watchdog hands them to the connection, still cut the connection at
// their time (not before, not much after): idle keep-alive, headers that
// never end, an answer its client never reads, and a deadline a handler
// sets on a connection it took over (hijacked: no longer watched).
func TestLongTimeoutsFireOnTime(t *testing.T) {
	const timeout = 1500 * time.Millisecond
	within := func(t *testing.T, what string, c net.Conn, start time.Time) {
		t.Helper()
		c.SetReadDeadline(start.Add(timeout + 2*time.Second))
		_, err := io.Copy(io.Discard, c)
		took := time.Since(start)
		if isTimeout(err) {
			t.Errorf("%s: still open %v after a %v timeout", what, took.Round(time.Millisecond), timeout)
		} else if took < timeout-100*time.Millisecond {
			t.Errorf("%s: closed after %v, before its %v timeout", what, took.Round(time.Millisecond), timeout)
		}
	}
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		addr, _ := serve(t, &http.Server{Handler: okHandler(), IdleTimeout: timeout}, 0)
		c := dial(t, addr)
		if _, err := get(t, c, "/"); err != nil {
			t.Fatal(err)
		}
		within(t, "idle keep-alive", c, time.Now())
	})
	t.Run("headers", func(t *testing.T) {
		t.Parallel()
		addr, _ := serve(t, &http.Server{Handler: okHandler(), ReadHeaderTimeout: timeout}, 0)
		c := dial(t, addr)
		start := time.Now()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		within(t, "unfinished headers", c, start)
	})
	t.Run("write", func(t *testing.T) {
		t.Parallel()
		big := bytes.Repeat([]byte("z"), 16<<20)
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(big) })
		addr, _ := serve(t, &http.Server{Handler: handler, WriteTimeout: timeout}, 0)
		c := dial(t, addr)
		start := time.Now()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(timeout + time.Second) // reading nothing meanwhile
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := io.Copy(io.Discard, c)
		if isTimeout(err) || n >= int64(len(big)) {
			t.Errorf("an answer never read: the client could still read %d bytes of %d after %v, then %v (WriteTimeout %v)",
				n, len(big), time.Since(start).Round(time.Millisecond), err, timeout)
		}
	})
	t.Run("shutdown", func(t *testing.T) {
		// A graceful shutdown closes the listener (and its watchdog) and
		// waits for the answers in progress: one its client never reads
		// still ends at its WriteTimeout.
		t.Parallel()
		big := bytes.Repeat([]byte("z"), 16<<20)
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(big) })
		srv := &http.Server{Handler: handler, WriteTimeout: timeout + time.Second}
		addr, _ := serve(t, srv, 0)
		c := dial(t, addr)
		start := time.Now()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(200 * time.Millisecond) // the answer under way
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown with an answer never read, WriteTimeout %v: %v after %v",
				srv.WriteTimeout, err, time.Since(start).Round(time.Millisecond))
		}
	})
	t.Run("hijacked", func(t *testing.T) {
		t.Parallel()
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			nc, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			defer nc.Close()
			nc.SetReadDeadline(time.Now().Add(timeout))
			io.Copy(io.Discard, nc) // until the deadline
		})
		addr, _ := serve(t, &http.Server{Handler: handler}, 0)
		c := dial(t, addr)
		start := time.Now()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		within(t, "a hijacked connection's read deadline", c, start)
	})
}
