package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// pruneBatch is how many items one pruning transaction deletes: small, so
// that polls waiting for the writer never wait long.
const pruneBatch = 500

// forgetPrunedAfter is how long a pruned identity is remembered: a source
// that still lists an item a year after it was pruned is rare.
const forgetPrunedAfter = 365 * 24 * time.Hour

// Prune deletes the items of source first seen before olderThan, except its
// newest keep items (by updated), in small transactions. Their identities
// are remembered so that a source still listing them does not bring them
// back as new. It returns how many items it deleted.
func (db *DB) Prune(ctx context.Context, source string, olderThan time.Time, keep int) (int, error) {
	total := 0
	for {
		n, err := db.pruneBatch(ctx, source, olderThan.Unix(), keep)
		total += n
		if err != nil || n < pruneBatch {
			if err != nil {
				err = fmt.Errorf("prune %s: %w", source, err)
			}
			if n > 0 || total > 0 {
				db.changed()
			}
			return total, err
		}
	}
}

func (db *DB) pruneBatch(ctx context.Context, source string, olderThan int64, keep int) (int, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	var srcID int64
	if err := tx.QueryRowContext(ctx, db.q(`SELECT id FROM sources WHERE slug = ?`), source).Scan(&srcID); err != nil {
		return 0, fmt.Errorf("read source: %w", err)
	}
	// The newest keep items stay whatever their age; of the others, the
	// oldest first seen go first.
	rows, err := tx.QueryContext(ctx, db.q(`SELECT id FROM items WHERE source_id = ? AND first_seen < ?
		  AND id NOT IN (SELECT id FROM items WHERE source_id = ? ORDER BY updated DESC, id DESC LIMIT ?)
		ORDER BY first_seen LIMIT ?`), srcID, olderThan, srcID, keep, pruneBatch)
	if err != nil {
		return 0, fmt.Errorf("select items to prune: %w", err)
	}
	var doomed []any
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("select items to prune: %w", err)
		}
		doomed = append(doomed, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("select items to prune: %w", err)
	}
	if len(doomed) == 0 {
		return 0, nil
	}
	now := db.Now().Unix()
	in := "(" + marks(len(doomed)) + ")"
	if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO pruned (source_id, identity, pruned_at)
		SELECT source_id, identity, ? FROM items WHERE id IN `+in+`
		ON CONFLICT (source_id, identity) DO UPDATE SET pruned_at = excluded.pruned_at`),
		append([]any{now}, doomed...)...); err != nil {
		return 0, fmt.Errorf("remember pruned identities: %w", err)
	}
	if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM items WHERE id IN `+in), doomed...); err != nil {
		return 0, fmt.Errorf("delete items: %w", err)
	}
	if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM pruned WHERE source_id = ? AND pruned_at < ?`),
		srcID, now-int64(forgetPrunedAfter/time.Second)); err != nil {
		return 0, fmt.Errorf("forget old pruned identities: %w", err)
	}
	// The source's feeds lost entries: their Last-Modified moves.
	if _, err := tx.ExecContext(ctx, db.q(`UPDATE sources SET changed = ? WHERE id = ?`), now, srcID); err != nil {
		return 0, fmt.Errorf("record the change: %w", err)
	}
	if err := db.bumpPublished(ctx, tx); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	return len(doomed), nil
}

// wasPruned reports whether retention pruned one of these identities of the
// source.
func (db *DB) wasPruned(ctx context.Context, tx *sql.Tx, srcID int64, identities []string) (bool, error) {
	for _, id := range identities {
		var one int
		err := tx.QueryRowContext(ctx, db.q(`SELECT 1 FROM pruned WHERE source_id = ? AND identity = ?`), srcID, id).Scan(&one)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("look up pruned identity %q: %w", id, err)
		}
	}
	return false, nil
}
