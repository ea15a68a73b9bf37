package storage

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/feedrelay/feedrelay/htmltext"
)

// pgSearch is Search on PostgreSQL (see migration postgres/0003): the
// newest entries of q.Sources whose title or text contains every term of
// q.Text, newest first, as SQLite's Search finds them. A term of one or
// two characters is the condition f.grams @> {term}, exact; a longer one
// f.grams @> {its two-character substrings} AND strpos(f.doc, term) > 0.
//
// The planner chooses, from the statistics of grams' elements, whether to
// gather the matching entries through the GIN index and sort them (a rare
// term), or to walk items_updated newest first checking each (a common
// one, found at once), which SQLite's Search chooses by hand. It must plan
// with the terms themselves, not a generic plan: see openPostgres's
// plan_cache_mode. Known weakness, measured: for a longer term it assumes
// its bigrams independent (净流 and 流入 nearly always come together), so
// a word in a few percent of the items (净流入, 5.5 %) is gathered through
// the index, 95 ms for 100,000 items where walking would take a few; the
// next step is to choose as SQLite's Search does (a bounded walk of the
// newest items first, or the rarest bigram from pg_stats).
func pgSearch(ctx context.Context, db *sql.DB, q SearchQuery) ([]Entry, error) {
	terms := strings.Fields(q.Text)
	if len(terms) == 0 || len(q.Sources) == 0 || q.Limit <= 0 {
		return nil, nil
	}
	var (
		where []string
		args  []any
		seen  = map[string]bool{}
	)
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	for _, t := range terms {
		// doc is lower-cased (pgIndexQueued); so are the terms.
		t = strings.ToLower(t)
		if seen[t] {
			continue
		}
		seen[t] = true
		r := []rune(t)
		if len(r) < 3 {
			where = append(where, "f.grams @> "+arg([]string{t}))
			continue
		}
		var bigrams []string
		for i := 0; i+2 <= len(r); i++ {
			if g := string(r[i : i+2]); !slices.Contains(bigrams, g) {
				bigrams = append(bigrams, g)
			}
		}
		where = append(where, "f.grams @> "+arg(bigrams), "strpos(f.doc, "+arg(t)+") > 0")
	}
	where = append(where, "s.slug = ANY("+arg(q.Sources)+")")
	if q.Before != nil {
		where = append(where, "(i.updated, i.id) < ("+arg(q.Before.Updated.Unix())+", "+arg(q.Before.ID)+")")
	}
	rows, err := db.QueryContext(ctx, `SELECT `+entryColumns+`
		FROM items i JOIN items_search f ON f.id = i.id JOIN sources s ON s.id = i.source_id
		WHERE `+strings.Join(where, " AND ")+`
		ORDER BY i.updated DESC, i.id DESC
		LIMIT `+arg(q.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", q.Text, err)
	}
	defer rows.Close()
	return scanEntries(rows)
}

// searchDoc is what items_search.doc holds for an item: its title, a line
// break (no term spans it: terms hold no white space) and the plain text of
// its content, else of its summary, lower-cased (LIKE and strpos compare
// case; ASCII letters in any case must match, as on SQLite).
func searchDoc(title, content, summary string) string {
	body := content
	if body == "" {
		body = summary
	}
	return strings.ToLower(title + "\n" + htmltext.Plain(body))
}

// searchGrams is what items_search.grams holds for doc: each distinct
// substring of one or two characters of its words (split as the terms are,
// by strings.Fields), so that grams @> {term} holds exactly when doc
// contains the short term.
func searchGrams(doc string) []string {
	seen := map[string]bool{}
	out := []string{}
	add := func(g string) {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	for _, w := range strings.Fields(doc) {
		r := []rune(w)
		for i := range r {
			add(string(r[i]))
			if i+1 < len(r) {
				add(string(r[i : i+2]))
			}
		}
	}
	return out
}

// pgIndexQueued indexes up to indexBatch queued items in one transaction
// and returns how many it took from the queue, as IndexQueued does on
// SQLite; the plain text is extracted here, in Go. Indexers of several
// instances take different batches (SKIP LOCKED).
func pgIndexQueued(ctx context.Context, db *sql.DB) (int, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("index for search: %w", err)
	}
	defer tx.Rollback()
	n, err := pgIndexBatch(ctx, tx)
	if err != nil {
		return 0, fmt.Errorf("index for search: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("index for search: %w", err)
	}
	return n, nil
}

func pgIndexBatch(ctx context.Context, tx *sql.Tx) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT q.id, coalesce(i.title, ''), coalesce(i.content, ''), coalesce(i.summary, '')
		FROM (SELECT id FROM search_queue ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) q
		LEFT JOIN items i ON i.id = q.id`, indexBatch)
	if err != nil {
		return 0, err
	}
	var (
		ids    []int64
		values []string
		args   []any
	)
	for rows.Next() {
		var (
			id                      int64
			title, content, summary string
		)
		if err := rows.Scan(&id, &title, &content, &summary); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
		doc := searchDoc(title, content, summary)
		args = append(args, id, doc, searchGrams(doc))
		values = append(values, fmt.Sprintf("($%d::bigint, $%d, $%d::text[])", len(args)-2, len(args)-1, len(args)))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, nil
	}
	// Items deleted since they were queued took their queue rows with them
	// (cascade); the join above then found none, and the insert skips them.
	if _, err := tx.ExecContext(ctx, `INSERT INTO items_search (id, doc, grams)
		SELECT v.id, v.doc, v.grams FROM (VALUES `+strings.Join(values, ",")+`) v (id, doc, grams)
		JOIN items i ON i.id = v.id
		ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, grams = excluded.grams`, args...); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM search_queue WHERE id = ANY($1)`, ids); err != nil {
		return 0, err
	}
	return len(ids), nil
}

// pgIndexAll indexes every queued item, batch by batch.
func pgIndexAll(ctx context.Context, db *sql.DB) (int, error) {
	total := 0
	for {
		n, err := pgIndexQueued(ctx, db)
		total += n
		if err != nil || n < indexBatch {
			return total, err
		}
	}
}
