package storage

import (
	"context"
	"fmt"
)

// StoryKeys computes the keys by which copies of one story are found across
// sources, and the original publisher, from an item's link, title and
// content: feeds.StoryKeys, with the configured tracking parameters.
type StoryKeys func(link, title, content string) (urlKey, titleKey, origin string)

// backfillBatch is how many items one back-fill transaction keys: small, so
// that polls waiting for the writer never wait long.
const backfillBatch = 500

// BackfillStoryKeys keys the items queued in story_key_queue: once, in
// small transactions, resuming where a crash stopped it. Those stored before
// story keys existed (migration 0004 queued them) get their keys and origin
// from keys; those stored with keys before their hashes were (queued by
// migration 0011) keep their keys and origin, as the tracking parameters of
// their day made them, and get the hashes of those keys. It returns how
// many items it did; after the first run it finds nothing to do.
func (db *DB) BackfillStoryKeys(ctx context.Context, keys StoryKeys) (int, error) {
	total := 0
	for {
		n, err := db.backfillBatch(ctx, keys)
		total += n
		if err != nil || n < backfillBatch {
			if total > 0 {
				db.changed() // copies fold from now on
			}
			if err != nil {
				return total, fmt.Errorf("back-fill story keys: %w", err)
			}
			return total, nil
		}
	}
}

func (db *DB) backfillBatch(ctx context.Context, keys StoryKeys) (int, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	// An item with keys is only hashed: its content (the row's bulk) is
	// not read.
	rows, err := tx.QueryContext(ctx, db.q(`SELECT i.id, i.url_key, i.title_key, i.origin,
		CASE WHEN i.url_key = '' AND i.title_key = '' THEN i.link ELSE '' END,
		CASE WHEN i.url_key = '' AND i.title_key = '' THEN i.title ELSE '' END,
		CASE WHEN i.url_key = '' AND i.title_key = '' THEN i.content ELSE '' END
		FROM story_key_queue q JOIN items i ON i.id = q.id ORDER BY q.id LIMIT ?`), backfillBatch)
	if err != nil {
		return 0, fmt.Errorf("read queued items: %w", err)
	}
	type keyed struct {
		id                       int64
		urlKey, titleKey, origin string
	}
	var batch []keyed
	for rows.Next() {
		var (
			k                    keyed
			link, title, content string
		)
		if err := rows.Scan(&k.id, &k.urlKey, &k.titleKey, &k.origin, &link, &title, &content); err != nil {
			rows.Close()
			return 0, fmt.Errorf("read queued items: %w", err)
		}
		if k.urlKey == "" && k.titleKey == "" {
			k.urlKey, k.titleKey, k.origin = keys(link, title, content)
		}
		batch = append(batch, k)
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("read queued items: %w", err)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read queued items: %w", err)
	}
	if len(batch) > 0 {
		// One statement compiled for the batch, one delete from the queue:
		// an upgrade's back-fill of every item (migration 0011) runs before
		// anything serves.
		// The item changed: its origin is shown, and copies of it fold
		// by its keys from now on.
		now := db.Now().Unix()
		update, err := tx.PrepareContext(ctx, db.q(`UPDATE items SET url_key = ?, title_key = ?, origin = ?,
			url_hash = ?, title_hash = ?, changed = ? WHERE id = ?`))
		if err != nil {
			return 0, fmt.Errorf("prepare the update: %w", err)
		}
		defer update.Close()
		ids := make([]any, len(batch))
		for i, k := range batch {
			urlHash, titleHash := storyHashes(k.urlKey, k.titleKey)
			if _, err := update.ExecContext(ctx, k.urlKey, k.titleKey, k.origin, urlHash, titleHash, now, k.id); err != nil {
				return 0, fmt.Errorf("key item %d: %w", k.id, err)
			}
			ids[i] = k.id
		}
		if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM story_key_queue WHERE id IN (`+marks(len(ids))+`)`), ids...); err != nil {
			return 0, fmt.Errorf("dequeue %d items: %w", len(ids), err)
		}
		if err := db.bumpPublished(ctx, tx); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("commit: %w", err)
	}
	return len(batch), nil
}
