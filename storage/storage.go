// Package storage keeps sources and their items in SQLite or PostgreSQL:
// schema and migrations, the per-poll upsert, and the queries the publisher
// needs. It persists items as package feeds decided them (identity, entry
// id, story keys) and computes none of that itself.
//
// One DB type serves both backends, through database/sql (modernc's SQLite
// driver, pgx's stdlib driver for PostgreSQL). Their schemas are twins (the
// same tables and columns, times as unix seconds), so one scanning code and,
// for nearly every statement, one SQL text serve both; the dialect differs
// only in placeholders (written ?, rebound to $n by DB.q), one join keyword
// (DB.crossJoin), search (FTS5 trigrams against an array of grams), change
// notification (PRAGMA data_version against LISTEN/NOTIFY) and what only a
// shared database needs (leases: postgres_lease.go).
package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite" // the pure-Go driver, registered as "sqlite"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DB is feedrelay's database. On SQLite, one connection writes (immediate
// transactions, so a read-then-write never fails with SQLITE_BUSY halfway)
// and a pool of read-only connections serves queries concurrently under
// WAL. On PostgreSQL, w and r are one pool, and several instances may share
// the database (Shared).
type DB struct {
	w, r *sql.DB
	pg   bool
	path string // SQLite's file; "" on PostgreSQL
	// owner names this instance in the leases it takes (PostgreSQL).
	owner string
	// leases are the leases this instance claimed (postgres_lease.go).
	leases heldLeases
	// Now is the clock; tests replace it.
	Now func() time.Time

	version version
	// queued wakes RunIndexer when a poll queued items for the search index.
	queued chan struct{}
	// groups batches concurrent Saves into one transaction (group.go).
	groups saveGroups
	// notModified holds healthy 304s' history rows (polls.go).
	notModified pollQueue
	// stmts are SQLite's writer's prepared statements, by query
	// (writerQuery); read-only once Open has prepared them.
	stmts map[string]*sql.Stmt
	// readStmts are SQLite's readers' (readerQuery), the same way.
	readStmts map[string]*sql.Stmt
	// corrupt is set by the first query that finds the file damaged.
	corrupt *corruption
	// Checked says how the file was checked when it was opened.
	Checked IntegrityCheck
}

// Open opens the database the config's `database` names and applies
// pending migrations: a postgres:// or postgresql:// URL is a PostgreSQL
// database (its missing parts from the PG* environment variables), and
// anything else the path of a SQLite file, created if needed, whose file
// is checked for damage first (see CheckIntegrity; a *CorruptError if it
// is).
func Open(ctx context.Context, database string) (*DB, error) {
	if isPostgres(database) {
		return openPostgresDB(ctx, database)
	}
	return openSQLite(ctx, database)
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	corrupt := &corruption{path: path}
	if err := prepareFile(ctx, path); err != nil {
		if err := corrupt.note(err); errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		if why := unwritable(path); why != "" {
			return nil, fmt.Errorf("open database %s: %s: %w", path, why, err)
		}
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	dsn := (&url.URL{Scheme: "file", Opaque: path}).String() +
		"?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_synchronous=NORMAL&_time_format=sqlite"
	// The writer keeps statement journals in memory: on disk they were
	// temporary files that a cold poll wrote more bytes to than to the
	// WAL, and a crash discards them either way. It checkpoints every 4,000
	// pages (32 MiB of WAL) rather than 1,000: each checkpoint writes back
	// every index page the WAL holds, so fewer of them write each page
	// fewer times. Durability is unchanged: WAL with synchronous=NORMAL.
	w, err := openWatched(dsn+"&_txlock=immediate&_pragma=temp_store(memory)&_pragma=wal_autocheckpoint(4000)", corrupt)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	r, err := openWatched(dsn+"&_query_only=1", corrupt)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	db := &DB{w: w, r: r, path: path, Now: time.Now, queued: make(chan struct{}, 1), corrupt: corrupt}
	if db.Checked, err = db.CheckIntegrity(ctx); err != nil {
		db.Close()
		if errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		return nil, fmt.Errorf("check %s: %w", path, err)
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		if errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	if err := db.prepareStatements(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return db, nil
}

// writerQueries are the statements every Save runs, in SQLite's dialect
// (writerQuery).
var writerQueries []string

// writerQuery registers query, a statement every Save runs, so that
// SQLite's writer prepares it once at Open and each transaction reuses it
// (txExec, txQueryRow, txPrepare): compiling the dozen statements of a
// poll anew took 14 % of the writer's time. It returns query. PostgreSQL
// needs none of this (pgx caches the statements it prepares).
func writerQuery(query string) string {
	writerQueries = append(writerQueries, query)
	return query
}

// readerQueries are the reads every poll runs on SQLite's readers, and
// those of every search for a short term (readerQuery).
var readerQueries []string

// readerQuery registers query, a read every poll runs (or every search
// for a short term), so that SQLite's readers prepare it once per
// connection rather than per poll (compiling a poll's validators query was
// half of its cost). It returns query.
func readerQuery(query string) string {
	readerQueries = append(readerQueries, query)
	return query
}

// prepareStatements prepares writerQueries on SQLite's writer, before any
// transaction holds its one connection (preparing then would wait for
// it), and readerQueries on its readers.
func (db *DB) prepareStatements(ctx context.Context) (err error) {
	if db.stmts, err = prepareAll(ctx, db.w, writerQueries); err != nil {
		return err
	}
	db.readStmts, err = prepareAll(ctx, db.r, readerQueries)
	return err
}

// prepareAll prepares queries on pool, by query.
func prepareAll(ctx context.Context, pool *sql.DB, queries []string) (map[string]*sql.Stmt, error) {
	stmts := make(map[string]*sql.Stmt, len(queries))
	for _, q := range queries {
		st, err := pool.PrepareContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("prepare %q: %w", strings.Fields(q)[:3], err)
		}
		stmts[q] = st
	}
	return stmts, nil
}

// readRow runs query (written with ?, DB.q) on a reader, prepared already
// when it is one of readerQueries on SQLite.
func (db *DB) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := db.readStmts[query]; ok {
		return st.QueryRowContext(ctx, args...)
	}
	return db.r.QueryRowContext(ctx, db.q(query), args...)
}

// txExec runs query (written with ?, DB.q) in tx, prepared already when
// it is one of writerQueries on SQLite.
func (db *DB) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st, ok := db.stmts[query]; ok {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, db.q(query), args...)
}

// txQueryRow is txExec's QueryRow.
func (db *DB) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st, ok := db.stmts[query]; ok {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, db.q(query), args...)
}

// txPrepare is query prepared for tx: the writer's when it is one of
// writerQueries on SQLite. The caller closes it.
func (db *DB) txPrepare(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st, ok := db.stmts[query]; ok {
		return tx.StmtContext(ctx, st), nil
	}
	return tx.PrepareContext(ctx, db.q(query))
}

// openWatched opens a pool on dsn whose errors are checked for corruption.
func openWatched(dsn string, c *corruption) (*sql.DB, error) {
	conn, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(watchedConnector{Connector: conn, c: c}), nil
}

// prepareFile sets the page size while the file is still empty: 8 KiB pages
// make inserts about twice as fast and the file a third smaller, but SQLite
// ignores page_size once a WAL database exists, and the DSN's pragmas run
// in an order that puts WAL first.
// unwritable says why this process cannot write the database at path,
// or "": SQLite's own "unable to open database file" does not.
func unwritable(path string) string {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("the folder %s does not exist", dir)
	}
	if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("this process (uid %d) cannot write the file: %v", os.Getuid(), err)
	}
	f, err := os.CreateTemp(dir, ".feedrelay-write-test-*")
	if err != nil {
		return fmt.Sprintf("this process (uid %d) cannot create files in %s, where SQLite keeps the database's -wal and -shm files", os.Getuid(), dir)
	}
	f.Close()
	os.Remove(f.Name())
	return ""
}

func prepareFile(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Opaque: path}).String()+"?_busy_timeout=5000")
	if err != nil {
		return err
	}
	defer db.Close()
	var pages int
	if err := db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return err
	}
	if pages > 0 {
		return nil
	}
	for _, p := range []string{"PRAGMA page_size=8192", "PRAGMA journal_mode=WAL", "VACUUM"} {
		if _, err := db.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

// Close closes the database. On PostgreSQL it first ends this instance's
// leases, so that other instances take over its sources at once rather
// than when the leases expire.
func (db *DB) Close() error {
	db.closePolls()
	db.version.close()
	if db.pg {
		db.releaseAll()
		return db.w.Close()
	}
	rerr := db.r.Close()
	if err := db.w.Close(); err != nil {
		return err
	}
	return rerr
}

// Size is the size of the database in bytes: on SQLite its files,
// write-ahead log included.
func (db *DB) Size() (int64, error) {
	if db.pg {
		var n int64
		err := db.r.QueryRow("SELECT pg_database_size(current_database())").Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("size of the database: %w", err)
		}
		return n, nil
	}
	var total int64
	for _, suffix := range []string{"", "-wal"} {
		st, err := os.Stat(db.path + suffix)
		if err != nil {
			if suffix != "" && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return 0, err
		}
		total += st.Size()
	}
	return total, nil
}

// Ping checks that the database answers a query, and fails with a
// *CorruptError once any query has found the file damaged.
func (db *DB) Ping(ctx context.Context) error {
	if db.corrupt != nil { // nil on PostgreSQL: no file of ours to damage
		if ce := db.corrupt.err.Load(); ce != nil {
			return ce
		}
	}
	var one int
	return db.r.QueryRowContext(ctx, "SELECT 1").Scan(&one)
}

// Shared reports whether several instances may share the database
// (PostgreSQL): their schedulers then claim the sources they poll
// (Claim), and their render caches learn of each other's changes (Version).
func (db *DB) Shared() bool { return db.pg }

// q is query in the backend's dialect: SQLite's ? placeholders become $1,
// $2 … on PostgreSQL. The queries of this package hold no ? of their own
// (in a string literal, say).
func (db *DB) q(query string) string {
	if !db.pg {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// crossJoin is the join that makes SQLite's planner take the tables in
// the order written; PostgreSQL plans JOIN by its statistics (and allows
// no ON after CROSS JOIN).
func (db *DB) crossJoin() string {
	if db.pg {
		return "JOIN"
	}
	return "CROSS JOIN"
}

// migrate applies, in name order and each in its own transaction, the
// embedded migrations not yet recorded. Migrations are append-only: never
// edit one that has been released.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (
		name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := db.applyMigration(ctx, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func (db *DB) applyMigration(ctx context.Context, name string) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM migrations WHERE name = ?", name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := migrationFS.ReadFile(name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO migrations (name, applied_at) VALUES (?, ?)", name, time.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}
