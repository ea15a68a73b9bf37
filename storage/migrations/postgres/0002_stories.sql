-- PostgreSQL twin of ../0002_stories.sql.
ALTER TABLE items ADD COLUMN url_key   text NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN title_key text NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN origin    text NOT NULL DEFAULT '';
CREATE INDEX items_url_key ON items (url_key) WHERE url_key != '';
CREATE INDEX items_title_key ON items (title_key, published) WHERE title_key != '';

CREATE TABLE pruned (
    source_id bigint NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    identity  text NOT NULL,
    pruned_at bigint NOT NULL,
    PRIMARY KEY (source_id, identity)
);
