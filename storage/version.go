package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// versionCheckEvery is how often Version looks for commits made by other
// processes (a cron `feedrelay poll` beside `serve`) on SQLite, and how
// soon a lost PostgreSQL listener is replaced.
const versionCheckEvery = time.Second

// On PostgreSQL, commits are announced to every instance's listener
// (LISTEN/NOTIFY, delivered at commit, not at all on rollback):
// publishedChannel by those that change what is published (bumpPublished),
// dataChannel by those that change only what the poll pages show
// (notifyData).
const (
	publishedChannel = "feedrelay_published"
	dataChannel      = "feedrelay_data"
)

// version follows the changes to what is published, so that the publisher
// can render a feed once per change and serve it from memory in between,
// and the changes to anything stored, for the pages that show polls.
type version struct {
	published atomic.Uint64 // bumped when published_version moves
	data      atomic.Uint64 // bumped at any commit seen
	stale     atomic.Bool   // this process committed a published change
	own       atomic.Int64  // of those, how many the next check has not seen

	mu        sync.Mutex // guards the fields below; TryLock: a check never waits
	conn      *sql.Conn  // one fixed connection: PRAGMA data_version is per connection
	dataSeen  int64      // its data_version at the last check
	counter   int64      // published_version.n at the last check
	checked   time.Time
	haveFirst bool

	// PostgreSQL: the listener's goroutine, stopped by close.
	stop context.CancelFunc
	done chan struct{}
}

// Version changes whenever entries or source metadata change: at once for
// this process's writes, within a second for another process's. Poll
// history and failure counts, which no feed shows, leave it alone.
func (db *DB) Version(ctx context.Context) uint64 {
	if db.pg {
		return db.version.published.Load() // the listener bumps it
	}
	db.checkVersion(ctx, db.version.stale.Load())
	return db.version.published.Load()
}

// DataVersion changes whenever anything stored changes (a poll's history
// row included), within a second for another process's writes.
func (db *DB) DataVersion(ctx context.Context) uint64 {
	if db.pg {
		return db.version.data.Load()
	}
	db.checkVersion(ctx, false)
	return db.version.data.Load()
}

// checkVersion reads data_version, and published_version when data_version
// moved (or now, when this process committed a published change), at most
// once a second unless now.
func (db *DB) checkVersion(ctx context.Context, now bool) {
	v := &db.version
	if !now && time.Since(v.checked) < versionCheckEvery {
		return
	}
	if !v.mu.TryLock() {
		return
	}
	defer v.mu.Unlock()
	if !now && time.Since(v.checked) < versionCheckEvery {
		return
	}
	v.checked = time.Now()
	stale := v.stale.Swap(false)
	if err := v.read(ctx, db, stale); err != nil {
		// A broken connection stays broken: take a new one next time (its
		// data_version starts afresh, so count a change of both).
		if v.conn != nil {
			v.conn.Close()
		}
		v.conn, v.haveFirst = nil, false
		v.data.Add(1)
		v.published.Add(1)
	}
}

// read is checkVersion's reading; v.mu is held.
func (v *version) read(ctx context.Context, db *DB, force bool) error {
	if v.conn == nil {
		c, err := db.r.Conn(ctx)
		if err != nil {
			return fmt.Errorf("version: %w", err)
		}
		v.conn = c
	}
	var data int64
	if err := v.conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&data); err != nil {
		return fmt.Errorf("version: %w", err)
	}
	moved := !v.haveFirst || data != v.dataSeen
	if v.haveFirst && moved {
		v.data.Add(1)
	}
	v.dataSeen = data
	if !moved && !force {
		return nil
	}
	var n int64
	if err := v.conn.QueryRowContext(ctx, "SELECT n FROM published_version").Scan(&n); err != nil {
		return fmt.Errorf("version: %w", err)
	}
	// This process's own changes were counted as they committed; only
	// more than those is another process's.
	if own := v.own.Swap(0); v.haveFirst && n-v.counter > own {
		v.published.Add(1)
	}
	v.counter, v.haveFirst = n, true
	return nil
}

// changed records a committed change to what is published by this process:
// its readers see it at once.
func (db *DB) changed() {
	db.version.own.Add(1)
	db.version.published.Add(1)
	db.version.data.Add(1)
	db.version.stale.Store(true)
}

// bumpPublished moves published_version in tx, a transaction that changes
// what is published, so that other processes' caches see the change; on
// PostgreSQL it announces the change to every instance instead.
func (db *DB) bumpPublished(ctx context.Context, tx *sql.Tx) error {
	query := "UPDATE published_version SET n = n + 1"
	if db.pg {
		query = "SELECT pg_notify('" + publishedChannel + "', '')"
	}
	if _, err := tx.ExecContext(ctx, query); err != nil {
		return fmt.Errorf("count a published change: %w", err)
	}
	return nil
}

// notifyData announces, on PostgreSQL, that tx changes what only the poll
// pages show (DataVersion); SQLite's other processes see data_version move.
func (db *DB) notifyData(ctx context.Context, tx *sql.Tx) error {
	if !db.pg {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "SELECT pg_notify('"+dataChannel+"', '')"); err != nil {
		return fmt.Errorf("announce a poll: %w", err)
	}
	return nil
}

// listen starts the PostgreSQL listener: one connection of pool held in
// LISTEN on both channels, each notification a new version. A lost
// connection is replaced within versionCheckEvery, and counts as a change
// of both (one may have been missed meanwhile).
func (v *version) listen(pool *sql.DB) {
	ctx, cancel := context.WithCancel(context.Background())
	v.stop, v.done = cancel, make(chan struct{})
	go func() {
		defer close(v.done)
		for ctx.Err() == nil {
			v.listenOnce(ctx, pool)
			v.published.Add(1)
			v.data.Add(1)
			select {
			case <-ctx.Done():
			case <-time.After(versionCheckEvery):
			}
		}
	}()
}

// listenOnce listens on one connection until it fails or ctx ends. The
// connection is then discarded (driver.ErrBadConn), never returned to the
// pool still listening.
func (v *version) listenOnce(ctx context.Context, pool *sql.DB) {
	conn, err := pool.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	_ = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		if _, err := pc.Exec(ctx, "LISTEN "+publishedChannel+"; LISTEN "+dataChannel); err != nil {
			return driver.ErrBadConn
		}
		// Changes made before the LISTEN took effect.
		v.published.Add(1)
		v.data.Add(1)
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				return driver.ErrBadConn
			}
			if n.Channel == publishedChannel {
				v.published.Add(1)
			}
			v.data.Add(1)
		}
	})
}

func (v *version) close() {
	if v.stop != nil {
		v.stop()
		<-v.done
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.conn != nil {
		v.conn.Close()
		v.conn = nil
	}
}
