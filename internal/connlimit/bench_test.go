package connlimit

import (
	"net"
	"testing"
	"time"
)

// BenchmarkRequestDeadlines is what net/http's deadlines cost a keep-alive
// request on a capped connection (go test -bench Deadlines
// ./internal/connlimit): the eight it sets, in its order, with the
// timeouts Apply gives (conn/direct: handed to the connection at once, as
// without this package).
func BenchmarkRequestDeadlines(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	l := NewListener(ln, 16)
	defer l.Close()
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			defer c.Close()
			<-l.done
		}
	}()
	nc, err := l.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	run := func(b *testing.B, c net.Conn) {
		for b.Loop() {
			t0 := time.Now()
			c.SetReadDeadline(t0.Add(ReadTimeout))               // the whole request
			c.SetWriteDeadline(time.Now().Add(WriteTimeout))     // its answer
			c.SetReadDeadline(time.Time{})                       // the background read
			c.SetReadDeadline(time.Unix(1, 0))                   // ... stopped at once
			c.SetReadDeadline(time.Time{})                       //
			c.SetWriteDeadline(time.Time{})                      // answered
			c.SetReadDeadline(time.Now().Add(IdleTimeout))       // waiting for the next
			c.SetReadDeadline(time.Now().Add(ReadHeaderTimeout)) // its headers
		}
	}
	b.Run("conn", func(b *testing.B) { run(b, nc) })
	b.Run("direct", func(b *testing.B) { run(b, nc.(*conn).Conn) })
}
