-- Cross-source deduplication and original publishers (issue 5): the keys
-- two copies of one story share, and the publisher a relay names.
ALTER TABLE items ADD COLUMN url_key   TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN title_key TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN origin    TEXT NOT NULL DEFAULT '';
CREATE INDEX items_url_key ON items (url_key) WHERE url_key != '';
CREATE INDEX items_title_key ON items (title_key, published) WHERE title_key != '';

-- Identities pruned by retention, so that a source still listing them does
-- not bring them back as new.
CREATE TABLE pruned (
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    identity  TEXT NOT NULL,
    pruned_at INTEGER NOT NULL,
    PRIMARY KEY (source_id, identity)
) WITHOUT ROWID;
