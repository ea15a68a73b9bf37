-- The full text of items (issue 13, full_text): where each item's article
-- stands. Once fetched, the article is the item's content (what the list
-- said moves to its summary); content_hash stays the hash of what the list
-- said, so that an unchanged list fetches no article and a changed one
-- fetches it again. A failed fetch stays pending, with its error, until
-- next_attempt; after the last attempt it is failed until the item changes.
CREATE TABLE articles (
    item_id      INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    source_id    INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    url          TEXT NOT NULL,
    state        TEXT NOT NULL,              -- ok | pending | failed
    attempts     INTEGER NOT NULL DEFAULT 0, -- since the item was new or changed
    next_attempt INTEGER NOT NULL DEFAULT 0, -- unix seconds; when pending
    last_attempt INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT ''
);

-- A poll's retries: the source's pending articles, soonest due first.
CREATE INDEX articles_due ON articles (source_id, next_attempt) WHERE state = 'pending';
-- The index page's warning: a source's recent failures.
CREATE INDEX articles_errors ON articles (source_id, last_attempt) WHERE last_error != '';
