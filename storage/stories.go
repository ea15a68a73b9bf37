package storage

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Copies returns the other items of the given sources that tell e's story:
// the same URL key, or (when titleWindow > 0) the same title key published
// within titleWindow of e. They come first-seen first, so the first of e
// and its copies is the one a feed shows.
func (db *DB) Copies(ctx context.Context, sources []string, e *Entry, titleWindow time.Duration) ([]Entry, error) {
	if len(sources) == 0 || (e.URLKey == "" && (e.TitleKey == "" || titleWindow <= 0)) {
		return nil, nil
	}
	query, args := copiesQuery(sources, e, titleWindow)
	rows, err := db.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("query copies: %w", err)
	}
	defer rows.Close()
	return scanEntries(rows)
}

func copiesQuery(sources []string, e *Entry, titleWindow time.Duration) (string, []any) {
	var conds []string
	var args []any
	// The conditions repeat the partial indexes' own (!= '') so that SQLite
	// uses them, and the items drive the join (CROSS JOIN): else it reads
	// every item of the sources.
	if e.URLKey != "" {
		conds = append(conds, "(i.url_key = ? AND i.url_key != '')")
		args = append(args, e.URLKey)
	}
	if e.TitleKey != "" && titleWindow > 0 {
		w := int64(titleWindow / time.Second)
		conds = append(conds, "(i.title_key = ? AND i.title_key != '' AND i.published BETWEEN ? AND ?)")
		args = append(args, e.TitleKey, e.Published.Unix()-w, e.Published.Unix()+w)
	}
	args = append(args, e.ID)
	for _, s := range sources {
		args = append(args, s)
	}
	return `SELECT ` + entryColumns + `
		FROM items i CROSS JOIN sources s ON s.id = i.source_id
		WHERE (` + strings.Join(conds, " OR ") + `) AND i.id != ?
		  AND s.slug IN (?` + strings.Repeat(",?", len(sources)-1) + `)
		ORDER BY i.first_seen, i.id`, args
}

// Before reports whether a was seen before b: the first copy of a story is
// the one shown.
func (a *Entry) Before(b *Entry) bool {
	if !a.FirstSeen.Equal(b.FirstSeen) {
		return a.FirstSeen.Before(b.FirstSeen)
	}
	return a.ID < b.ID
}
