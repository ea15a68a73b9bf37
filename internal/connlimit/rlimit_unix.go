//go:build unix

package connlimit

import "syscall"

// fdLimit is the soft RLIMIT_NOFILE (the Go runtime raises it to the hard
// limit at start).
func fdLimit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur > 1<<30 {
		return 0
	}
	return int(r.Cur)
}
