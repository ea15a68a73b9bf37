package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
)

// BackupFile writes a consistent copy of the SQLite database at src to dst:
// a snapshot of the last transaction committed before it started, compacted
// (VACUUM INTO), a single file in rollback-journal mode with no -wal beside
// it, ready to be copied anywhere or put back in place of the database.
//
// It reads src through a connection of its own and never takes the write
// lock: under WAL the writer goes on committing while the copy is made (it
// only cannot checkpoint past the snapshot until the copy is done). The
// connection cannot be one of the query_only readers, which SQLite forbids
// to write even to another file. BackupFile does not run migrations and
// fails when src does not exist instead of creating it, so it is safe to
// point at the database of a running `feedrelay serve`.
//
// The copy is written to a temporary file in dst's directory, synced, and
// renamed over dst: an existing dst (yesterday's backup) is replaced
// atomically, and a backup that fails or is interrupted leaves dst as it
// was and no temporary file behind. The copy is readable by its owner only
// (0600). dst must not be src itself.
func BackupFile(ctx context.Context, src, dst string) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("backup %s to %s: %w", src, dst, err)
		}
	}()
	if isPostgres(src) {
		return errors.New("a PostgreSQL database is backed up with its own tools (pg_dump)")
	}
	srcInfo, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !srcInfo.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", src)
	}
	switch dstInfo, err := os.Stat(dst); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return err
	case os.SameFile(srcInfo, dstInfo):
		return errors.New("the backup would replace the database itself")
	case !dstInfo.Mode().IsRegular():
		return fmt.Errorf("%s exists and is not a regular file", dst)
	}

	// VACUUM INTO accepts an existing empty file; creating it here gives it
	// a unique name and private permissions.
	dir, base := filepath.Split(dst)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return err
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer func() {
		if err != nil {
			os.Remove(tmpPath)
		}
	}()

	// mode=rw: open an existing database, never create one.
	conn, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Opaque: src}).String()+"?mode=rw&_busy_timeout=5000")
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	if _, err := conn.ExecContext(ctx, "VACUUM INTO ?", tmpPath); err != nil {
		return err
	}
	if err := conn.Close(); err != nil {
		return err
	}

	// SQLite does not sync what VACUUM INTO writes.
	if err := syncPath(tmpPath); err != nil {
		return err
	}
	if err := os.Rename(tmpPath, dst); err != nil {
		return err
	}
	// The rename itself is durable once the directory is synced.
	return syncPath(dir)
}

func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
