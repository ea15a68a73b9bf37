package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// The full text of items (migration 0007): storage keeps where each item's
// article stands (articles) and, once fetched, the article as the item's
// content, as package feeds decided them.

// StoredArticles says, for each of items (the items of one poll of source),
// whether it is stored, under which row and list hash, or was pruned: the
// poller fetches the full text of the new and the changed ones. It reads
// through the same lookup Save uses, without writing.
func (db *DB) StoredArticles(ctx context.Context, source string, items []feeds.Item) ([]feeds.StoredArticle, error) {
	out := make([]feeds.StoredArticle, len(items))
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var srcID int64
	err = tx.QueryRowContext(ctx, db.q(`SELECT id FROM sources WHERE slug = ?`), source).Scan(&srcID)
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil // Save reports the unknown source
	}
	if err != nil {
		return nil, fmt.Errorf("read source %s: %w", source, err)
	}
	sel, err := tx.PrepareContext(ctx, db.q(`SELECT id, content_hash, published, updated, title, link
		FROM items WHERE source_id = ? AND identity = ?`))
	if err != nil {
		return nil, err
	}
	defer sel.Close()
	var anyPruned bool
	if err := tx.QueryRowContext(ctx, db.q(`SELECT EXISTS (SELECT 1 FROM pruned WHERE source_id = ?)`), srcID).Scan(&anyPruned); err != nil {
		return nil, fmt.Errorf("look for pruned items: %w", err)
	}
	rows := &finder{sel: sel, srcID: srcID, rows: map[string]*storedItem{}, taken: map[int64]bool{}}
	for i := range items {
		it := &items[i]
		row, err := rows.find(ctx, it)
		if err != nil {
			return nil, err
		}
		if row != nil {
			rows.taken[row.id] = true
			out[i] = feeds.StoredArticle{ItemID: row.id, Hash: row.hash}
			continue
		}
		if anyPruned {
			if out[i].Pruned, err = db.wasPruned(ctx, tx, srcID, prunedKeys(it)); err != nil {
				return nil, fmt.Errorf("item %q: %w", it.Identity, err)
			}
		}
	}
	return out, nil
}

// DueArticles lists source's items whose full text is pending and due at
// now, soonest due first, at most limit, with what each holds now.
func (db *DB) DueArticles(ctx context.Context, source string, now time.Time, limit int) ([]feeds.DueArticle, error) {
	rows, err := db.r.QueryContext(ctx, db.q(`
		SELECT a.item_id, a.url, a.attempts, i.content, i.summary, i.origin
		FROM articles a JOIN items i ON i.id = a.item_id
		WHERE a.source_id = (SELECT id FROM sources WHERE slug = ?)
		  AND a.state = 'pending' AND a.next_attempt <= ?
		ORDER BY a.next_attempt, a.item_id LIMIT ?`), source, now.Unix(), limit)
	if err != nil {
		return nil, fmt.Errorf("query due articles of %s: %w", source, err)
	}
	defer rows.Close()
	var out []feeds.DueArticle
	for rows.Next() {
		var d feeds.DueArticle
		if err := rows.Scan(&d.ItemID, &d.URL, &d.Attempts, &d.Content, &d.Summary, &d.Origin); err != nil {
			return nil, fmt.Errorf("scan due article: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query due articles of %s: %w", source, err)
	}
	return out, nil
}

// saveArticle records where the article of the stored item id stands: a
// (this poll's fetch), or pending and never tried when a is nil.
func (db *DB) saveArticle(ctx context.Context, tx *sql.Tx, srcID, id int64, url string, a *feeds.Article) error {
	if a == nil {
		a = &feeds.Article{State: feeds.ArticlePending}
	}
	_, err := tx.ExecContext(ctx, db.q(`INSERT INTO articles (item_id, source_id, url, state, attempts,
		next_attempt, last_attempt, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (item_id) DO UPDATE SET url = excluded.url, state = excluded.state,
			attempts = excluded.attempts, next_attempt = excluded.next_attempt,
			last_attempt = excluded.last_attempt, last_error = excluded.last_error`),
		id, srcID, url, string(a.State), a.Attempts, unixOr(a.NextAttempt, 0), unixOr(a.Attempted, 0), a.Err)
	if err != nil {
		return fmt.Errorf("record the full text of item %d: %w", id, err)
	}
	return nil
}

// saveRetried applies a poll's retries of stored items' full text: each
// article's state, and for each fetched one the item's new content, whose
// updated moves (the item was published without it). It returns the items
// changed.
func (db *DB) saveRetried(ctx context.Context, tx *sql.Tx, srcID int64, retried []feeds.ArticleUpdate) ([]int64, error) {
	now := db.Now().Unix()
	var changed []int64
	for _, u := range retried {
		a := u.Article
		res, err := tx.ExecContext(ctx, db.q(`UPDATE articles SET state = ?, attempts = ?, next_attempt = ?,
			last_attempt = ?, last_error = ? WHERE item_id = ? AND source_id = ?`),
			string(a.State), a.Attempts, unixOr(a.NextAttempt, 0), unixOr(a.Attempted, 0), a.Err, u.ItemID, srcID)
		if err != nil {
			return nil, fmt.Errorf("record the full text of item %d: %w", u.ItemID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 || a.State != feeds.ArticleOK {
			continue // pruned meanwhile, or failed again
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE items SET content = ?, summary = ?, origin = ?,
			updated = CASE WHEN updated + 1 > ? THEN updated + 1 ELSE ? END, changed = ? WHERE id = ? AND source_id = ?`),
			u.Content, u.Summary, u.Origin, now, now, now, u.ItemID, srcID); err != nil {
			return nil, fmt.Errorf("store the full text of item %d: %w", u.ItemID, err)
		}
		changed = append(changed, u.ItemID)
	}
	return changed, nil
}
