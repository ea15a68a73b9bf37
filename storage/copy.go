package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// Copied is what CopyTo moved.
type Copied struct {
	Sources, Items, Pruned int
	Polls                  int // rows of the poll history added
	Articles               int // full-text states of items
}

// copyBatch is how many rows one INSERT of CopyTo carries: 21 columns of
// 500 items stay far below PostgreSQL's 65,535 parameters.
const copyBatch = 500

// sourceColumns are the columns of sources both schemas have, id aside.
const sourceColumns = `slug, name, url, feed_id, feed_title, site_url, language, feed_updated,
	etag, last_modified, last_attempt, last_success, last_status, last_error, failures, changed`

// itemColumns are the columns of items both schemas have, id and source
// aside: what CopyTo reads of each item.
const itemColumns = `identity, entry_id, link, title, author, content, summary, categories,
	published, updated, first_seen, changed, content_hash, url_key, title_key, origin, enclosures`

// copiedItemColumns are the columns CopyTo writes: itemColumns and the
// hashes of the story keys, computed from the keys as Save does (those of
// an item src has not hashed yet too: the copy folds it at once).
const copiedItemColumns = itemColumns + `, url_hash, title_hash`

// CopyTo copies db, a SQLite database, into dst, a PostgreSQL one (`feedrelay
// copy`): every source with its feed, validators and health, every item
// with its id, entry id and story keys unchanged (so that no published
// entry id, and no paging cursor, moves), its former slugs (which
// redirect), the identities retention pruned,
// the items still to be keyed, each source's poll history and new items
// per hour (the index page's health and activity), and where each item's
// full text stands (an article still to be retried is retried from dst).
// Every item is queued for dst's search index, which is built differently.
// It reads one snapshot of db and writes in one transaction: dst gets all
// of it or nothing. Copying again is safe: sources are matched by slug,
// items by id, and what changed in db since is updated; polls made since
// are added.
func (db *DB) CopyTo(ctx context.Context, dst *DB) (Copied, error) {
	var c Copied
	if db.pg || !dst.pg {
		return c, errors.New("copy: from a SQLite database to a PostgreSQL one only")
	}
	src, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return c, fmt.Errorf("copy: read %s: %w", db.path, err)
	}
	defer src.Rollback()
	tx, err := dst.w.BeginTx(ctx, nil)
	if err != nil {
		return c, fmt.Errorf("copy: begin: %w", err)
	}
	defer tx.Rollback()

	ids, err := copySources(ctx, src, tx)
	if err != nil {
		return c, fmt.Errorf("copy sources: %w", err)
	}
	c.Sources = len(ids)
	if c.Items, err = copyItems(ctx, src, tx, ids); err != nil {
		return c, fmt.Errorf("copy items: %w", err)
	}
	if c.Pruned, err = copyRows(ctx, src, tx, `SELECT source_id, identity, pruned_at FROM pruned`,
		`INSERT INTO pruned (source_id, identity, pruned_at)`,
		`ON CONFLICT (source_id, identity) DO UPDATE SET pruned_at = excluded.pruned_at`,
		3, mapSource(ids, nil)); err != nil {
		return c, fmt.Errorf("copy pruned identities: %w", err)
	}
	// A renamed source's old addresses keep redirecting after the move.
	if _, err = copyRows(ctx, src, tx, `SELECT source_id, slug, renamed_at FROM former_slugs`,
		`INSERT INTO former_slugs (source_id, slug, renamed_at)`,
		`ON CONFLICT (slug) DO UPDATE SET source_id = excluded.source_id, renamed_at = excluded.renamed_at`,
		3, mapSource(ids, nil)); err != nil {
		return c, fmt.Errorf("copy the former slugs: %w", err)
	}
	if c.Polls, err = copyPolls(ctx, src, tx, ids); err != nil {
		return c, fmt.Errorf("copy the poll history: %w", err)
	}
	if _, err = copyRows(ctx, src, tx, `SELECT source_id, hour, n FROM item_hours`,
		`INSERT INTO item_hours (source_id, hour, n)`,
		// Counted from the same items as src's; a second copy finds src's
		// counts grown, or as they were.
		`ON CONFLICT (source_id, hour) DO UPDATE SET n = greatest(item_hours.n, excluded.n)`,
		3, mapSource(ids, nil)); err != nil {
		return c, fmt.Errorf("copy the new items per hour: %w", err)
	}
	if c.Articles, err = copyRows(ctx, src, tx, `SELECT source_id, item_id, url, state, attempts,
		next_attempt, last_attempt, last_error FROM articles`,
		`INSERT INTO articles (source_id, item_id, url, state, attempts, next_attempt, last_attempt, last_error)`,
		`ON CONFLICT (item_id) DO UPDATE SET `+updateSet("source_id, url, state, attempts, next_attempt, last_attempt, last_error"),
		8, mapSource(ids, nil)); err != nil {
		return c, fmt.Errorf("copy the full-text states: %w", err)
	}
	// Items keep their ids: the identity sequences must start past them.
	for _, table := range []string{"sources", "items"} {
		if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+table+`', 'id'),
			greatest((SELECT max(id) FROM `+table+`), 1))`); err != nil {
			return c, fmt.Errorf("copy: move the id sequence of %s: %w", table, err)
		}
	}
	if err := dst.bumpPublished(ctx, tx); err != nil {
		return c, fmt.Errorf("copy: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return c, fmt.Errorf("copy: commit: %w", err)
	}
	dst.changed()
	return c, nil
}

// copySources upserts every source of src into tx by slug and returns the
// PostgreSQL id of each SQLite id.
func copySources(ctx context.Context, src, tx *sql.Tx) (map[int64]int64, error) {
	rows, err := src.QueryContext(ctx, `SELECT id, `+sourceColumns+` FROM sources ORDER BY id`)
	if err != nil {
		return nil, err
	}
	type source struct {
		id   int64
		vals []any
	}
	var all []source
	for rows.Next() {
		var (
			s                                                             source
			slug, name, url, feedID, title, site, lang, etag, lm, lastErr string
			updated, attempt, success, changed                            int64
			status, failures                                              int
		)
		if err := rows.Scan(&s.id, &slug, &name, &url, &feedID, &title, &site, &lang, &updated,
			&etag, &lm, &attempt, &success, &status, &lastErr, &failures, &changed); err != nil {
			rows.Close()
			return nil, err
		}
		s.vals = []any{slug, name, url, feedID, title, site, lang, updated, etag, lm, attempt, success,
			status, textOf(lastErr), failures, changed}
		all = append(all, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	set := updateSet(sourceColumns)
	ids := make(map[int64]int64, len(all))
	for _, s := range all {
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO sources (`+sourceColumns+`)
			VALUES (`+placeholders(1, len(s.vals))+`)
			ON CONFLICT (slug) DO UPDATE SET `+set+` RETURNING id`, s.vals...).Scan(&id); err != nil {
			return nil, fmt.Errorf("source %v: %w", s.vals[0], err)
		}
		ids[s.id] = id
	}
	return ids, nil
}

// copyItems upserts every item of src into tx by id, batch by batch, and
// queues each for the search index, and those src has not keyed yet for
// the back-fill of story keys.
func copyItems(ctx context.Context, src, tx *sql.Tx, sources map[int64]int64) (int, error) {
	set := updateSet("source_id, " + copiedItemColumns)
	total := 0
	var after int64
	for {
		rows, err := src.QueryContext(ctx, `SELECT id, source_id, `+itemColumns+`,
			id IN (SELECT id FROM story_key_queue)
			FROM items WHERE id > ? ORDER BY id LIMIT ?`, after, copyBatch)
		if err != nil {
			return total, err
		}
		var (
			values  []string
			args    []any
			ids     []int64
			unkeyed []int64
			scanErr error
		)
		for rows.Next() {
			var (
				id, srcID, pub, upd, seen, changed                             int64
				identity, entryID, link, title, author, content, summary, cats string
				hash, urlKey, titleKey, origin, encs                           string
				queued                                                         bool
			)
			if scanErr = rows.Scan(&id, &srcID, &identity, &entryID, &link, &title, &author, &content,
				&summary, &cats, &pub, &upd, &seen, &changed, &hash, &urlKey, &titleKey, &origin, &encs, &queued); scanErr != nil {
				break
			}
			pgSource, ok := sources[srcID]
			if !ok {
				scanErr = fmt.Errorf("item %d: unknown source %d", id, srcID)
				break
			}
			n := len(args)
			urlHash, titleHash := storyHashes(urlKey, titleKey)
			args = append(args, id, pgSource, identity, entryID, link, title, author, content, summary,
				cats, pub, upd, seen, changed, hash, urlKey, titleKey, origin, encs, urlHash, titleHash)
			values = append(values, "("+placeholders(n+1, 21)+")")
			ids = append(ids, id)
			if queued && urlKey == "" && titleKey == "" {
				// Still to be keyed (migration 0004); a queued item with
				// keys was only waiting for the hashes written here.
				unkeyed = append(unkeyed, id)
			}
			after = id
		}
		rows.Close()
		if scanErr == nil {
			scanErr = rows.Err()
		}
		if scanErr != nil {
			return total, scanErr
		}
		if len(ids) == 0 {
			return total, nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO items (id, source_id, `+copiedItemColumns+`)
			VALUES `+strings.Join(values, ",")+`
			ON CONFLICT (id) DO UPDATE SET `+set, args...); err != nil {
			return total, fmt.Errorf("items %d–%d: %w", ids[0], after, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO search_queue (id) SELECT unnest($1::bigint[])
			ON CONFLICT DO NOTHING`, ids); err != nil {
			return total, fmt.Errorf("queue items %d–%d for search: %w", ids[0], after, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO story_key_queue (id) SELECT unnest($1::bigint[])
			ON CONFLICT DO NOTHING`, unkeyed); err != nil {
			return total, fmt.Errorf("queue items %d–%d for story keys: %w", ids[0], after, err)
		}
		total += len(ids)
	}
}

// copyPolls adds src's polls of each source that dst does not have yet:
// all of them on a first copy; on a second, those made since — the ones
// after dst's newest poll of the source, and those in its second that dst
// lacks. Each source's are inserted oldest first, so that polls within one
// second keep their order (the history orders by time, then id).
func copyPolls(ctx context.Context, src, tx *sql.Tx, sources map[int64]int64) (int, error) {
	const columns = `source_id, attempted, duration_ms, status, outcome, new, updated, error`
	newest := map[int64]int64{}
	last := map[string]int{} // dst's polls in each source's newest second, by their values
	rows, err := tx.QueryContext(ctx, `SELECT `+columns+` FROM polls p
		WHERE attempted = (SELECT max(attempted) FROM polls WHERE source_id = p.source_id)`)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var (
			id, at, ms            int64
			status, newN, updated int
			outcome, pollErr      string
		)
		if err := rows.Scan(&id, &at, &ms, &status, &outcome, &newN, &updated, &pollErr); err != nil {
			rows.Close()
			return 0, err
		}
		newest[id] = at
		last[fmt.Sprintf("%#v", []any{id, at, ms, status, outcome, newN, updated, pollErr})]++
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return copyRows(ctx, src, tx, `SELECT `+columns+` FROM polls ORDER BY source_id, attempted, id`,
		`INSERT INTO polls (`+columns+`)`, "",
		8, mapSource(sources, func(source int64, row []any) bool {
			at, seen := newest[source]
			switch {
			case !seen || row[1].(int64) > at:
				return true
			case row[1].(int64) < at:
				return false
			}
			k := fmt.Sprintf("%#v", row)
			if last[k] > 0 {
				last[k]-- // dst has this one
				return false
			}
			return true
		}))
}

// mapSource returns a row mapper for copyRows whose first column is a
// source id: it gives it dst's id, makes the text columns valid for
// PostgreSQL, and drops the rows keep (if not nil) refuses.
func mapSource(sources map[int64]int64, keep func(source int64, row []any) bool) func([]any) (bool, error) {
	return func(row []any) (bool, error) {
		id, ok := sources[row[0].(int64)]
		if !ok {
			return false, fmt.Errorf("unknown source %d", row[0])
		}
		row[0] = id
		for i, v := range row {
			if s, ok := v.(string); ok {
				row[i] = textOf(s)
			}
		}
		return keep == nil || keep(id, row), nil
	}
}

// copyRows inserts the rows of query on src into tx, copyBatch rows an
// INSERT (insert names the table and columns, onConflict follows the
// values), after row has mapped each (false: left out); it returns how
// many it inserted. Values are read as int64 or string.
func copyRows(ctx context.Context, src, tx *sql.Tx, query, insert, onConflict string, columns int,
	row func([]any) (bool, error)) (int, error) {
	rows, err := src.QueryContext(ctx, query)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var (
		args   []any
		values []string
		total  int
	)
	flush := func() error {
		if len(values) == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, insert+` VALUES `+strings.Join(values, ",")+` `+onConflict, args...); err != nil {
			return err
		}
		total += len(values)
		args, values = args[:0], values[:0]
		return nil
	}
	cols, ptrs := make([]any, columns), make([]any, columns)
	for i := range cols {
		ptrs[i] = &cols[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return total, err
		}
		vals := make([]any, columns)
		for i, v := range cols {
			if b, ok := v.([]byte); ok { // TEXT may scan as bytes
				v = string(b)
			}
			vals[i] = v
		}
		if ok, err := row(vals); err != nil || !ok {
			if err != nil {
				return total, err
			}
			continue
		}
		values = append(values, "("+placeholders(len(args)+1, columns)+")")
		args = append(args, vals...)
		if len(values) == copyBatch {
			if err := flush(); err != nil {
				return total, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return total, err
	}
	return total, flush()
}

// placeholders is n PostgreSQL placeholders from $from.
func placeholders(from, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = fmt.Sprintf("$%d", from+i)
	}
	return strings.Join(ps, ", ")
}

// updateSet is "c = excluded.c" for each of columns.
func updateSet(columns string) string {
	var sets []string
	for _, c := range strings.Split(columns, ",") {
		c = strings.TrimSpace(c)
		sets = append(sets, c+" = excluded."+c)
	}
	return strings.Join(sets, ", ")
}
