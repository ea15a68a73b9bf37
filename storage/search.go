package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/feedrelay/feedrelay/htmltext"
)

// SearchQuery selects the entries whose title or text contains words.
type SearchQuery struct {
	// Text is one or more terms separated by white space; an entry must
	// contain every one, in its title or its text, as a substring
	// (ASCII letters in any case). Other letters match in any case too
	// where the index alone decides (a term of up to three characters not
	// so common that LIKE checks it: SQLite), not where LIKE checks the
	// term (longer ones), which folds ASCII only.
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
// Every term becomes a condition on the index of each entry's distinct
// trigrams (computed in Go: searchterms.go, migration 0010), when it can:
//   - a term of three or more characters: the entries that hold each of its
//     trigrams (the index keeps no positions), then LIKE checks the whole
//     term if it is longer than one trigram;
//   - a term of one or two characters (科技, 两市, 涨), which has no trigram
//     of its own: the entries that hold any indexed term beginning with it
//     (every occurrence begins one: a window cut short by white space or
//     the end of the text is indexed too). When those are too many (a
//     common word), LIKE checks the term instead.
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
				if tri := encodeTerm(string(runes[i : i+minTrigram])); !seen["\x00"+tri] {
					seen["\x00"+tri] = true
					match = append(match, ftsString(tri))
				}
			}
			if len(runes) > minTrigram {
				check = append(check, t)
			}
			continue
		}
		tris, ok, err := db.termsFrom(ctx, t)
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
			// (? || ''), not a bare ?: SQLite compiles a statement whose
			// LIKE pattern is a parameter again once it is bound (to
			// look for an index prefix, of no use here): about 50 µs a search.
			where = append(where, `(f.title LIKE (? || '') ESCAPE '\' OR f.body LIKE (? || '') ESCAPE '\')`)
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
	rows, err := db.r.QueryContext(ctx, `SELECT `+entryColumns+`
		FROM `+from+` CROSS JOIN sources s ON s.id = i.source_id
		WHERE `+strings.Join(where, " AND ")+`
		ORDER BY i.updated DESC, i.id DESC
		`+limitClause(q.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	return scanEntries(rows)
}

// qCommonTerm is whether the MATCH expression (?1) is true of more than ?2
// items (termsFrom).
var qCommonTerm = readerQuery(`SELECT EXISTS (SELECT 1 FROM items_search
	WHERE items_search MATCH ? LIMIT 1 OFFSET ?)`)

// termsFrom returns the indexed terms (encoded: searchterms.go) that
// begin with the short term t: the entries holding any of them are those
// that contain t. ok is false when they are too many to be worth it (see
// maxExpandDocs).
func (db *DB) termsFrom(ctx context.Context, t string) (tris []string, ok bool, err error) {
	// Encoded, the terms that begin with t are those whose bytes begin
	// with t's.
	prefix := encodeTerm(t)
	// The first of them, when it is indexed, is t itself (t before white
	// space or at the end of a column), often the one in most items. The
	// vocabulary counts a term's items by reading all of them (涨 alone is
	// in 32,599 of the benchmark's 100,000 items: 0.9 ms to count), where
	// a MATCH says whether there is a (maxExpandDocs+1)th after reading
	// that many (0.25 ms). When there is, the scan below would stop at t
	// too (the items a MATCH returns are among those the vocabulary
	// counts): the same answer, sooner.
	var common bool
	if err := db.readRow(ctx, qCommonTerm, ftsString(prefix), maxExpandDocs).Scan(&common); err != nil {
		return nil, false, err
	}
	if common {
		return nil, false, nil
	}
	query, args := `SELECT term, doc FROM items_search_terms WHERE term >= ?`, []any{prefix}
	if after, ok := termsAfter(prefix); ok { // else all 0xFF (DEL characters): no bound
		query += ` AND term < ?`
		args = append(args, after)
	}
	rows, err := db.r.QueryContext(ctx, query, args...)
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

// ftsString quotes s as an FTS5 string; an encoded term is one token.
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

// indexBatch is how many queued items one indexing transaction takes (a
// variable for tests). Each transaction's terms become one new FTS5
// segment (the hash FTS5 gathers them in is sized for it: migration 0009),
// and FTS5 merges segments as they accumulate: the fewer and larger they
// are, the fewer times each item's terms are merged again (25,000 items
// in batches of 500 were merged about three times over, 36 % of the
// indexing). The text is extracted and its terms computed before the
// transaction, so the writer is held for FTS5's own work only.
var indexBatch = 2000

// indexItems queues the given items for the search index, in the poll's
// transaction (so that a crash loses no item's indexing). Indexing costs
// several times what saving an item does: it is done after the poll, in
// the background (RunIndexer, IndexAll).
func (db *DB) indexItems(ctx context.Context, tx *sql.Tx, ids []int64) error {
	if !indexSearch {
		return nil
	}
	for len(ids) > 0 {
		n := min(len(ids), 500)
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

// searchBatch is queued items read for indexing: their text and terms as
// the index holds them, computed outside the writer.
type searchBatch struct {
	docs []indexRow
	gone []int64 // queued ids whose item no longer exists
	last int64   // the highest queued id read
	full bool    // as many as asked for: more may be queued
}

// indexRow is one item's row of items_search and the version of the item
// it was read from.
type indexRow struct {
	id, updated        int64
	terms, title, body string
}

// newIndexRow is the row of items_search for an item: its title and the
// plain text of its content, else of its summary, for LIKE, and the
// distinct terms of the two (searchterms.go), the one column indexed. ts
// is reused from item to item.
func newIndexRow(ts *termSet, id, updated int64, title, content, summary string) indexRow {
	if content == "" {
		content = summary
	}
	body := htmltext.Plain(content)
	return indexRow{id: id, updated: updated, terms: ts.terms(title, body), title: title, body: body}
}

// readQueued reads up to n queued items of ids above after, through the
// readers (not the writer, which may be indexing the previous batch
// meanwhile), and extracts their text.
func (db *DB) readQueued(ctx context.Context, after int64, n int) (searchBatch, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT q.id, i.updated, i.title, i.content, i.summary
		FROM search_queue q LEFT JOIN items i ON i.id = q.id
		WHERE q.id > ? ORDER BY q.id LIMIT ?`, after, n)
	if err != nil {
		return searchBatch{}, fmt.Errorf("read the queue: %w", err)
	}
	defer rows.Close()
	type raw struct {
		id, updated             int64
		title, content, summary string
	}
	var (
		b    searchBatch
		read []raw
	)
	for rows.Next() {
		var (
			id                      int64
			updated                 sql.NullInt64
			title, content, summary sql.NullString
		)
		if err := rows.Scan(&id, &updated, &title, &content, &summary); err != nil {
			return searchBatch{}, fmt.Errorf("read the queue: %w", err)
		}
		b.last = id
		if !updated.Valid {
			b.gone = append(b.gone, id)
			continue
		}
		read = append(read, raw{id, updated.Int64, title.String, content.String, summary.String})
	}
	if err := rows.Err(); err != nil {
		return searchBatch{}, fmt.Errorf("read the queue: %w", err)
	}
	rows.Close() // the snapshot is not needed while the text is extracted
	b.full = len(read)+len(b.gone) == n
	b.docs = make([]indexRow, len(read))
	var ts termSet
	for i, r := range read {
		b.docs[i] = newIndexRow(&ts, r.id, r.updated, r.title, r.content, r.summary)
	}
	return b, nil
}

// writeQueued indexes a batch read by readQueued in one transaction and
// takes its items from the queue; it returns how many it took. An item
// changed since it was read (its updated moves with every change of its
// text) is read again here, as is one created since under an id read
// without an item; one deleted since is left out (its queue row left with
// it).
func (db *DB) writeQueued(ctx context.Context, b searchBatch) (int, error) {
	if len(b.docs)+len(b.gone) == 0 {
		return 0, nil
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	ids := make([]any, 0, len(b.docs)+len(b.gone))
	for _, d := range b.docs {
		ids = append(ids, d.id)
	}
	for _, id := range b.gone {
		ids = append(ids, id)
	}
	docs, err := current(ctx, tx, b, ids)
	if err != nil {
		return 0, err
	}
	// Rows of changed items go first (FTS5 marks them deleted in the
	// segments that hold them: contentless_delete). An item above every
	// indexed one has no row: a batch of new items (a cold poll's) has
	// nothing to delete.
	var top sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT rowid FROM items_search ORDER BY rowid DESC LIMIT 1`).Scan(&top); err != nil && err != sql.ErrNoRows {
		return 0, fmt.Errorf("highest indexed item: %w", err)
	}
	var old []any
	for _, d := range docs {
		if top.Valid && d.id <= top.Int64 {
			old = append(old, d.id)
		}
	}
	if err := execIn(ctx, tx, `DELETE FROM items_search WHERE rowid IN (%s)`, old); err != nil {
		return 0, fmt.Errorf("remove the old text: %w", err)
	}
	// One statement: FTS5 writes the terms it gathered as a segment at the
	// end of each statement (at its savepoint), not of the transaction.
	if len(docs) > 0 {
		args := make([]any, 0, 4*len(docs))
		for _, d := range docs {
			args = append(args, d.id, d.terms, d.title, d.body)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO items_search (rowid, terms, title, body) VALUES (?, ?, ?, ?)`+
			strings.Repeat(", (?, ?, ?, ?)", len(docs)-1), args...); err != nil {
			return 0, fmt.Errorf("index %d items: %w", len(docs), err)
		}
	}
	if err := execIn(ctx, tx, `DELETE FROM search_queue WHERE id IN (%s)`, ids); err != nil {
		return 0, fmt.Errorf("take %d items from the queue: %w", len(ids), err)
	}
	return len(ids), tx.Commit()
}

// current returns the rows to write for batch b as its items are now:
// those changed since they were read (or created, for an id read without
// an item) are read again, those deleted are left out. ids are the ids of
// b.docs and b.gone.
func current(ctx context.Context, tx *sql.Tx, b searchBatch, ids []any) ([]indexRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, updated FROM items WHERE id IN (?`+strings.Repeat(",?", len(ids)-1)+`)`, ids...)
	if err != nil {
		return nil, fmt.Errorf("check the batch: %w", err)
	}
	now := make(map[int64]int64, len(ids))
	for rows.Next() {
		var id, updated int64
		if err := rows.Scan(&id, &updated); err != nil {
			rows.Close()
			return nil, fmt.Errorf("check the batch: %w", err)
		}
		now[id] = updated
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("check the batch: %w", err)
	}
	var ts termSet
	reread := func(id int64) (indexRow, error) {
		var (
			updated                 int64
			title, content, summary string
		)
		if err := tx.QueryRowContext(ctx, `SELECT updated, title, content, summary FROM items WHERE id = ?`, id).
			Scan(&updated, &title, &content, &summary); err != nil {
			return indexRow{}, fmt.Errorf("read item %d again: %w", id, err)
		}
		return newIndexRow(&ts, id, updated, title, content, summary), nil
	}
	out := make([]indexRow, 0, len(b.docs))
	for _, d := range b.docs {
		updated, ok := now[d.id]
		if !ok {
			continue // deleted
		}
		if updated != d.updated {
			if d, err = reread(d.id); err != nil {
				return nil, err
			}
		}
		out = append(out, d)
	}
	for _, id := range b.gone {
		if _, ok := now[id]; ok {
			d, err := reread(id)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
	}
	return out, nil
}

// execIn runs query with its %s replaced by one parameter per arg, in
// statements of at most 500 of them; nothing when args is empty.
func execIn(ctx context.Context, tx *sql.Tx, query string, args []any) error {
	for len(args) > 0 {
		n := min(len(args), 500)
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(query, "?"+strings.Repeat(",?", n-1)), args[:n]...); err != nil {
			return err
		}
		args = args[n:]
	}
	return nil
}

// IndexQueued indexes up to indexBatch queued items in one transaction and
// returns how many it took from the queue: it replaces their rows of
// items_search with their current terms, title and plain text.
func (db *DB) IndexQueued(ctx context.Context) (int, error) {
	if db.pg {
		return pgIndexQueued(ctx, db.w)
	}
	b, err := db.readQueued(ctx, 0, indexBatch)
	if err != nil {
		return 0, fmt.Errorf("index for search: %w", err)
	}
	n, err := db.writeQueued(ctx, b)
	if err != nil {
		return 0, fmt.Errorf("index for search: %w", err)
	}
	return n, nil
}

// IndexAll indexes every queued item, batch by batch, in queue order: each
// batch is read and its text extracted while the writer indexes the one
// before (on another core, when there is one). An item queued again while
// this runs, below the batches already read, waits for the next call
// (RunIndexer's, which each Save that queues items wakes).
func (db *DB) IndexAll(ctx context.Context) (int, error) {
	if db.pg {
		return pgIndexAll(ctx, db.w)
	}
	type read struct {
		b   searchBatch
		err error
	}
	next := make(chan read, 1)
	readAfter := func(after int64) {
		go func() {
			b, err := db.readQueued(ctx, after, indexBatch)
			next <- read{b, err}
		}()
	}
	readAfter(0)
	total := 0
	for {
		r := <-next
		if r.err != nil {
			return total, fmt.Errorf("index for search: %w", r.err)
		}
		if r.b.full {
			readAfter(r.b.last)
		}
		n, err := db.writeQueued(ctx, r.b)
		total += n
		if err != nil {
			if r.b.full {
				<-next
			}
			return total, fmt.Errorf("index for search: %w", err)
		}
		if !r.b.full {
			return total, nil
		}
	}
}

// RunIndexer indexes queued items in the background until ctx ends: soon
// after each poll that stored something, and every minute in case another
// process (a cron `feedrelay poll`) queued some. New items are found by
// Search once indexed, normally within a second.
//
// Once nothing has been queued for mergeQuiet, it merges the index's
// segments (MergeSearch), step by step, until nothing is left to merge or
// more items are queued: merging while polls keep coming (serve's first
// round of 10,000 sources) held the writer they wait for. Where items keep
// coming for longer than mergeEvery since the index was last merged, it
// merges after indexing anyway, step by step (a poll waits for one step at
// most), so that searches do not stay at up to 15 segments a level.
func (db *DB) RunIndexer(ctx context.Context, onError func(error)) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	quiet := time.NewTimer(mergeQuiet)
	defer quiet.Stop()
	merged := time.Now() // when the index was last merged to the end
	merge := func(stop func() bool) {
		done, err := db.MergeSearch(ctx, stop)
		if err != nil && ctx.Err() == nil && onError != nil {
			onError(fmt.Errorf("search index: %w", err))
		}
		if done {
			merged = time.Now()
		}
	}
	for {
		if _, err := db.IndexAll(ctx); err != nil && ctx.Err() == nil && onError != nil {
			onError(fmt.Errorf("search index: %w", err))
		}
		if time.Since(merged) > mergeEvery {
			merge(func() bool { return false })
		}
		quiet.Reset(mergeQuiet)
	idle:
		for {
			select {
			case <-ctx.Done():
				return
			case <-db.queued:
				break idle
			case <-t.C:
				break idle
			case <-quiet.C:
				// Merged, or stopped for items queued: wait again either way.
				merge(func() bool { return len(db.queued) > 0 })
			}
		}
	}
}

// mergeQuiet is how long nothing must have been queued before RunIndexer
// merges the index's segments, and mergeEvery how long it lets them wait
// at most while items keep coming (variables for tests).
var (
	mergeQuiet = 5 * time.Second
	mergeEvery = 10 * time.Minute
)

// mergePages is how many pages of merged segments one step of MergeSearch
// writes (FTS5's 'merge' command): a short hold of the writer (a variable
// for tests).
var mergePages = 128

// MergeSearch merges the search index's segments, one short transaction
// at a time, until no level holds four or more (FTS5's usermerge; a
// segment holding deleted items' marks is rewritten too) or stop returns
// true; done is whether it got to the end. Indexing merges only 16
// segments at a time (automerge, migration 0010), which makes indexing
// cheaper but leaves searches up to 15 segments a level to read; merging
// them while nothing else is to be indexed brings searches back to what
// merging 4 at a time gave. Nothing is found or lost by it: merging
// rewrites segments, not what they hold.
func (db *DB) MergeSearch(ctx context.Context, stop func() bool) (done bool, err error) {
	if db.pg {
		return true, nil
	}
	for ctx.Err() == nil && !stop() {
		merged, err := db.mergeStep(ctx)
		if err != nil {
			return false, fmt.Errorf("merge the index's segments: %w", err)
		}
		if !merged {
			return true, nil
		}
	}
	return false, ctx.Err()
}

// mergeStep does one step of MergeSearch and reports whether it merged
// anything: FTS5 says so only through the changes it counts (two or more,
// sqlite3_total_changes, when it did work).
func (db *DB) mergeStep(ctx context.Context) (bool, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var before, after int64
	if err := tx.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&before); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO items_search (items_search, rank) VALUES ('merge', ?)`, mergePages); err != nil {
		return false, err
	}
	if err := tx.QueryRowContext(ctx, `SELECT total_changes()`).Scan(&after); err != nil {
		return false, err
	}
	return after-before >= 2, tx.Commit()
}
