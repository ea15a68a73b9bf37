-- When we last stored or changed what an item shows (items.changed: its
-- insert, an edit, its full text, its story keys) and what a source's feed
-- says of itself (sources.changed: its title, site, <updated>, or its
-- name and URL in the config; retention pruning its items), unix seconds,
-- 0 for never. The feeds' Last-Modified is the newest of these among the
-- entries a page shows: it moves whenever the page's bytes do (an item
-- dated in the past but new to us included), and every instance of one
-- database says the same. Dates the sources give (published, updated) say
-- nothing of when our feed changed.
ALTER TABLE items ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;

-- Dates more than a day ahead (feeds.FutureMargin) were stored as the
-- source gave them: they kept an item on top of every feed until then.
-- They are dated when first seen, as the poller now does (a source feed's
-- own updated: when it last succeeded); the content hash stays that of the
-- source's text, so the next poll finds the item unchanged and leaves this
-- date.
UPDATE items SET published = first_seen WHERE published > unixepoch() + 86400;
UPDATE items SET updated = published WHERE updated > unixepoch() + 86400;
UPDATE sources SET feed_updated = last_success WHERE feed_updated > unixepoch() + 86400;

-- What is known of each item's last change: when it was first seen, or
-- its updated time when that is later (an edit moves it to its source's
-- new date or to the poll that saw it), never later than now.
UPDATE items SET changed = min(max(first_seen, updated), unixepoch());
UPDATE sources SET changed = min(feed_updated, unixepoch());
