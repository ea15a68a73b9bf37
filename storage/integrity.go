package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// quickCheckMaxBytes is the largest database CheckIntegrity runs PRAGMA
// quick_check on. quick_check reads every page and every record, at 35-62
// MiB/s here (2-4 s at this size); larger files get the page probe (about
// 3.3 GiB/s), so that a start never waits long on a big archive
// (BenchmarkCheckIntegrity, BENCHMARKS.md). A variable for the tests.
var quickCheckMaxBytes int64 = 128 << 20

// probeBudget bounds the page probe of a large database.
const probeBudget = 10 * time.Second

// IntegrityCheck says how a database file was checked.
type IntegrityCheck struct {
	Method   string // "quick_check" or "page probe"
	Duration time.Duration
	// Complete is false when the page probe ran out of time before it had
	// walked every b-tree.
	Complete bool
}

// CheckIntegrity checks the database file for damage, in bounded time: a
// database up to quickCheckMaxBytes gets SQLite's PRAGMA quick_check
// (every page, record formats, free lists; not index contents against their
// tables), a larger one a probe of every page of every table and index
// b-tree (SQLite validates each page's header and cell layout as it counts
// the rows; overflow pages, where long contents continue, are not read),
// stopped after probeBudget. A damaged file is a *CorruptError.
func (db *DB) CheckIntegrity(ctx context.Context) (IntegrityCheck, error) {
	start := time.Now()
	size, err := db.Size()
	if err != nil {
		return IntegrityCheck{}, err
	}
	if size <= quickCheckMaxBytes {
		err := db.quickCheck(ctx)
		return IntegrityCheck{Method: "quick_check", Duration: time.Since(start), Complete: err == nil}, err
	}
	pctx, cancel := context.WithTimeout(ctx, probeBudget)
	defer cancel()
	complete, err := db.probePages(pctx)
	if !complete && ctx.Err() == nil && pctx.Err() != nil {
		err = nil // out of time, nothing found so far
	}
	return IntegrityCheck{Method: "page probe", Duration: time.Since(start), Complete: complete}, err
}

func (db *DB) quickCheck(ctx context.Context) error {
	rows, err := db.r.QueryContext(ctx, "PRAGMA quick_check(3)")
	if err != nil {
		return fmt.Errorf("quick_check: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return fmt.Errorf("quick_check: %w", err)
		}
		if line != "ok" {
			problems = append(problems, strings.Join(strings.Fields(line), " "))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("quick_check: %w", err)
	}
	if len(problems) > 0 {
		return &CorruptError{Path: db.path, Err: errors.New("quick_check: " + strings.Join(problems, "; "))}
	}
	return nil
}

// probePages counts the rows of every table through its own b-tree and of
// every index through its b-tree: SQLite's count walks each page of the
// tree without decoding records. complete is false when ctx ended first.
func (db *DB) probePages(ctx context.Context) (complete bool, err error) {
	rows, err := db.r.QueryContext(ctx, `SELECT type, name, tbl_name FROM sqlite_schema
		WHERE rootpage > 0 AND type IN ('table', 'index') ORDER BY rootpage`)
	if err != nil {
		return false, fmt.Errorf("page probe: %w", err)
	}
	var queries []string
	for rows.Next() {
		var kind, name, table string
		if err := rows.Scan(&kind, &name, &table); err != nil {
			rows.Close()
			return false, fmt.Errorf("page probe: %w", err)
		}
		if kind == "table" {
			queries = append(queries, "SELECT count(*) FROM "+quoteIdent(name)+" NOT INDEXED")
		} else {
			queries = append(queries, "SELECT count(*) FROM "+quoteIdent(table)+" INDEXED BY "+quoteIdent(name))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("page probe: %w", err)
	}
	for _, q := range queries {
		var n int64
		if err := db.r.QueryRowContext(ctx, q).Scan(&n); err != nil {
			if errors.Is(err, ErrCorrupt) {
				return false, err
			}
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			// Some b-trees cannot be counted this way (a partial index
			// has no plan for INDEXED BY): not damage, skip them.
		}
	}
	return true, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
