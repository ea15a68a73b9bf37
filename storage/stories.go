package storage

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// storyHash is what the indexes items_url_hash and items_title_hash hold
// of a story key (migration 0011): 0 for no key, else FNV-1a 64 of its
// bytes, never 0. Rows store it beside the key, written wherever the key is
// (Save, the back-fill, CopyTo); lookups by it compare the keys too, since
// two keys may share a hash. It is stored: changing it would lose every
// stored item's copies. A variable for the test of a collision.
var storyHash = fnv1a

// fnv1a is FNV-1a 64 (hash/fnv's New64a, without its allocation) of key as
// an int64; a non-empty key whose hash is 0 takes 1.
func fnv1a(key string) int64 {
	if key == "" {
		return 0
	}
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= prime
	}
	if h == 0 {
		h = 1
	}
	return int64(h)
}

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
	// The query returns every item that shares some entry's key's hash;
	// each entry takes those that share its own key: an item whose key only
	// collides with it is no copy.
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

// copiesQuery selects the items of sources whose URL key hash is that of
// any of entries, or whose title key hash is, published within titleWindow
// of the earliest and latest of them; "" when no entry has a key to look
// for. The caller compares the keys themselves (a hash may collide).
// crossJoin is the dialect's (DB.crossJoin).
func copiesQuery(sources []string, entries []Entry, titleWindow time.Duration, crossJoin string) (string, []any) {
	var urlHashes, titleHashes []any
	seenURL, seenTitle := map[int64]bool{}, map[int64]bool{}
	var lo, hi int64
	for i := range entries {
		e := &entries[i]
		if h := storyHash(e.URLKey); h != 0 && !seenURL[h] {
			seenURL[h] = true
			urlHashes = append(urlHashes, h)
		}
		if h := storyHash(e.TitleKey); h != 0 && titleWindow > 0 {
			if pub := e.Published.Unix(); len(titleHashes) == 0 {
				lo, hi = pub, pub
			} else {
				lo, hi = min(lo, pub), max(hi, pub)
			}
			if !seenTitle[h] {
				seenTitle[h] = true
				titleHashes = append(titleHashes, h)
			}
		}
	}
	if len(urlHashes) == 0 && len(titleHashes) == 0 {
		return "", nil
	}
	var conds []string
	var args []any
	// The conditions repeat the partial indexes' own (!= 0) so that SQLite
	// uses them, and the items drive the join (CROSS JOIN): else it reads
	// every item of the sources.
	if len(urlHashes) > 0 {
		conds = append(conds, "(i.url_hash IN ("+marks(len(urlHashes))+") AND i.url_hash != 0)")
		args = append(args, urlHashes...)
	}
	if len(titleHashes) > 0 {
		w := int64(titleWindow / time.Second)
		conds = append(conds, "(i.title_hash IN ("+marks(len(titleHashes))+") AND i.title_hash != 0 AND i.published BETWEEN ? AND ?)")
		args = append(args, titleHashes...)
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
