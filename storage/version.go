package storage

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// versionCheckEvery is how often Version looks for commits made by other
// processes (a cron `feedrelay poll` beside `serve`).
const versionCheckEvery = time.Second

// version counts changes to what is published, so that the publisher can
// render a feed once per change and serve it from memory in between.
type version struct {
	n atomic.Uint64

	mu      sync.Mutex // guards the fields below; TryLock: a check never waits
	conn    *sql.Conn  // one fixed connection: PRAGMA data_version is per connection
	data    int64
	checked time.Time
}

// Version changes whenever entries or source metadata change: at once for
// this process's writes, within a second for another process's.
func (db *DB) Version(ctx context.Context) uint64 {
	v := &db.version
	if v.mu.TryLock() {
		if time.Since(v.checked) >= versionCheckEvery {
			v.checked = time.Now()
			if v.conn == nil {
				v.conn, _ = db.r.Conn(ctx)
			}
			var data int64
			switch {
			case v.conn == nil:
			case v.conn.QueryRowContext(ctx, "PRAGMA data_version").Scan(&data) == nil:
				if v.data != 0 && data != v.data {
					v.n.Add(1)
				}
				v.data = data
			default:
				// A broken connection stays broken: take a new one next
				// time (its data_version starts afresh, so count a change).
				v.conn.Close()
				v.conn, v.data = nil, 0
				v.n.Add(1)
			}
		}
		v.mu.Unlock()
	}
	return v.n.Load()
}

// changed records a committed change to what is published.
func (db *DB) changed() { db.version.n.Add(1) }

func (v *version) close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.conn != nil {
		v.conn.Close()
		v.conn = nil
	}
}
