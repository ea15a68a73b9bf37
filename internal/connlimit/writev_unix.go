//go:build linux || darwin || openbsd

package connlimit

import "golang.org/x/sys/unix"

// writevSupported: conn sends an answer in one writev(2).
const writevSupported = true

// writev is the function conn hands its syscall.RawConn: one writev(2) of
// c.iov that does not wait for the socket (it is non-blocking), its count
// in c.iovN. It always reports done: conn writes whatever is left through
// Conn.Write, which waits and meets any error again.
func (c *conn) writev(fd uintptr) bool {
	for {
		n, err := unix.Writev(int(fd), c.iov[:])
		if err == unix.EINTR {
			continue
		}
		if n > 0 {
			c.iovN = n
		}
		return true
	}
}
