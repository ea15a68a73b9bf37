//go:build !(linux || darwin || openbsd)

package connlimit

// writevSupported: conn writes through Conn.Write only here.
const writevSupported = false

func (c *conn) writev(fd uintptr) bool { return true }
