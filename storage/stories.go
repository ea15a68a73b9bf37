package storage

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// storyHashes are what the indexes items_url_hash and items_title_hash
// hold of an item's story keys (migration 0011), 0 for no key: rows store
// them beside the keys, written wherever the keys are (Save, the back-fill,
// CopyTo), and lookups by them compare the keys too, since two keys may
// share a hash. They are stored: changing them would lose every stored
// item's copies. A variable for the test of a collision.
var storyHashes = keyHashes

// keyHashes hashes the keys with FNV-1a 64 (hash/fnv's New64a, without its
// allocation), except that the URL key's hash takes its top siteBits bits
// from its site's (the key up to the first '/' past its leading "//"): a
// source's links mostly share a site, so one poll's items sit together in
// items_url_hash and its transaction writes a page or two of that index,
// not a random page per item. (One transaction per poll of 50 new items,
// BENCHMARKS.md: 15.7 KB written per item, against 18.9 with FNV-1a of the
// whole key and 18.5 with the text indexes.) The 40 bits left tell the
// links of one site apart; a collision costs a row read, never a fold. A
// non-empty key whose hash would be 0 takes 1.
func keyHashes(urlKey, titleKey string) (urlHash, titleHash int64) {
	if urlKey != "" {
		rest := strings.TrimLeft(urlKey, "/")
		site := urlKey
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			site = urlKey[:len(urlKey)-len(rest)+i]
		}
		const low = 64 - siteBits
		urlHash = nonZero(fnv1a(site)>>low<<low | fnv1a(urlKey)&(1<<low-1))
	}
	if titleKey != "" {
		titleHash = nonZero(fnv1a(titleKey))
	}
	return urlHash, titleHash
}

// siteBits are the bits of a URL key's hash that its site's hash gives.
const siteBits = 24

// fnv1a is FNV-1a 64 of key's bytes.
func fnv1a(key string) uint64 {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= prime
	}
	return h
}

// nonZero is h as stored: 0 means no key.
func nonZero(h uint64) int64 {
	if h == 0 {
		return 1
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
		urlHash, titleHash := storyHashes(e.URLKey, e.TitleKey)
		if h := urlHash; h != 0 && !seenURL[h] {
			seenURL[h] = true
			urlHashes = append(urlHashes, h)
		}
		if h := titleHash; h != 0 && titleWindow > 0 {
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
