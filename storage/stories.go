package storage

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// CopiesOf returns, for each of entries (by its ID), the other items of the
// given sources that tell its story: the same URL key, or (when
// titleWindow > 0) the same title key published within titleWindow of it.
// Each list comes first-seen first, so the first of an entry and its copies
// is the one a feed shows. The whole batch takes one query: a page of 50
// entries costs one round trip, not 50.
func (db *DB) CopiesOf(ctx context.Context, sources []string, entries []Entry, titleWindow time.Duration) (map[int64][]Entry, error) {
	if len(sources) == 0 || len(entries) == 0 {
		return nil, nil
	}
	query, args := copiesQuery(sources, entries, titleWindow, db.crossJoin())
	if query == "" {
		return nil, nil // no entry has a key another item could share
	}
	rows, err := db.r.QueryContext(ctx, db.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("query copies of %d entries: %w", len(entries), err)
	}
	defer rows.Close()
	found, err := scanEntries(rows)
	if err != nil {
		return nil, fmt.Errorf("copies of %d entries: %w", len(entries), err)
	}
	// The query returns every item that shares some entry's key; each entry
	// takes those that share its own.
	byURL, byTitle := map[string][]*Entry{}, map[string][]*Entry{}
	for i := range found {
		c := &found[i]
		if c.URLKey != "" {
			byURL[c.URLKey] = append(byURL[c.URLKey], c)
		}
		if c.TitleKey != "" {
			byTitle[c.TitleKey] = append(byTitle[c.TitleKey], c)
		}
	}
	w := int64(titleWindow / time.Second)
	out := make(map[int64][]Entry)
	for i := range entries {
		e := &entries[i]
		if _, done := out[e.ID]; done {
			continue
		}
		match := map[int64]bool{}
		if e.URLKey != "" {
			for _, c := range byURL[e.URLKey] {
				match[c.ID] = true
			}
		}
		if e.TitleKey != "" && titleWindow > 0 {
			pub := e.Published.Unix()
			for _, c := range byTitle[e.TitleKey] {
				if p := c.Published.Unix(); p >= pub-w && p <= pub+w {
					match[c.ID] = true
				}
			}
		}
		delete(match, e.ID)
		var copies []Entry
		for j := range found { // in the query's order: first seen first
			if match[found[j].ID] {
				copies = append(copies, found[j])
			}
		}
		out[e.ID] = copies
	}
	return out, nil
}

// copiesQuery selects the items of sources that share a URL key with any of
// entries, or a title key published within titleWindow of the earliest and
// latest of them; "" when no entry has a key to look for. crossJoin is the
// dialect's (DB.crossJoin).
func copiesQuery(sources []string, entries []Entry, titleWindow time.Duration, crossJoin string) (string, []any) {
	var urlKeys, titleKeys []any
	seenURL, seenTitle := map[string]bool{}, map[string]bool{}
	var lo, hi int64
	for i := range entries {
		e := &entries[i]
		if e.URLKey != "" && !seenURL[e.URLKey] {
			seenURL[e.URLKey] = true
			urlKeys = append(urlKeys, e.URLKey)
		}
		if e.TitleKey != "" && titleWindow > 0 {
			if pub := e.Published.Unix(); len(titleKeys) == 0 {
				lo, hi = pub, pub
			} else {
				lo, hi = min(lo, pub), max(hi, pub)
			}
			if !seenTitle[e.TitleKey] {
				seenTitle[e.TitleKey] = true
				titleKeys = append(titleKeys, e.TitleKey)
			}
		}
	}
	if len(urlKeys) == 0 && len(titleKeys) == 0 {
		return "", nil
	}
	var conds []string
	var args []any
	// The conditions repeat the partial indexes' own (!= '') so that SQLite
	// uses them, and the items drive the join (CROSS JOIN): else it reads
	// every item of the sources.
	if len(urlKeys) > 0 {
		conds = append(conds, "(i.url_key IN ("+marks(len(urlKeys))+") AND i.url_key != '')")
		args = append(args, urlKeys...)
	}
	if len(titleKeys) > 0 {
		w := int64(titleWindow / time.Second)
		conds = append(conds, "(i.title_key IN ("+marks(len(titleKeys))+") AND i.title_key != '' AND i.published BETWEEN ? AND ?)")
		args = append(args, titleKeys...)
		args = append(args, lo-w, hi+w)
	}
	for _, s := range sources {
		args = append(args, s)
	}
	return `SELECT ` + entryColumns + `
		FROM items i ` + crossJoin + ` sources s ON s.id = i.source_id
		WHERE (` + strings.Join(conds, " OR ") + `)
		  AND s.slug IN (` + marks(len(sources)) + `)
		ORDER BY i.first_seen, i.id`, args
}

// marks is n comma-separated SQL placeholders.
func marks(n int) string { return "?" + strings.Repeat(",?", n-1) }

// Before reports whether a was seen before b: the first copy of a story is
// the one shown.
func (a *Entry) Before(b *Entry) bool {
	if !a.FirstSeen.Equal(b.FirstSeen) {
		return a.FirstSeen.Before(b.FirstSeen)
	}
	return a.ID < b.ID
}
