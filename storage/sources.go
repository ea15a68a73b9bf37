package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SourceInfo is what the config says of a source.
type SourceInfo struct {
	Slug, Name, URL string
}

// SourceChangeKind is what SyncSources did to a stored source besides
// recording its name and URL.
type SourceChangeKind int

const (
	// SourceRenamed: a stored source that is no longer configured under
	// its slug is, by its URL, the configured source of a new slug (the
	// slug set anew, or derived from a renamed name). Its row takes the
	// new slug: its items, entry ids, pruned identities, poll history and
	// health stay its own, and its old slug redirects to the new one
	// (FormerSlug).
	SourceRenamed SourceChangeKind = iota + 1
	// SourceArchived: the config gives a stored source's slug to another
	// feed (a different URL and a different name, and no stored source
	// with that feed's URL to be renamed). The stored source keeps its
	// row and items under an archive slug ("slug~id", which no config can
	// name, so never published), and the configured feed starts afresh
	// under the slug: the old feed's items are never republished under
	// the new feed's name. A later config naming the old feed's URL again,
	// under any slug, renames the archived row back.
	SourceArchived
)

// SourceChange is one stored source given another slug by SyncSources.
type SourceChange struct {
	Kind SourceChangeKind
	// From is the slug the stored source had, To the one it has now.
	From, To string
	// Name and URL are the stored source's (for SourceRenamed, as the
	// config now says; for SourceArchived, the archived feed's).
	Name, URL string
	// By is, for SourceArchived, the configured source now under From.
	By SourceInfo
}

// syncLockKey is the pg_advisory_xact_lock key that serializes
// SyncSources across instances ("feedsync" in ASCII): two instances
// reloading at once each plan from what the other committed, so a rename
// happens once, and the second finds nothing left to do.
const syncLockKey = 0x6665656473796e63

// SyncSources records the configured sources: new ones are added, known
// ones get the config's name and URL (a changed URL resets the
// validators), and sources no longer configured are kept. See
// SyncSourcesReport; SyncSources is it for callers with nothing to
// report what it did to (tests, tools).
func (db *DB) SyncSources(ctx context.Context, sources []SourceInfo) error {
	_, err := db.SyncSourcesReport(ctx, sources)
	return err
}

// SyncSourcesReport records the configured sources, as SyncSources, and
// keeps each source's identity apart from its slug: it returns the stored
// sources it gave another slug (a rename, an archive), in config order.
//
// A stored source is the configured source of the same slug when its URL
// or its name is the config's (a feed that moved keeps its items, and so
// does one renamed in place). Otherwise a configured source takes the
// stored source that has its URL and is not some other configured source's
// by the first rule: renamed, when its slug changed (swapping the slugs of
// two sources is two renames). A configured source left with neither gets
// a new row. A stored source with a configured slug that is no configured
// source by these rules (another URL and name than the slug's, its URL
// no one's) is archived (SourceArchived), so that the new feed is not
// credited with the old one's items. A former slug that a source has again stops
// redirecting.
//
// It is one transaction; on PostgreSQL, syncs of several instances take
// turns (an advisory lock), and on SQLite the writer's immediate
// transactions do. Running it again with the same sources changes nothing.
func (db *DB) SyncSourcesReport(ctx context.Context, sources []SourceInfo) ([]SourceChange, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sync sources: %w", err)
	}
	defer tx.Rollback()
	if db.pg {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(syncLockKey)); err != nil {
			return nil, fmt.Errorf("sync sources: take the sync lock: %w", err)
		}
	}
	stored, err := storedSources(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("sync sources: %w", err)
	}
	plan := planSources(stored, sources)
	now := db.Now().Unix()

	// Slugs are UNIQUE and a swap trades two: every row whose slug changes
	// first leaves it for a placeholder no config can name ("~id").
	moved := map[int]string{} // stored index → its new slug
	for i, j := range plan.rowOf {
		if j >= 0 && stored[j].slug != sources[i].Slug {
			moved[j] = sources[i].Slug
		}
	}
	for _, j := range plan.archived {
		moved[j] = stored[j].slug + "~" + strconv.FormatInt(stored[j].id, 10)
	}
	for j := range moved {
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE sources SET slug = ? WHERE id = ?`),
			"~"+strconv.FormatInt(stored[j].id, 10), stored[j].id); err != nil {
			return nil, fmt.Errorf("sync sources: move %s aside: %w", stored[j].slug, err)
		}
	}
	for j, slug := range moved {
		// Its entries now show another slug's links and <source>: its
		// feeds' Last-Modified moves.
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE sources SET slug = ?, changed = ? WHERE id = ?`),
			slug, now, stored[j].id); err != nil {
			return nil, fmt.Errorf("sync sources: rename %s to %s: %w", stored[j].slug, slug, err)
		}
		if strings.Contains(stored[j].slug, "~") {
			continue // an archive slug was never an address
		}
		// Its old addresses redirect to the new ones. An archived source's
		// slug is the new feed's now: no redirect.
		if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO former_slugs (slug, source_id, renamed_at)
			VALUES (?, ?, ?) ON CONFLICT (slug) DO UPDATE SET
				source_id = excluded.source_id, renamed_at = excluded.renamed_at`),
			stored[j].slug, stored[j].id, now); err != nil {
			return nil, fmt.Errorf("sync sources: remember %s as a former slug: %w", stored[j].slug, err)
		}
	}

	for i, s := range sources {
		j := plan.rowOf[i]
		if j < 0 {
			if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO sources (slug, name, url) VALUES (?, ?, ?)`),
				s.Slug, s.Name, s.URL); err != nil {
				return nil, fmt.Errorf("sync source %s: %w", s.Slug, err)
			}
			continue
		}
		old := stored[j]
		if old.name == s.Name && old.url == s.URL {
			continue
		}
		// A changed URL is another feed: its validators mean nothing there.
		// The name and URL are in every entry of the source (its author
		// line, <source>): a change of either is a change of its feeds.
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE sources SET name = ?, url = ?,
				etag = CASE WHEN url = ? THEN etag ELSE '' END,
				last_modified = CASE WHEN url = ? THEN last_modified ELSE '' END,
				changed = ? WHERE id = ?`),
			s.Name, s.URL, s.URL, s.URL, now, old.id); err != nil {
			return nil, fmt.Errorf("sync source %s: %w", s.Slug, err)
		}
	}
	// A slug in use is nobody's former slug: /sources/{slug} is that
	// source's, not a redirect to the one that had it before.
	if _, err := tx.ExecContext(ctx, `DELETE FROM former_slugs WHERE slug IN (SELECT slug FROM sources)`); err != nil {
		return nil, fmt.Errorf("sync sources: forget former slugs in use: %w", err)
	}

	var changes []SourceChange
	for i, s := range sources {
		if j := plan.rowOf[i]; j >= 0 && stored[j].slug != s.Slug {
			changes = append(changes, SourceChange{Kind: SourceRenamed, From: stored[j].slug, To: s.Slug, Name: s.Name, URL: s.URL})
		}
		for _, j := range plan.archived {
			if stored[j].slug == s.Slug {
				changes = append(changes, SourceChange{Kind: SourceArchived, From: s.Slug, To: moved[j],
					Name: stored[j].name, URL: stored[j].url, By: s})
			}
		}
	}
	if len(changes) > 0 {
		if err := db.bumpPublished(ctx, tx); err != nil {
			return nil, fmt.Errorf("sync sources: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sync sources: %w", err)
	}
	if len(changes) > 0 {
		db.changed()
	}
	return changes, nil
}

// storedSource is what SyncSources plans with of a stored source.
type storedSource struct {
	id              int64
	slug, name, url string
}

// storedSources reads every stored source in tx, newest success first (the
// one a rename prefers when a bug of old left two rows with one URL).
func storedSources(ctx context.Context, tx *sql.Tx) ([]storedSource, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, slug, name, url FROM sources
		ORDER BY last_success DESC, id`)
	if err != nil {
		return nil, fmt.Errorf("read the stored sources: %w", err)
	}
	defer rows.Close()
	var out []storedSource
	for rows.Next() {
		var s storedSource
		if err := rows.Scan(&s.id, &s.slug, &s.name, &s.url); err != nil {
			return nil, fmt.Errorf("read the stored sources: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the stored sources: %w", err)
	}
	return out, nil
}

// sourcePlan is which stored source each configured one is.
type sourcePlan struct {
	rowOf    []int // per configured source, its stored source (an index), or -1: a new row
	archived []int // stored sources whose slug goes to another feed
}

// planSources decides, as SyncSourcesReport says, which stored source each
// configured source is.
func planSources(stored []storedSource, conf []SourceInfo) sourcePlan {
	p := sourcePlan{rowOf: make([]int, len(conf))}
	claimed := make([]bool, len(stored))
	bySlug := make(map[string]int, len(stored))
	for j, s := range stored {
		bySlug[s.slug] = j
	}
	// The same slug, and the same URL or name: the same source.
	for i, c := range conf {
		p.rowOf[i] = -1
		if j, ok := bySlug[c.Slug]; ok && (stored[j].url == c.URL || stored[j].name == c.Name) {
			p.rowOf[i], claimed[j] = j, true
		}
	}
	// Else the stored source of its URL that no one took by its slug.
	for i, c := range conf {
		if p.rowOf[i] >= 0 {
			continue
		}
		for j, s := range stored {
			if !claimed[j] && s.url == c.URL {
				p.rowOf[i], claimed[j] = j, true
				break
			}
		}
	}
	// Else a new row. Either way, a stored source still holding the slug
	// that no configured source is (by the rules above) is another feed's:
	// archived, also when the configured source took a row by its URL (a
	// rename onto the slug of a source dropped from the config), since
	// slugs are UNIQUE and the slug is the configured source's now.
	for _, c := range conf {
		if j, ok := bySlug[c.Slug]; ok && !claimed[j] {
			p.archived = append(p.archived, j)
			claimed[j] = true
		}
	}
	return p
}

// FormerSlug returns the slug the source once known as slug has now, when
// a rename (SyncSourcesReport) left slug behind; ok is false otherwise,
// and for a slug a source has now.
func (db *DB) FormerSlug(ctx context.Context, slug string) (current string, ok bool, err error) {
	err = db.r.QueryRowContext(ctx, db.q(`SELECT s.slug FROM former_slugs f JOIN sources s ON s.id = f.source_id
		WHERE f.slug = ?`), slug).Scan(&current)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("look up former slug %q: %w", slug, err)
	}
	return current, true, nil
}
