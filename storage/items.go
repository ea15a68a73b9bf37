package storage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// SourceInfo is what the config says of a source.
type SourceInfo struct {
	Slug, Name, URL string
}

// SyncSources records the configured sources, adding new ones and updating
// names and URLs of known ones. Sources no longer configured are kept.
func (db *DB) SyncSources(ctx context.Context, sources []SourceInfo) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sync sources: %w", err)
	}
	defer tx.Rollback()
	for _, s := range sources {
		// A changed URL is another feed: its validators mean nothing there.
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO sources (slug, name, url) VALUES (?, ?, ?)
			ON CONFLICT (slug) DO UPDATE SET
				name = excluded.name,
				url = excluded.url,
				etag = CASE WHEN url = excluded.url THEN etag ELSE '' END,
				last_modified = CASE WHEN url = excluded.url THEN last_modified ELSE '' END`,
			s.Slug, s.Name, s.URL); err != nil {
			return fmt.Errorf("sync source %s: %w", s.Slug, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sync sources: %w", err)
	}
	return nil
}

// Validators returns the ETag and Last-Modified saved with the source's
// items, for the next conditional GET.
func (db *DB) Validators(ctx context.Context, source string) (etag, lastModified string, err error) {
	err = db.r.QueryRowContext(ctx, "SELECT etag, last_modified FROM sources WHERE slug = ?", source).
		Scan(&etag, &lastModified)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	return etag, lastModified, err
}

// Save records the outcome of a poll. For a parsed feed, its items and the
// response's validators are written in one transaction: either both are
// saved or neither, so a crash never leaves a validator that would hide
// items we do not have. Unchanged items (same content hash) are not written.
// A 304 from a healthy source writes nothing.
func (db *DB) Save(ctx context.Context, r *feeds.Result) (feeds.Counts, error) {
	var counts feeds.Counts
	if r.NotModified && r.Err == nil {
		// Checked on a reader first: waiting for the writer (busy with
		// another source's big batch) would stall this source's poll.
		var n int
		err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sources WHERE slug = ? AND failures = 0
			AND last_error = '' AND etag = ? AND last_modified = ?`, r.Source, r.ETag, r.LastModified).Scan(&n)
		if err != nil {
			return counts, err
		}
		if n == 1 {
			return counts, nil
		}
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return counts, err
	}
	defer tx.Rollback()

	var (
		srcID         int64
		etag, lastMod string
		failures      int
		lastErr       string
		feedUpdated   int64
		published     bool // what we publish changed
	)
	err = tx.QueryRowContext(ctx, `SELECT id, etag, last_modified, failures, last_error, feed_updated
		FROM sources WHERE slug = ?`, r.Source).Scan(&srcID, &etag, &lastMod, &failures, &lastErr, &feedUpdated)
	if errors.Is(err, sql.ErrNoRows) {
		return counts, fmt.Errorf("unknown source %q", r.Source)
	}
	if err != nil {
		return counts, err
	}
	attempted := r.Attempted.Unix()

	switch {
	case r.Err != nil:
		r.Failures = failures + 1
		_, err = tx.ExecContext(ctx, `UPDATE sources SET last_attempt = ?, last_status = ?,
			last_error = ?, failures = failures + 1 WHERE id = ?`,
			attempted, r.StatusCode, r.Err.Error(), srcID)
	case r.NotModified:
		// Not healthy before, or new validators: record the recovery.
		_, err = tx.ExecContext(ctx, `UPDATE sources SET etag = ?, last_modified = ?, last_attempt = ?,
			last_success = ?, last_status = ?, last_error = '', failures = 0 WHERE id = ?`,
			r.ETag, r.LastModified, attempted, attempted, r.StatusCode, srcID)
	default:
		counts, err = db.saveItems(ctx, tx, srcID, r)
		if err != nil {
			return feeds.Counts{}, err
		}
		f := r.Feed
		oldUpdated := feedUpdated
		switch {
		case !f.Updated.IsZero():
			feedUpdated = f.Updated.Unix()
		case counts.New+counts.Updated > 0 || feedUpdated == 0:
			// The feed does not date itself: its content changed now.
			feedUpdated = db.Now().Unix()
		}
		_, err = tx.ExecContext(ctx, `UPDATE sources SET feed_id = ?, feed_title = ?, site_url = ?,
			language = ?, feed_updated = ?, etag = ?, last_modified = ?, last_attempt = ?,
			last_success = ?, last_status = ?, last_error = '', failures = 0 WHERE id = ?`,
			f.ID, f.Title, f.SiteURL, f.Language, feedUpdated, r.ETag, r.LastModified,
			attempted, attempted, r.StatusCode, srcID)
		published = counts.New+counts.Updated > 0 || feedUpdated != oldUpdated
	}
	if err != nil {
		return feeds.Counts{}, err
	}
	if err := tx.Commit(); err != nil {
		return feeds.Counts{}, err
	}
	if published {
		db.changed()
		select {
		case db.queued <- struct{}{}:
		default: // the indexer is already awake
		}
	}
	return counts, nil
}

func (db *DB) saveItems(ctx context.Context, tx *sql.Tx, srcID int64, r *feeds.Result) (feeds.Counts, error) {
	var counts feeds.Counts
	// This lookup uses the UNIQUE (source_id, identity) index.
	sel, err := tx.PrepareContext(ctx, `SELECT id, content_hash, published, updated, title, link, url_key, title_key
		FROM items WHERE source_id = ? AND identity = ?`)
	if err != nil {
		return counts, err
	}
	defer sel.Close()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO items (source_id, identity, entry_id, link, title,
		author, content, summary, categories, published, updated, first_seen, content_hash,
		url_key, title_key, origin)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return counts, err
	}
	defer ins.Close()
	upd, err := tx.PrepareContext(ctx, `UPDATE items SET link = ?, title = ?, author = ?, content = ?,
		summary = ?, categories = ?, published = ?, updated = ?, content_hash = ?,
		url_key = ?, title_key = ?, origin = ? WHERE id = ?`)
	if err != nil {
		return counts, err
	}
	defer upd.Close()

	now := db.Now().Unix()
	// Most sources have had nothing pruned: then no per-item lookup.
	var anyPruned bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pruned WHERE source_id = ?)`, srcID).Scan(&anyPruned); err != nil {
		return counts, err
	}
	var changed []int64 // inserted or updated: (re)indexed for search below
	for i := range r.Feed.Items {
		it := &r.Feed.Items[i]
		row, err := findItem(ctx, sel, srcID, it)
		if err == nil && row.hash == it.Hash && row.urlKey == "" && row.titleKey == "" && it.URLKey+it.TitleKey != "" {
			// Stored before items had story keys (migration 0002): add
			// them, so that copies of it are folded from now on.
			if _, err := tx.ExecContext(ctx, `UPDATE items SET url_key = ?, title_key = ?, origin = ? WHERE id = ?`,
				it.URLKey, it.TitleKey, it.Origin, row.id); err != nil {
				return counts, err
			}
		}
		id, hash, published, updated := row.id, row.hash, row.published, row.updated
		switch {
		case errors.Is(err, sql.ErrNoRows) && anyPruned && db.wasPruned(ctx, tx, srcID, it.Identity):
			// Pruned by retention: not new again while the source lists it.
			counts.Unchanged++
		case errors.Is(err, sql.ErrNoRows):
			pub := unixOr(it.Published, now) // undated: first seen, once
			res, err := ins.ExecContext(ctx, srcID, it.Identity, db.entryID(r.Source, it, now), it.Link,
				it.Title, it.Author, it.Content, it.Summary, categoriesJSON(it.Categories),
				pub, unixOr(it.Updated, pub), now, it.Hash, it.URLKey, it.TitleKey, it.Origin)
			if err == nil {
				id, err = res.LastInsertId()
			}
			if err != nil {
				return counts, fmt.Errorf("insert item %q: %w", it.Identity, err)
			}
			changed = append(changed, id)
			counts.New++
		case err != nil:
			return counts, err
		case hash == it.Hash:
			counts.Unchanged++
		default:
			// Changed in place: the id stays, updated must move forward
			// even when the source did not touch its own date.
			newUpdated := unixOr(it.Updated, 0)
			if newUpdated <= updated {
				newUpdated = max(now, updated+1)
			}
			_, err = upd.ExecContext(ctx, it.Link, it.Title, it.Author, it.Content, it.Summary,
				categoriesJSON(it.Categories), unixOr(it.Published, published), newUpdated, it.Hash,
				it.URLKey, it.TitleKey, it.Origin, id)
			if err != nil {
				return counts, fmt.Errorf("update item %q: %w", it.Identity, err)
			}
			changed = append(changed, id)
			counts.Updated++
		}
	}
	if err := db.indexItems(ctx, tx, changed); err != nil {
		return counts, fmt.Errorf("index items for search: %w", err)
	}
	return counts, nil
}

// entryID is the Atom <id> an item is published under, minted once at
// insert: the original id when it is an absolute IRI, else a tag: URI
// (RFC 4151) from our authority, the first-seen date, the source and the
// item's identity.
func (db *DB) entryID(source string, it *feeds.Item, now int64) string {
	if isAbsoluteIRI(it.GUID) {
		return it.GUID
	}
	sum := sha256.Sum256([]byte(it.Identity))
	return fmt.Sprintf("tag:%s,%s:%s/%s", db.TagAuthority,
		time.Unix(now, 0).UTC().Format("2006-01-02"), source, hex.EncodeToString(sum[:12]))
}

func isAbsoluteIRI(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\n<>\"") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return false
	}
	// "http:" alone or "urn:" with nothing after it identifies nothing.
	return u.Opaque != "" || u.Host != "" || u.Path != ""
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

// storedItem is what saveItems needs of a stored item.
type storedItem struct {
	id                 int64
	hash               string
	published, updated int64
	title, link        string
	urlKey, titleKey   string
}

// findItem finds the stored item it is, by identity. A feed that reuses a
// guid for several posts gives each an identity of its own
// (feeds.ReusedGUIDIdentity); a post stored under the plain guid before the
// reuse began, or stored with its own identity while the feed lists it
// alone again, is found under the other form, when title and link agree.
func findItem(ctx context.Context, sel *sql.Stmt, srcID int64, it *feeds.Item) (storedItem, error) {
	find := func(identity string) (storedItem, error) {
		var s storedItem
		err := sel.QueryRowContext(ctx, srcID, identity).Scan(&s.id, &s.hash, &s.published, &s.updated,
			&s.title, &s.link, &s.urlKey, &s.titleKey)
		return s, err
	}
	row, err := find(it.Identity)
	if it.GUID == "" || (err != nil && !errors.Is(err, sql.ErrNoRows)) {
		return row, err
	}
	same := func(s storedItem) bool { return s.title == it.Title && s.link == it.Link }
	reused := feeds.ReusedGUIDIdentity(it.GUID, it.Title, it.Link)
	switch {
	case it.Identity == reused && errors.Is(err, sql.ErrNoRows):
		if plain, err := find(it.GUID); err == nil && same(plain) {
			return plain, nil
		}
	case it.Identity == it.GUID && err == nil && !same(row):
		if own, err := find(reused); err == nil {
			return own, nil
		}
	}
	return row, err
}
