-- Copies of a story are looked up by 64-bit hashes of its story keys
-- (storage/stories.go, storyHashes) rather than by the keys: the text indexes
-- of 0002 held every item's normalized link (50-100 bytes) and folded title
-- twice, once in the row and once in the index, and a cold poll wrote their
-- pages for every item (6.6 KB written per item with them, 4.8 without).
-- The keys stay in the row: the publisher folds by them, and a lookup by
-- hash compares them too, so that two stories whose keys' hashes collide
-- are never folded. 0 is "no key".
ALTER TABLE items ADD COLUMN url_hash   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN title_hash INTEGER NOT NULL DEFAULT 0;
DROP INDEX items_url_key;
DROP INDEX items_title_key;
CREATE INDEX items_url_hash ON items (url_hash) WHERE url_hash != 0;
CREATE INDEX items_title_hash ON items (title_hash, published) WHERE title_hash != 0;

-- SQL cannot compute the hash: the items keyed so far are queued for the
-- story-key back-fill (DB.BackfillStoryKeys, run at startup before anything
-- polls or serves), which hashes the keys they have, without deriving them
-- again (the configured tracking parameters may have changed since they
-- were stored). Items still queued by 0004, without keys, are keyed and
-- hashed by it as before. Until it has run, an item stored before this
-- migration is not found as another item's copy (its hashes are 0), though
-- it still finds its own copies among the items hashed: at worst a story
-- is shown twice for that while, as before story keys existed.
INSERT OR IGNORE INTO story_key_queue (id) SELECT id FROM items WHERE url_key != '' OR title_key != '';
