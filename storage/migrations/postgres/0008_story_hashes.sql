-- PostgreSQL twin of ../0011_story_hashes.sql: copies are looked up by
-- 64-bit hashes of the story keys (storyHashes) instead of the keys, the keys
-- stay in the row and are compared too; the items keyed so far are queued
-- for DB.BackfillStoryKeys, which hashes the keys they have. Every instance
-- of one database runs the same release: an instance still at the previous
-- one would write items without their hashes (never found as copies) and
-- look copies up without an index.
ALTER TABLE items ADD COLUMN url_hash   bigint NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN title_hash bigint NOT NULL DEFAULT 0;
DROP INDEX items_url_key;
DROP INDEX items_title_key;
CREATE INDEX items_url_hash ON items (url_hash) WHERE url_hash != 0;
CREATE INDEX items_title_hash ON items (title_hash, published) WHERE title_hash != 0;
INSERT INTO story_key_queue (id) SELECT id FROM items WHERE url_key != '' OR title_key != ''
ON CONFLICT DO NOTHING;
