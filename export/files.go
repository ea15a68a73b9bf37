// Package export writes what feedrelay publishes as files: the old site's
// Jekyll posts and category pages (Jekyll), and every feed, page and the
// OPML as a static site any web server can serve without feedrelay
// (Static). What it writes comes from package publish (Jekyll) or from the
// HTTP handler that serves feedrelay (Static); it selects nothing itself.
//
// Both compare before writing: a file whose bytes would not change is not
// touched (its modification time stays, so rsync, a static host's deploy and
// Jekyll's incremental build see only what changed), and a file that
// changes is replaced atomically (written beside it, then renamed), so a
// web server or a build reading the folder never sees half a file.
package export

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Result says what an export did, by file path relative to its folder.
type Result struct {
	Written   []string // created or rewritten
	Unchanged int      // already held these bytes: left alone
	Removed   []string // deleted (Jekyll's -prune, or a post whose date moved)
	// Topics are the URLs of the feeds' first pages, in each format, whose
	// files a static export wrote: what WebSub hubs are to hear of.
	Topics []string
}

// Changed reports whether the export touched any file.
func (r *Result) Changed() bool { return len(r.Written)+len(r.Removed) > 0 }

func (r *Result) String() string {
	return fmt.Sprintf("%d written, %d unchanged, %d removed", len(r.Written), r.Unchanged, len(r.Removed))
}

// writeFile makes dir/name hold data, unless it already does; it reports
// whether it wrote.
func writeFile(dir, name string, data []byte) (bool, error) {
	path := filepath.Join(dir, filepath.FromSlash(name))
	old, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(old, data):
		return false, nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, fmt.Errorf("create the folder of %s: %w", path, err)
	}
	// A dot file: Jekyll and most static hosts ignore it, should a crash
	// leave it behind.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".feedrelay-*")
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is none
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644) // CreateTemp's 0600 would hide it from the web server
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, nil
}

// record adds the outcome of one writeFile to r.
func (r *Result) record(name string, wrote bool) {
	if wrote {
		r.Written = append(r.Written, name)
	} else {
		r.Unchanged++
	}
}
