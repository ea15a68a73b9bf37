package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/feedrelay/feedrelay/feeds"
)

// SourceFeed is what we know of a source feed, for <source> in the entries
// republished from it and for the health shown on the index.
type SourceFeed struct {
	Slug     string
	Name     string
	URL      string // the URL polled
	FeedID   string
	Title    string
	SiteURL  string
	Language string
	Updated  time.Time // the feed's own updated, else when its content last changed
	// Changed is when what its entries say of it (name, URL, title,
	// site, updated) last changed here, or retention pruned its items;
	// zero for never.
	Changed time.Time
}

// Entry is a stored item with its source, ready to publish.
type Entry struct {
	ID         int64
	EntryID    string
	Link       string
	Title      string
	Author     string
	Content    string
	Summary    string
	Categories []string
	Enclosures []feeds.Enclosure // nil for none
	Published  time.Time
	Updated    time.Time
	FirstSeen  time.Time
	// Changed is when we stored the item or last changed what it shows
	// (an edit, its full text, its story keys), by our clock, whatever
	// dates its source gave: with its Source's Changed, what says that a
	// page showing it changed (the feeds' Last-Modified).
	Changed time.Time
	Source  SourceFeed
	// Keys copies of one story share, and the original publisher.
	URLKey, TitleKey, Origin string
}

// Cursor is a position in the newest-first order of entries: (updated, id).
// Paging by cursor, not offset, keeps pages stable while new items arrive.
type Cursor struct {
	Updated time.Time
	ID      int64
}

// CursorOf is the position of e.
func CursorOf(e *Entry) Cursor { return Cursor{Updated: e.Updated, ID: e.ID} }

// EntryQuery selects entries to publish.
type EntryQuery struct {
	Sources []string // slugs; entries of these sources only
	Limit   int
	// At most one of these: entries older than Before, or the Limit
	// entries just newer than After (for a "previous" page).
	Before, After *Cursor
}

// Entries returns the newest entries of the given sources, newest first
// (by updated, then by insertion), from the position q asks for.
func (db *DB) Entries(ctx context.Context, q EntryQuery) ([]Entry, error) {
	if len(q.Sources) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(q.Sources)+4)
	for _, s := range q.Sources {
		args = append(args, s)
	}
	where, order := "", "DESC"
	switch {
	case q.Before != nil:
		// A row value: SQLite seeks the index to the cursor.
		where = "AND (i.updated, i.id) < (?, ?)"
		args = append(args, q.Before.Updated.Unix(), q.Before.ID)
	case q.After != nil:
		where, order = "AND (i.updated, i.id) > (?, ?)", "ASC"
		args = append(args, q.After.Updated.Unix(), q.After.ID)
	}
	// This query walks items_updated (or items_source_updated for one
	// source) and stops after Limit rows.
	rows, err := db.r.QueryContext(ctx, db.q(`
		SELECT `+entryColumns+`
		FROM items i JOIN sources s ON s.id = i.source_id
		WHERE s.slug IN (?`+strings.Repeat(",?", len(q.Sources)-1)+`) `+where+`
		ORDER BY i.updated `+order+`, i.id `+order+`
		`+limitClause(q.Limit)), args...)
	if err != nil {
		return nil, fmt.Errorf("query entries: %w", err)
	}
	defer rows.Close()
	out, err := scanEntries(rows)
	if err != nil {
		return nil, err
	}
	if q.After != nil {
		slices.Reverse(out)
	}
	return out, nil
}

// limitClause is "LIMIT n", written into a statement rather than bound:
// SQLite compiles a statement a second time once a LIMIT ? is bound (its
// planner reads the value), about 50 µs a query.
func limitClause(n int) string { return "LIMIT " + strconv.Itoa(n) }

// entryColumns are the columns scanEntries reads, from items i joined with
// sources s.
const entryColumns = `i.id, i.entry_id, i.link, i.title, i.author, i.content, i.summary, i.categories,
	i.published, i.updated, i.first_seen, i.changed, i.url_key, i.title_key, i.origin, i.enclosures,
	s.slug, s.name, s.url, s.feed_id, s.feed_title, s.site_url, s.language, s.feed_updated, s.changed`

// scanEntries reads rows of entryColumns.
func scanEntries(rows *sql.Rows) ([]Entry, error) {
	var out []Entry
	for rows.Next() {
		var (
			e                       Entry
			cats, encs              string
			pub, upd, seen, changed int64
			srcUpdated, srcChanged  int64
		)
		if err := rows.Scan(&e.ID, &e.EntryID, &e.Link, &e.Title, &e.Author, &e.Content, &e.Summary,
			&cats, &pub, &upd, &seen, &changed, &e.URLKey, &e.TitleKey, &e.Origin, &encs,
			&e.Source.Slug, &e.Source.Name, &e.Source.URL, &e.Source.FeedID,
			&e.Source.Title, &e.Source.SiteURL, &e.Source.Language, &srcUpdated, &srcChanged); err != nil {
			return nil, fmt.Errorf("scan entry: %w", err)
		}
		if err := json.Unmarshal([]byte(cats), &e.Categories); err != nil {
			return nil, fmt.Errorf("entry %d categories: %w", e.ID, err)
		}
		var err error
		if e.Enclosures, err = enclosuresOf(encs); err != nil {
			return nil, fmt.Errorf("entry %d enclosures: %w", e.ID, err)
		}
		e.Published, e.Updated, e.FirstSeen, e.Changed = unixTime(pub), unixTime(upd), unixTime(seen), unixTime(changed)
		e.Source.Updated, e.Source.Changed = unixTime(srcUpdated), unixTime(srcChanged)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query entries: %w", err)
	}
	return out, nil
}

// SourceState is a source's feed and health.
type SourceState struct {
	SourceFeed
	Items       int
	LastAttempt time.Time
	LastSuccess time.Time
	LastStatus  int
	LastError   string
	Failures    int
	// ArticleErrors is how many of the source's full-text fetches failed
	// in the last ArticleWarningWindow (still to retry, or given up), and
	// ArticleError the latest of their errors: the source works, but some
	// items are shown with their summary only.
	ArticleErrors int
	ArticleError  string
}

// ArticleWarningWindow is how long a failed full-text fetch is reported
// with its source.
const ArticleWarningWindow = 24 * time.Hour

// Sources returns every known source, configured or not, by slug.
func (db *DB) Sources(ctx context.Context) ([]SourceState, error) {
	since := db.Now().Add(-ArticleWarningWindow).Unix() // of the article failures reported
	rows, err := db.r.QueryContext(ctx, db.q(`
		SELECT s.slug, s.name, s.url, s.feed_id, s.feed_title, s.site_url, s.language, s.feed_updated,
		       s.last_attempt, s.last_success, s.last_status, s.last_error, s.failures,
		       (SELECT COUNT(*) FROM items i WHERE i.source_id = s.id),
		       (SELECT COUNT(*) FROM articles a WHERE a.source_id = s.id AND a.last_error != '' AND a.last_attempt >= ?),
		       COALESCE((SELECT a.last_error FROM articles a WHERE a.source_id = s.id AND a.last_error != ''
		                 AND a.last_attempt >= ? ORDER BY a.last_attempt DESC, a.item_id DESC LIMIT 1), '')
		FROM sources s ORDER BY s.slug`), since, since)
	if err != nil {
		return nil, fmt.Errorf("query sources: %w", err)
	}
	defer rows.Close()
	var out []SourceState
	for rows.Next() {
		var (
			s                         SourceState
			updated, attempt, success int64
		)
		if err := rows.Scan(&s.Slug, &s.Name, &s.URL, &s.FeedID, &s.Title, &s.SiteURL, &s.Language,
			&updated, &attempt, &success, &s.LastStatus, &s.LastError, &s.Failures, &s.Items,
			&s.ArticleErrors, &s.ArticleError); err != nil {
			return nil, fmt.Errorf("scan source: %w", err)
		}
		s.Updated, s.LastAttempt, s.LastSuccess = unixTime(updated), unixTime(attempt), unixTime(success)
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query sources: %w", err)
	}
	return out, nil
}

func unixTime(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}
