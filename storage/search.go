package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"

	"github.com/feedrelay/feedrelay/htmltext"
)

// SearchQuery selects the entries whose title or text contains words.
type SearchQuery struct {
	// Text is one or more terms separated by white space; an entry must
	// contain every one, in its title or its text, as a substring
	// (ASCII letters in any case).
	Text    string
	Sources []string // slugs; entries of these sources only
	Limit   int
	Before  *Cursor // entries older than this position (the next page)
}

// minTrigram is the length, in characters, of the shortest term the
// trigram index can find: FTS5 returns nothing, silently, for shorter ones.
const minTrigram = 3

// Short terms are looked up through the index when the trigrams they begin
// are in at most maxExpandDocs entries, and are at most maxExpandTerms:
// past that the word is common, and checking the newest entries one by one
// finds a page of them sooner (两市, in nearly every item of the benchmark,
// 0.2 ms against 10 ms to read its trigrams alone; 韧性, in 0.2 %, 150 ms
// against 5 ms through the index).
var (
	maxExpandDocs  = 5000 // a variable for tests
	maxExpandTerms = 500
)

// Search returns the newest entries of the given sources that match q.Text,
// newest first (by updated, then by insertion), like Entries.
//
// Every term becomes a condition on the trigram index, when it can:
//   - a term of three or more characters: the entries that hold each of its
//     trigrams (the index keeps no positions: see migration 0003), then
//     LIKE checks the whole term if it is longer than one trigram;
//   - a term of one or two characters (科技, 两市, 涨), which has no trigram
//     of its own: the entries that hold any indexed trigram beginning with
//     it. The indexed text ends with two spaces, so that every occurrence
//     begins one. When those are too many (a common word), LIKE checks the
//     term instead.
//
// SQLite then walks the entries newest first, keeping those in the index's
// set that pass the LIKE checks, until Limit: for rare words that is a walk
// of the whole index items_updated, for common ones a short one.
func (db *DB) Search(ctx context.Context, q SearchQuery) ([]Entry, error) {
	if db.pg {
		return pgSearch(ctx, db.r, q)
	}
	terms := strings.Fields(q.Text)
	if len(terms) == 0 || len(q.Sources) == 0 || q.Limit <= 0 {
		return nil, nil
	}
	var (
		match []string            // conditions of a MATCH expression, ANDed
		check []string            // terms for LIKE
		seen  = map[string]bool{} // terms and trigrams
	)
	for _, t := range terms {
		if seen[t] {
			continue
		}
		seen[t] = true
		runes := []rune(t)
		if len(runes) >= minTrigram {
			for i := 0; i+minTrigram <= len(runes); i++ {
				if tri := string(runes[i : i+minTrigram]); !seen["\x00"+tri] {
					seen["\x00"+tri] = true
					match = append(match, ftsString(tri))
				}
			}
			if len(runes) > minTrigram {
				check = append(check, t)
			}
			continue
		}
		tris, ok, err := db.trigramsFrom(ctx, t)
		switch {
		case err != nil:
			return nil, fmt.Errorf("search: %w", err)
		case !ok:
			check = append(check, t)
		case len(tris) == 0:
			return nil, nil // in no entry
		default:
			for i := range tris {
				tris[i] = ftsString(tris[i])
			}
			match = append(match, "("+strings.Join(tris, " OR ")+")")
		}
	}

	var (
		from  = "items i"
		where []string
		args  []any
	)
	if len(match) > 0 {
		// "+": i.id must not drive the query (matches looked up and
		// sorted, 10–25× slower for common words); the set is built once
		// and tested as items_updated is walked.
		where = append(where, "+i.id IN (SELECT rowid FROM items_search WHERE items_search MATCH ?)")
		args = append(args, strings.Join(match, " AND "))
	}
	if len(check) > 0 {
		// The indexed plain text of the entries walked, by rowid.
		from += " CROSS JOIN items_search f ON f.rowid = i.id"
		for _, t := range check {
			p := "%" + escapeLike(t) + "%"
			where = append(where, `(f.title LIKE ? ESCAPE '\' OR f.body LIKE ? ESCAPE '\')`)
			args = append(args, p, p)
		}
	}
	// "+": the sources must not drive the query either (all their entries
	// sorted); and a subquery, not the join, so that it does not.
	where = append(where, "+i.source_id IN (SELECT id FROM sources WHERE slug IN (?"+
		strings.Repeat(",?", len(q.Sources)-1)+"))")
	for _, s := range q.Sources {
		args = append(args, s)
	}
	if q.Before != nil {
		where = append(where, "(i.updated, i.id) < (?, ?)")
		args = append(args, q.Before.Updated.Unix(), q.Before.ID)
	}
	args = append(args, q.Limit)
	rows, err := db.r.QueryContext(ctx, `SELECT `+entryColumns+`
		FROM `+from+` CROSS JOIN sources s ON s.id = i.source_id
		WHERE `+strings.Join(where, " AND ")+`
		ORDER BY i.updated DESC, i.id DESC
		LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	return scanEntries(rows)
}

// trigramsFrom returns the indexed trigrams that begin with the short term
// t: the entries holding any of them are those that contain t. ok is false
// when they are too many to be worth it (see maxExpandDocs).
func (db *DB) trigramsFrom(ctx context.Context, t string) (tris []string, ok bool, err error) {
	// The index folds case (ASCII and most of Unicode), as ToLower does.
	prefix := strings.ToLower(t)
	rows, err := db.r.QueryContext(ctx, `SELECT term, doc FROM items_search_terms
		WHERE term >= ? AND term < ?`, prefix, prefix+"\U0010FFFF")
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	docs := 0
	for rows.Next() {
		var (
			term string
			n    int
		)
		if err := rows.Scan(&term, &n); err != nil {
			return nil, false, err
		}
		docs += n
		if docs > maxExpandDocs || len(tris) == maxExpandTerms {
			return nil, false, nil
		}
		tris = append(tris, term)
	}
	return tris, true, rows.Err()
}

// ftsString quotes s as an FTS5 string: a phrase of its trigrams.
func ftsString(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// escapeLike escapes the wildcards of LIKE … ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// indexSearch is whether saving items queues them for the search index;
// only the ingest benchmark turns it off, to measure what indexing costs.
var indexSearch = true

// indexBatch is how many queued items one indexing transaction takes:
// about 100 ms of the writer, so that polls never wait long for it.
const indexBatch = 500

// indexItems queues the given items for the search index, in the poll's
// transaction (so that a crash loses no item's indexing). Indexing costs
// about 200 µs per 1.5 KB item, seven times what saving it does: it is done
// after the poll, in the background (RunIndexer, IndexAll).
func (db *DB) indexItems(ctx context.Context, tx *sql.Tx, ids []int64) error {
	if !indexSearch {
		return nil
	}
	for len(ids) > 0 {
		n := min(len(ids), indexBatch)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		ids = ids[n:]
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO search_queue (id) VALUES (?)`+
			strings.Repeat(",(?)", n-1)+` ON CONFLICT DO NOTHING`), args...); err != nil {
			return fmt.Errorf("queue %d items: %w", n, err)
		}
	}
	return nil
}

// IndexQueued indexes up to indexBatch queued items in one transaction and
// returns how many it took from the queue: it replaces their rows of
// items_search with their current title and plain text, extracted by
// feedrelay_text inside SQLite, FTS5 merging the batch's terms in memory.
func (db *DB) IndexQueued(ctx context.Context) (int, error) {
	if db.pg {
		return pgIndexQueued(ctx, db.w)
	}
	n, err := db.indexQueued(ctx)
	if err != nil {
		return 0, fmt.Errorf("index for search: %w", err)
	}
	return n, nil
}

func (db *DB) indexQueued(ctx context.Context) (int, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	batch := fmt.Sprintf(`SELECT id FROM search_queue ORDER BY id LIMIT %d`, indexBatch)
	// Rows of changed items go first: FTS5 reads their old text to remove
	// its terms. Two spaces end each column, so that every occurrence of a
	// term of one or two characters begins a trigram (see Search).
	for _, q := range []string{
		`DELETE FROM items_search WHERE rowid IN (` + batch + `)`,
		`INSERT INTO items_search (rowid, title, body)
			SELECT id, title || '  ', feedrelay_text(CASE WHEN content != '' THEN content ELSE summary END) || '  '
			FROM items WHERE id IN (` + batch + `)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return 0, err
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM search_queue WHERE id IN (`+batch+`)`)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), tx.Commit()
}

// IndexAll indexes every queued item, batch by batch.
func (db *DB) IndexAll(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := db.IndexQueued(ctx)
		total += n
		if err != nil || n < indexBatch {
			return total, err
		}
	}
}

// RunIndexer indexes queued items in the background until ctx ends: soon
// after each poll that stored something, and every minute in case another
// process (a cron `feedrelay poll`) queued some. New items are found by
// Search once indexed, normally within a second.
func (db *DB) RunIndexer(ctx context.Context, onError func(error)) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if _, err := db.IndexAll(ctx); err != nil && ctx.Err() == nil && onError != nil {
			onError(fmt.Errorf("search index: %w", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-db.queued:
		case <-t.C:
		}
	}
}

// registerText makes feedrelay_text(html) — the text the search index
// holds — known to every connection the driver opens from then on; Open
// calls it before its first connection (indexItems and migration 0003 use
// it). The driver's registry is process-wide, hence once.
var registerText = sync.OnceValue(func() error {
	return sqlite.RegisterDeterministicScalarFunction("feedrelay_text", 1,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return htmltext.Plain(v), nil
			case []byte:
				return htmltext.Plain(string(v)), nil
			case nil:
				return "", nil
			default:
				return nil, fmt.Errorf("feedrelay_text: want text, got %T", v)
			}
		})
})
