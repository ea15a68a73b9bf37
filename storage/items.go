package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// The reads of each poll, before its fetch and after a 304.
var (
	qValidators = readerQuery(`SELECT etag, last_modified FROM sources WHERE slug = ?`)
	// The URL too: a 304 of a URL the slug no longer has (a poll that
	// outlived a reload) is not that row's, and goes the way saveTx finds.
	qUnchanged = readerQuery(`SELECT COUNT(*) FROM sources WHERE slug = ? AND (url = ? OR ? = '' OR url = '')
			AND failures = 0 AND last_error = '' AND etag = ? AND last_modified = ?`)
)

// Validators returns the ETag and Last-Modified saved with the source's
// items, for the next conditional GET.
func (db *DB) Validators(ctx context.Context, source string) (etag, lastModified string, err error) {
	err = db.readRow(ctx, qValidators, source).Scan(&etag, &lastModified)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("read the validators of %s: %w", source, err)
	}
	return etag, lastModified, nil
}

// Save records the outcome of a poll, r, which it does not modify. For a
// parsed feed, its items and the response's validators are written in one
// transaction: either both are saved or neither, so a crash never leaves a
// validator that would hide items we do not have. Unchanged items (same
// content hash) are not written. A 304 from a healthy source only
// queues its poll history row (polls.go).
// Items are stored as feeds decided them (identity, entry id, story keys),
// with the hashes of their story keys that copies are looked up by.
func (db *DB) Save(ctx context.Context, r *feeds.Result) (feeds.Saved, error) {
	// A leased poll always writes: its lease ends with its next poll.
	if r.NotModified && r.Err == nil && len(r.Retried) == 0 && (r.Lease == nil || !db.pg) {
		// Checked on a reader first: waiting for the writer (busy with
		// another source's big batch) would stall this source's poll.
		var n int
		err := db.readRow(ctx, qUnchanged, r.Source, r.URL, r.URL, r.ETag, r.LastModified).Scan(&n)
		if err != nil {
			return feeds.Saved{}, fmt.Errorf("save %s: read its validators: %w", r.Source, err)
		}
		if n == 1 {
			return feeds.Saved{}, db.recordNotModified(ctx, r)
		}
	}
	saved, published, err := db.save(ctx, r)
	if err != nil {
		return feeds.Saved{}, fmt.Errorf("save %s: %w", r.Source, err)
	}
	if published {
		db.changed()
		select {
		case db.queued <- struct{}{}:
		default: // the indexer is already awake
		}
	}
	return saved, nil
}

// save is Save's transaction; published says whether what we publish
// changed.
func (db *DB) save(ctx context.Context, r *feeds.Result) (saved feeds.Saved, published bool, err error) {
	if !db.pg {
		return db.saveGrouped(ctx, r)
	}
	// PostgreSQL takes several writers at once: a transaction per poll.
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return saved, false, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if saved, published, err = db.saveTx(ctx, tx, r); err != nil {
		return feeds.Saved{}, false, err
	}
	if published {
		if err := db.bumpPublished(ctx, tx); err != nil {
			return feeds.Saved{}, false, err
		}
	}
	if err := tx.Commit(); err != nil {
		return feeds.Saved{}, false, fmt.Errorf("commit: %w", err)
	}
	return saved, published, nil
}

// The statements of saveTx and saveItems, which SQLite's writer keeps
// prepared (writerQuery).
var (
	// resultSource's: the slug's row, and the URL's when the slug is
	// another feed's now (only a poll that outlived a reload needs it).
	qSaveSource = writerQuery(`SELECT id, url, failures, feed_id, feed_title, site_url, language,
		feed_updated, changed FROM sources WHERE slug = ?`)
	qSaveSourceByURL = `SELECT id, url, failures, feed_id, feed_title, site_url, language,
		feed_updated, changed FROM sources WHERE url = ? ORDER BY last_success DESC, id LIMIT 1`
	qSaveFailure = writerQuery(`UPDATE sources SET last_attempt = ?, last_status = ?,
		last_error = ?, failures = failures + 1 WHERE id = ?`)
	qSaveRecovery = writerQuery(`UPDATE sources SET etag = ?, last_modified = ?, last_attempt = ?,
		last_success = ?, last_status = ?, last_error = '', failures = 0 WHERE id = ?`)
	qSaveFeed = writerQuery(`UPDATE sources SET feed_id = ?, feed_title = ?, site_url = ?,
		language = ?, feed_updated = ?, changed = ?, etag = ?, last_modified = ?, last_attempt = ?,
		last_success = ?, last_status = ?, last_error = '', failures = 0 WHERE id = ?`)
	// This lookup uses the UNIQUE (source_id, identity) index.
	qItemLookup = writerQuery(`SELECT id, content_hash, published, updated, title, link
		FROM items WHERE source_id = ? AND identity = ?`)
	// On SQLite the new id is the connection's last insert rowid: RETURNING
	// would make the INSERT a multi-row write that may abort (it runs as a
	// trigger), which SQLite journals page by page in a statement journal.
	// PostgreSQL appends RETURNING id (insertItem).
	qItemInsert = writerQuery(`INSERT INTO items (source_id, identity, entry_id, link, title,
		author, content, summary, categories, published, updated, first_seen, changed, content_hash,
		url_key, title_key, origin, url_hash, title_hash, enclosures)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	qItemUpdate = writerQuery(`UPDATE items SET link = ?, title = ?, author = ?, content = ?,
		summary = ?, categories = ?, published = ?, updated = ?, changed = ?, content_hash = ?,
		url_key = ?, title_key = ?, origin = ?, url_hash = ?, title_hash = ?, enclosures = ? WHERE id = ?`)
	qAnyPruned = writerQuery(`SELECT EXISTS (SELECT 1 FROM pruned WHERE source_id = ?)`)
	qAnyStored = writerQuery(`SELECT EXISTS (SELECT 1 FROM items WHERE source_id = ?)`)
)

// resultRow is what saveTx reads of the source a poll's result is of.
type resultRow struct {
	id                           int64
	url                          string
	failures                     int
	feedID, title, siteURL, lang string
	feedUpdated, changed         int64
}

// resultSource finds, in tx, the stored source r is a poll of: the row of
// r.Source when its URL is the one polled (or either is unknown, "": a
// result or a source recorded without one, by a tool or a test); else the row
// of the URL polled, which a reload gave another slug while the poll was
// in flight (a rename, a swap, an archive). ok is false when no stored
// source has the URL any more (the source moved to another while the poll
// was in flight): the result is stale, and must not be saved anywhere —
// under its slug it would publish one feed's items under another's name,
// and send one URL's validators to another.
func (db *DB) resultSource(ctx context.Context, tx *sql.Tx, r *feeds.Result) (row resultRow, ok bool, err error) {
	scan := func(s interface{ Scan(...any) error }) error {
		return s.Scan(&row.id, &row.url, &row.failures, &row.feedID, &row.title, &row.siteURL, &row.lang,
			&row.feedUpdated, &row.changed)
	}
	err = scan(db.txQueryRow(ctx, tx, qSaveSource, r.Source))
	if err == nil && (row.url == r.URL || r.URL == "" || row.url == "") {
		return row, true, nil
	}
	slugKnown := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return row, false, fmt.Errorf("read source %s: %w", r.Source, err)
	}
	if r.URL != "" {
		err = scan(tx.QueryRowContext(ctx, db.q(qSaveSourceByURL), r.URL))
	}
	if errors.Is(err, sql.ErrNoRows) && slugKnown {
		return row, false, nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		// Never synced (rows are kept when unconfigured): a caller's bug.
		return row, false, fmt.Errorf("unknown source %q (%s)", r.Source, r.URL)
	}
	if err != nil {
		return row, false, fmt.Errorf("read the source of %s: %w", r.URL, err)
	}
	return row, true, nil
}

// saveTx writes what save does in tx, which its caller commits, after
// counting the published change when published. A stale result (see
// resultSource) writes nothing.
func (db *DB) saveTx(ctx context.Context, tx *sql.Tx, r *feeds.Result) (saved feeds.Saved, published bool, err error) {
	row, ok, err := db.resultSource(ctx, tx, r)
	if err != nil || !ok {
		return saved, false, err
	}
	srcID, failures, feedID, title, siteURL, lang, feedUpdated, changed :=
		row.id, row.failures, row.feedID, row.title, row.siteURL, row.lang, row.feedUpdated, row.changed
	attempted := r.Attempted.Unix()

	switch {
	case r.Err != nil:
		saved.Failures = failures + 1
		_, err = db.txExec(ctx, tx, qSaveFailure, attempted, r.StatusCode, textOf(r.Err.Error()), srcID)
	case r.NotModified:
		// Not healthy before, or new validators: record the recovery.
		_, err = db.txExec(ctx, tx, qSaveRecovery, r.ETag, r.LastModified, attempted, attempted, r.StatusCode, srcID)
	default:
		f := r.Feed
		saved.Counts, err = db.saveItems(ctx, tx, srcID, f.Items)
		if err != nil {
			return feeds.Saved{}, false, err
		}
		oldUpdated := feedUpdated
		switch {
		case !f.Updated.IsZero():
			feedUpdated = f.Updated.Unix()
		case saved.New+saved.Updated > 0 || feedUpdated == 0:
			// The feed does not date itself: its content changed now.
			feedUpdated = db.Now().Unix()
		}
		// What every entry of the source says of its feed (<source>):
		// when it changes, so do the bytes of every page showing one.
		feedChanged := feedUpdated != oldUpdated || f.ID != feedID || f.Title != title ||
			f.SiteURL != siteURL || f.Language != lang
		if feedChanged {
			changed = db.Now().Unix()
		}
		_, err = db.txExec(ctx, tx, qSaveFeed, f.ID, f.Title, f.SiteURL, f.Language, feedUpdated, changed,
			r.ETag, r.LastModified, attempted, attempted, r.StatusCode, srcID)
		published = saved.New+saved.Updated > 0 || feedChanged
	}
	if err != nil {
		return feeds.Saved{}, false, fmt.Errorf("update source: %w", err)
	}
	if r.Err == nil && len(r.Retried) > 0 {
		ids, err := db.saveRetried(ctx, tx, srcID, r.Retried)
		if err == nil {
			err = db.indexItems(ctx, tx, ids)
		}
		if err != nil {
			return feeds.Saved{}, false, err
		}
		published = published || len(ids) > 0
	}
	if err := db.recordPoll(ctx, tx, srcID, r, saved.Counts); err != nil {
		return feeds.Saved{}, false, err
	}
	if r.Lease != nil && db.pg {
		next := r.Lease(saved.Failures)
		held, err := releaseLease(ctx, tx, db.owner, srcID, time.Until(next))
		if err != nil {
			return feeds.Saved{}, false, err
		}
		if !held {
			// It expired and another instance claimed the source: that
			// one's poll is the source's now.
			return feeds.Saved{}, false, ErrLeaseLost
		}
		saved.NextPoll = next
	}
	return saved, published, nil
}

func (db *DB) saveItems(ctx context.Context, tx *sql.Tx, srcID int64, items []feeds.Item) (feeds.Counts, error) {
	var counts feeds.Counts
	sel, err := db.txPrepare(ctx, tx, qItemLookup)
	if err != nil {
		return counts, fmt.Errorf("prepare item lookup: %w", err)
	}
	defer sel.Close()
	insert := qItemInsert
	if db.pg {
		insert += ` RETURNING id`
	}
	ins, err := db.txPrepare(ctx, tx, insert)
	if err != nil {
		return counts, fmt.Errorf("prepare item insert: %w", err)
	}
	defer ins.Close()
	upd, err := db.txPrepare(ctx, tx, qItemUpdate)
	if err != nil {
		return counts, fmt.Errorf("prepare item update: %w", err)
	}
	defer upd.Close()

	now := db.Now().Unix()
	// Most sources have had nothing pruned: then no per-item lookup.
	var anyPruned bool
	if err := db.txQueryRow(ctx, tx, qAnyPruned, srcID).Scan(&anyPruned); err != nil {
		return counts, fmt.Errorf("look for pruned items: %w", err)
	}
	// A source with no items yet (its first poll: all of a cold poll) has
	// no row to look up but those this poll inserts, which the finder
	// holds: no per-item lookup either.
	var anyStored bool
	if err := db.txQueryRow(ctx, tx, qAnyStored, srcID).Scan(&anyStored); err != nil {
		return counts, fmt.Errorf("look for stored items: %w", err)
	}
	rows := &finder{sel: sel, srcID: srcID, none: !anyStored, rows: map[string]*storedItem{}, taken: map[int64]bool{}}
	var changed []int64 // inserted or updated: (re)indexed for search below
	for i := range items {
		it := &items[i]
		row, err := rows.find(ctx, it)
		if err != nil {
			return counts, err
		}
		if row == nil && anyPruned {
			pruned, err := db.wasPruned(ctx, tx, srcID, prunedKeys(it))
			if err != nil {
				return counts, fmt.Errorf("item %q: %w", it.Identity, err)
			}
			if pruned {
				// Pruned by retention: not new again while the source lists it.
				counts.Unchanged++
				continue
			}
		}
		if row == nil {
			if it.EntryID == "" {
				return counts, fmt.Errorf("item %q has no entry id (feeds.Source.Identify decides it)", it.Identity)
			}
			pub := unixOr(it.Published, now) // undated: first seen, once
			urlHash, titleHash := storyHashes(it.URLKey, it.TitleKey)
			id, err := insertItem(ctx, db.pg, ins, srcID, it.Identity, it.EntryID, it.Link,
				it.Title, it.Author, it.Content, it.Summary, categoriesJSON(it.Categories),
				pub, unixOr(it.Updated, pub), now, now, it.Hash, it.URLKey, it.TitleKey, it.Origin,
				urlHash, titleHash, enclosuresJSON(it.Enclosures))
			if err != nil {
				return counts, fmt.Errorf("insert item %q: %w", it.Identity, err)
			}
			rows.stored(it.Identity, &storedItem{id: id, identity: it.Identity})
			if it.ArticleURL != "" {
				if err := db.saveArticle(ctx, tx, srcID, id, it.ArticleURL, it.Article); err != nil {
					return counts, err
				}
			}
			changed = append(changed, id)
			counts.New++
			continue
		}
		if err := rows.adopt(ctx, db, tx, row, it.Identity); err != nil {
			return counts, fmt.Errorf("item %q: %w", it.Identity, err)
		}
		if row.hash == it.Hash {
			counts.Unchanged++
			continue
		}
		// Changed in place: the id stays, updated moves to the source's
		// new date (its updated, else a published it changed: RSS has
		// only that one), and must move forward even when the source did
		// not touch its own date.
		newUpdated := unixOr(it.Updated, 0)
		if pub := unixOr(it.Published, 0); newUpdated == 0 && pub != 0 && pub != row.published {
			newUpdated = pub
		}
		if newUpdated <= row.updated {
			newUpdated = max(now, row.updated+1)
		}
		urlHash, titleHash := storyHashes(it.URLKey, it.TitleKey)
		_, err = upd.ExecContext(ctx, it.Link, it.Title, it.Author, it.Content, it.Summary,
			categoriesJSON(it.Categories), unixOr(it.Published, row.published), newUpdated, now, it.Hash,
			it.URLKey, it.TitleKey, it.Origin, urlHash, titleHash, enclosuresJSON(it.Enclosures), row.id)
		if err != nil {
			return counts, fmt.Errorf("update item %q: %w", it.Identity, err)
		}
		// Changed: its full text is fetched again (this poll's fetch, or
		// pending for the next).
		if it.ArticleURL != "" {
			if err := db.saveArticle(ctx, tx, srcID, row.id, it.ArticleURL, it.Article); err != nil {
				return counts, err
			}
		}
		changed = append(changed, row.id)
		counts.Updated++
	}
	if err := db.indexItems(ctx, tx, changed); err != nil {
		return counts, fmt.Errorf("index items for search: %w", err)
	}
	return counts, nil
}

// insertItem runs ins, saveItems' INSERT, and returns the new row's id:
// RETURNING's on PostgreSQL, the last insert rowid on SQLite.
func insertItem(ctx context.Context, pg bool, ins *sql.Stmt, args ...any) (int64, error) {
	if pg {
		var id int64
		err := ins.QueryRowContext(ctx, args...).Scan(&id)
		return id, err
	}
	res, err := ins.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// textOf is s as both backends store text: valid UTF-8, no NUL (which
// PostgreSQL refuses; an error message may quote a body's bytes).
func textOf(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

func unixOr(t time.Time, def int64) int64 {
	if t.IsZero() {
		return def
	}
	return t.Unix()
}

func categoriesJSON(c []string) string {
	if len(c) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(c)
	return string(b)
}

// storedEnclosure is how an enclosure is stored: feeds.Enclosure with
// short keys, its unknown length and type left out.
type storedEnclosure struct {
	URL    string `json:"url"`
	Length int64  `json:"length,omitempty"`
	Type   string `json:"type,omitempty"`
}

// enclosuresJSON is the enclosures column of es: a JSON array, or "" for
// none (most items: no bytes spent on them).
func enclosuresJSON(es []feeds.Enclosure) string {
	if len(es) == 0 {
		return ""
	}
	stored := make([]storedEnclosure, len(es))
	for i, e := range es {
		stored[i] = storedEnclosure(e)
	}
	b, _ := json.Marshal(stored)
	return textOf(string(b))
}

// enclosuresOf reads an enclosures column; nil for none.
func enclosuresOf(col string) ([]feeds.Enclosure, error) {
	if col == "" {
		return nil, nil
	}
	var stored []storedEnclosure
	if err := json.Unmarshal([]byte(col), &stored); err != nil {
		return nil, err
	}
	es := make([]feeds.Enclosure, len(stored))
	for i, e := range stored {
		es[i] = feeds.Enclosure(e)
	}
	return es, nil
}

// storedItem is what saveItems needs of a stored item.
type storedItem struct {
	id                 int64
	identity           string // as stored
	hash               string
	published, updated int64
	title, link        string
}

// finder finds the stored rows of one poll's items, within its transaction.
type finder struct {
	sel   *sql.Stmt
	srcID int64
	// none says the source had no items when the poll began: only rows
	// has any.
	none bool
	// rows are the rows looked up so far, by identity; nil: none stored.
	rows map[string]*storedItem
	// taken are the rows an earlier item of this poll is: no row is two
	// items.
	taken map[int64]bool
}

// find returns the stored row that is it, or nil: the first row of its
// Lookup (feeds decided where to look) that fits its Key's Match and is not
// another item's already.
func (f *finder) find(ctx context.Context, it *feeds.Item) (*storedItem, error) {
	keys := it.Lookup
	if len(keys) == 0 {
		keys = []feeds.Key{{Identity: it.Identity, Match: feeds.MatchAny}}
	}
	for _, k := range keys {
		row, err := f.get(ctx, k.Identity)
		if err != nil {
			return nil, fmt.Errorf("find item %q: %w", it.Identity, err)
		}
		if row == nil || f.taken[row.id] {
			continue
		}
		switch k.Match {
		case feeds.MatchAny:
		case feeds.MatchLink:
			if row.link != it.Link {
				continue
			}
		case feeds.MatchPost:
			if row.link != it.Link || row.title != it.Title {
				continue
			}
		default:
			return nil, fmt.Errorf("find item %q: unknown match %d", it.Identity, k.Match)
		}
		return row, nil
	}
	return nil, nil
}

func (f *finder) get(ctx context.Context, identity string) (*storedItem, error) {
	if row, ok := f.rows[identity]; ok {
		return row, nil
	}
	if f.none {
		return nil, nil
	}
	s := &storedItem{identity: identity}
	err := f.sel.QueryRowContext(ctx, f.srcID, identity).Scan(&s.id, &s.hash, &s.published, &s.updated, &s.title, &s.link)
	if errors.Is(err, sql.ErrNoRows) {
		s, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	f.rows[identity] = s
	return s, nil
}

// stored records a row that is now an item's.
func (f *finder) stored(identity string, row *storedItem) {
	f.rows[identity] = row
	f.taken[row.id] = true
}

// adopt makes row the item with identity: when it was found under another
// form and no row holds identity, it moves to identity, so that the next
// poll finds it at once. Its id and entry id stay.
func (f *finder) adopt(ctx context.Context, db *DB, tx *sql.Tx, row *storedItem, identity string) error {
	f.taken[row.id] = true
	if row.identity == identity {
		return nil
	}
	if other, err := f.get(ctx, identity); err != nil || other != nil {
		if err != nil {
			return fmt.Errorf("look up identity %q: %w", identity, err)
		}
		return nil
	}
	if _, err := tx.ExecContext(ctx, db.q(`UPDATE items SET identity = ? WHERE id = ?`), identity, row.id); err != nil {
		return fmt.Errorf("move item %d from identity %q: %w", row.id, row.identity, err)
	}
	f.rows[row.identity] = nil
	row.identity = identity
	f.stored(identity, row)
	return nil
}

// prunedKeys are the identities under which retention may have pruned it:
// those whose row would be its row whatever it held.
func prunedKeys(it *feeds.Item) []string {
	if len(it.Lookup) == 0 {
		return []string{it.Identity}
	}
	var ids []string
	for _, k := range it.Lookup {
		if k.Match == feeds.MatchAny {
			ids = append(ids, k.Identity)
		}
	}
	return ids
}
