-- Sources are keyed by their slug from the config. Their items stay when a
-- source leaves the config, so that putting it back loses nothing.
CREATE TABLE sources (
    id            INTEGER PRIMARY KEY,
    slug          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    url           TEXT NOT NULL DEFAULT '',
    -- What the source feed says about itself, for <source> in our entries.
    feed_id       TEXT NOT NULL DEFAULT '',
    feed_title    TEXT NOT NULL DEFAULT '',
    site_url      TEXT NOT NULL DEFAULT '',
    language      TEXT NOT NULL DEFAULT '',
    feed_updated  INTEGER NOT NULL DEFAULT 0, -- unix seconds; 0 = never
    -- Conditional GET validators, saved with the items they describe.
    etag          TEXT NOT NULL DEFAULT '',
    last_modified TEXT NOT NULL DEFAULT '',
    -- Health.
    last_attempt  INTEGER NOT NULL DEFAULT 0,
    last_success  INTEGER NOT NULL DEFAULT 0,
    last_status   INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT NOT NULL DEFAULT '',
    failures      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE items (
    id           INTEGER PRIMARY KEY,
    source_id    INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    identity     TEXT NOT NULL,      -- guid, else normalized link, else hash
    entry_id     TEXT NOT NULL,      -- the <id> we publish; minted once
    link         TEXT NOT NULL DEFAULT '',
    title        TEXT NOT NULL DEFAULT '',
    author       TEXT NOT NULL DEFAULT '',
    content      TEXT NOT NULL DEFAULT '',
    summary      TEXT NOT NULL DEFAULT '',
    categories   TEXT NOT NULL DEFAULT '[]', -- JSON array
    published    INTEGER NOT NULL,   -- unix seconds; first-seen time when undated
    updated      INTEGER NOT NULL,   -- moves when the content changes
    first_seen   INTEGER NOT NULL,
    content_hash TEXT NOT NULL,
    UNIQUE (source_id, identity)
);

-- Feeds out list the newest entries first, across or within sources.
CREATE INDEX items_updated ON items (updated DESC, id DESC);
CREATE INDEX items_source_updated ON items (source_id, updated DESC, id DESC);
