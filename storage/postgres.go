package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgreSQL (issue 14) is reached through database/sql with pgx's driver,
// as SQLite is through modernc's: one *sql.DB, one Tx type and one scanning
// code for both backends, their SQL differing only where the dialects do
// ($1 for ?, search, leases). What pgx alone offers (LISTEN/NOTIFY, COPY
// for `feedrelay copy`) is reached through sql.Conn.Raw, whose driver
// connection is a *stdlib.Conn with the *pgx.Conn inside.

//go:embed migrations/postgres/*.sql
var pgMigrationFS embed.FS

// isPostgres is whether database (the config's `database`) names a
// PostgreSQL database rather than a SQLite file: a postgres:// or
// postgresql:// URL, whose missing parts (host, user, password, dbname,
// sslmode…) pgx takes from the usual PG* environment variables, so that
// `database: postgres://` alone means "as PGHOST, PGUSER… say".
func isPostgres(database string) bool {
	for _, scheme := range []string{"postgres://", "postgresql://"} {
		if len(database) >= len(scheme) && strings.EqualFold(database[:len(scheme)], scheme) {
			return true
		}
	}
	return false
}

// openPostgresDB opens the PostgreSQL database of dsn as a DB: migrated,
// its change listener started, its lease owner named.
func openPostgresDB(ctx context.Context, dsn string) (*DB, error) {
	pool, err := openPostgres(ctx, dsn)
	if err != nil {
		return nil, err
	}
	db := &DB{w: pool, r: pool, pg: true, owner: leaseOwner(), Now: time.Now, queued: make(chan struct{}, 1)}
	db.version.listen(pool)
	return db, nil
}

// leaseOwner names this instance in its leases: host, process and a
// random part, so that a restarted process (same pid in a container) is
// not taken for its predecessor.
func leaseOwner() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%x", host, os.Getpid(), b)
}

// idleInTransactionTimeout is how long PostgreSQL lets a transaction of
// ours sit idle before it ends the session and its locks with it.
var idleInTransactionTimeout = time.Minute

// openPostgres connects to the PostgreSQL database of dsn and applies its
// pending migrations.
func openPostgres(ctx context.Context, dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("open postgresql database: %w", err)
	}
	// pgx prepares and caches each statement; after five runs PostgreSQL
	// may switch such a statement to a generic plan, blind to its
	// arguments, which for Search is a bad plan whichever it picks (a
	// common word wants the newest entries walked, a rare one the indexes).
	// Planning each run costs tens of microseconds.
	cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	// A transaction of ours never waits between its statements, except
	// when this process hangs or loses its network mid-transaction; then
	// PostgreSQL would keep its locks (the claim lock every instance's
	// claims take in turn, the rows it wrote) until it noticed the
	// connection dead, hours by default, and no instance could claim a
	// source meanwhile. The session is ended instead, unless the URL
	// names a value of its own, as a parameter or in its options (or
	// PGOPTIONS): a startup parameter would override either.
	_, set := cfg.RuntimeParams["idle_in_transaction_session_timeout"]
	if !set && !strings.Contains(cfg.RuntimeParams["options"], "idle_in_transaction_session_timeout") {
		cfg.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(idleInTransactionTimeout.Milliseconds(), 10)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := migratePostgres(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate postgresql database: %w", err)
	}
	return db, nil
}

// migrateLockKey is the pg_advisory_lock key that serializes migrations:
// instances that start together migrate one after the other, the second
// finding nothing left to do. ("feedrela" in ASCII.)
const migrateLockKey = 0x6665656472656c61

// migratePostgres applies, in name order and each in its own transaction,
// the PostgreSQL migrations not yet recorded, holding the advisory lock on
// one connection throughout.
func migratePostgres(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(migrateLockKey)); err != nil {
		return fmt.Errorf("take the migration lock: %w", err)
	}
	// A session lock: released by the unlock, or when the connection
	// ends (conn.Close after an error may return it to the pool, hence the
	// explicit unlock).
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrateLockKey))
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (
		name text PRIMARY KEY, applied_at bigint NOT NULL)`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(pgMigrationFS, "migrations/postgres/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := applyPostgresMigration(ctx, conn, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func applyPostgresMigration(ctx context.Context, conn *sql.Conn, name string) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM migrations WHERE name = $1", name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := pgMigrationFS.ReadFile(name)
	if err != nil {
		return err
	}
	// Without arguments, pgx sends the file as one simple query: several
	// statements in one go.
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO migrations (name, applied_at) VALUES ($1, $2)", name, time.Now().Unix()); err != nil {
		return err
	}
	return tx.Commit()
}
