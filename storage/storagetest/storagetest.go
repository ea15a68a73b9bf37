// Package storagetest damages database files the way bad disks and stray
// writes do, for the tests of what notices it.
package storagetest

import (
	"math/rand/v2"
	"os"
	"testing"
)

// Corrupt writes n random bytes into the file at path, from offset (a
// negative offset counts from the end of the file, and n 0 means up to its
// end).
func Corrupt(tb testing.TB, path string, offset, n int64) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	if offset < 0 {
		offset += st.Size()
	}
	if n == 0 {
		n = st.Size() - offset
	}
	if offset < 0 || n <= 0 || offset+n > st.Size() {
		tb.Fatalf("corrupt %s: %d bytes at %d do not fit in its %d bytes", path, n, offset, st.Size())
	}
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(offset), uint64(n)))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if _, err := f.WriteAt(b, offset); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// Middle corrupts 256 KiB in the middle of the file at path.
func Middle(tb testing.TB, path string) {
	tb.Helper()
	st, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	const n = 256 << 10
	if st.Size() < 2*n {
		tb.Fatalf("%s is too small (%d bytes) to corrupt its middle", path, st.Size())
	}
	Corrupt(tb, path, st.Size()/2-n/2, n)
}
