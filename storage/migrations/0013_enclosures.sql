-- The files items carry (feeds.Item.Enclosures: a podcast's audio), as a
-- JSON array of {"url","length","type"} (length and type left out when
-- unknown), in the source's order; '' for none, which is nearly every item
-- and costs no bytes. Items stored before this migration have none until
-- their source lists them again with enclosures: their hash then differs
-- (feeds hashes enclosures only when there are some), so they are updated
-- once and gain them.
ALTER TABLE items ADD COLUMN enclosures TEXT NOT NULL DEFAULT '';
