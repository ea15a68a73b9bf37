-- PostgreSQL twin of ../0012_changed.sql: items.changed and
-- sources.changed, when we last stored or changed what an item shows and
-- what a source's feed says of itself (unix seconds, 0 for never), the
-- basis of the feeds' Last-Modified; dates more than a day ahead dated
-- when first seen; the changes known so far back-filled.
ALTER TABLE items ADD COLUMN changed bigint NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN changed bigint NOT NULL DEFAULT 0;

UPDATE items SET published = first_seen WHERE published > extract(epoch FROM now())::bigint + 86400;
UPDATE items SET updated = published WHERE updated > extract(epoch FROM now())::bigint + 86400;
UPDATE sources SET feed_updated = last_success WHERE feed_updated > extract(epoch FROM now())::bigint + 86400;

UPDATE items SET changed = least(greatest(first_seen, updated), extract(epoch FROM now())::bigint);
UPDATE sources SET changed = least(feed_updated, extract(epoch FROM now())::bigint);
