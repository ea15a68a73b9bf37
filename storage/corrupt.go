package storage

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// A damaged database file (a bad disk, a copy taken mid-write, a stray
// write) does not stop SQLite from opening it: the damage shows only when
// a query reaches a damaged page, as "database disk image is malformed".
// feedrelay checks the file when it opens it, and from then on every error
// of every query goes through watchConn: the first SQLITE_CORRUPT or
// SQLITE_NOTADB marks the database corrupt, after which Ping fails (and so
// /healthz and /readyz), and every such error names the file and how to
// restore it.

// ErrCorrupt is what errors.Is finds in a *CorruptError.
var ErrCorrupt = errors.New("database corrupt")

// CorruptError is SQLite reporting a damaged database file.
type CorruptError struct {
	Path string
	Err  error // what SQLite said
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("database %s is corrupt (%v): restore it from a backup: stop feedrelay, "+
		"copy the latest backup (written by `feedrelay backup`) over %s, delete %s-wal and %s-shm if present, "+
		"and start feedrelay again (keep the damaged file aside to salvage what came after the backup, "+
		"e.g. with sqlite3's .recover)", e.Path, e.Err, e.Path, e.Path, e.Path)
}

func (e *CorruptError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }

// isCorrupt reports whether err is SQLite saying the file is damaged or not
// a database at all (any extended code of either).
func isCorrupt(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return true
	}
	return false
}

// corruption remembers the first corruption a query reported.
type corruption struct {
	path string
	err  atomic.Pointer[CorruptError]
}

// note returns err, as a *CorruptError (remembered) when it is one.
func (c *corruption) note(err error) error {
	if err == nil || err == io.EOF || !isCorrupt(err) {
		return err
	}
	var ce *CorruptError
	if errors.As(err, &ce) {
		return err
	}
	ce = &CorruptError{Path: c.path, Err: err}
	c.err.CompareAndSwap(nil, ce)
	return ce
}

// watchedConnector opens connections whose errors go through c.note.
type watchedConnector struct {
	driver.Connector
	c *corruption
}

func (w watchedConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := w.Connector.Connect(ctx)
	if err != nil {
		return nil, w.c.note(err)
	}
	return &watchConn{conn: conn, c: w.c}, nil
}

// The connection interfaces modernc's conn implements, which a wrapper
// must forward (see sqlite.NewConnector).
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// watchConn is a connection whose errors are checked for corruption.
type watchConn struct {
	conn driver.Conn
	c    *corruption
}

func (w *watchConn) sq() sqliteConn { return w.conn.(sqliteConn) }

// Unwrap lets the driver reach its own connection (sqlite.Limit does).
func (w *watchConn) Unwrap() driver.Conn { return w.conn }

func (w *watchConn) Prepare(query string) (driver.Stmt, error) {
	return w.PrepareContext(context.Background(), query)
}

func (w *watchConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := w.sq().PrepareContext(ctx, query)
	if err != nil {
		return nil, w.c.note(err)
	}
	return &watchStmt{s: s, c: w.c}, nil
}

func (w *watchConn) Close() error { return w.conn.Close() }

func (w *watchConn) Begin() (driver.Tx, error) {
	return w.BeginTx(context.Background(), driver.TxOptions{})
}

func (w *watchConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := w.sq().BeginTx(ctx, opts)
	if err != nil {
		return nil, w.c.note(err)
	}
	return watchTx{tx: tx, c: w.c}, nil
}

func (w *watchConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	r, err := w.sq().ExecContext(ctx, query, args)
	return r, w.c.note(err)
}

func (w *watchConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := w.sq().QueryContext(ctx, query, args)
	if err != nil {
		return nil, w.c.note(err)
	}
	return watchRows{Rows: r, c: w.c}, nil
}

func (w *watchConn) Ping(ctx context.Context) error { return w.c.note(w.sq().Ping(ctx)) }

func (w *watchConn) ResetSession(ctx context.Context) error { return w.sq().ResetSession(ctx) }

func (w *watchConn) IsValid() bool { return w.sq().IsValid() }

type watchTx struct {
	tx driver.Tx
	c  *corruption
}

func (t watchTx) Commit() error   { return t.c.note(t.tx.Commit()) }
func (t watchTx) Rollback() error { return t.c.note(t.tx.Rollback()) }

type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

type watchStmt struct {
	s driver.Stmt
	c *corruption
}

func (s *watchStmt) Close() error  { return s.s.Close() }
func (s *watchStmt) NumInput() int { return s.s.NumInput() }

func (s *watchStmt) Exec(args []driver.Value) (driver.Result, error) {
	r, err := s.s.Exec(args) //nolint:staticcheck // database/sql calls ExecContext; Stmt requires Exec
	return r, s.c.note(err)
}

func (s *watchStmt) Query(args []driver.Value) (driver.Rows, error) {
	r, err := s.s.Query(args) //nolint:staticcheck // as Exec
	if err != nil {
		return nil, s.c.note(err)
	}
	return watchRows{Rows: r, c: s.c}, nil
}

func (s *watchStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	r, err := s.s.(sqliteStmt).ExecContext(ctx, args)
	return r, s.c.note(err)
}

func (s *watchStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	r, err := s.s.(sqliteStmt).QueryContext(ctx, args)
	if err != nil {
		return nil, s.c.note(err)
	}
	return watchRows{Rows: r, c: s.c}, nil
}

// watchRows checks the errors of each row read: a damaged page is often
// reached only some rows into a result.
type watchRows struct {
	driver.Rows
	c *corruption
}

func (r watchRows) Next(dest []driver.Value) error { return r.c.note(r.Rows.Next(dest)) }
