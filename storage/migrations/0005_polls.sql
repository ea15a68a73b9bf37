-- Poll history (issue 17): every poll of a source, written in the
-- transaction that saves the poll's result, the newest MaxPolls (500) of
-- each source kept. outcome is ok, not_modified, error or backoff (the
-- source asked us to wait: 429, or an answer with Retry-After).
CREATE TABLE polls (
    id          INTEGER PRIMARY KEY,
    source_id   INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    attempted   INTEGER NOT NULL, -- unix seconds
    duration_ms INTEGER NOT NULL,
    status      INTEGER NOT NULL, -- HTTP status; 0 when there was no answer
    outcome     TEXT NOT NULL,
    new         INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    error       TEXT NOT NULL DEFAULT ''
);
-- The newest polls of one source, and the bound, walk this index: by
-- time, since a healthy 304's row may be written after later polls'.
CREATE INDEX polls_source ON polls (source_id, attempted DESC, id DESC);

-- New items per source and hour of first seen, counted as polls store them,
-- so that the index draws 30 days of activity from a few hundred rows per
-- source instead of reading every item of the month. Hours older than 32
-- days are dropped as polls add new ones.
CREATE TABLE item_hours (
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    hour      INTEGER NOT NULL, -- unix seconds / 3600 of first_seen
    n         INTEGER NOT NULL,
    PRIMARY KEY (source_id, hour)
) WITHOUT ROWID;

-- The items stored before this migration count too.
INSERT INTO item_hours (source_id, hour, n)
    SELECT source_id, first_seen / 3600, COUNT(*) FROM items
    WHERE first_seen >= CAST(strftime('%s', 'now') AS INTEGER) - 32 * 86400
    GROUP BY source_id, first_seen / 3600;
