-- PostgreSQL twin of ../0003_search.sql: what /search?q=… looks in.
--
-- doc is an item's title, a line break, and the plain text of its content
-- (else its summary), lower-cased, computed in Go by the indexer (the same
-- htmltext.Plain SQLite's feedrelay_text calls). Search terms hold no white
-- space, so a term is in doc exactly when it is in the title or the text.
--
-- grams holds every distinct substring of one or two characters of doc's
-- words (科技, 两市, 涨, a股, fe …), GIN-indexed. A term of one or two
-- characters is in doc exactly when grams @> '{term}'; a longer one when
-- grams holds all its two-character substrings and strpos finds it in doc.
-- The planner's statistics of grams' elements tell it how common each is,
-- so that it walks the newest items for a common term and goes through the
-- index for a rare one. pg_trgm was measured and not kept: PostgreSQL
-- estimates doc LIKE '%term%' at a handful of rows whatever the term, so a
-- common word (成交额, in 78 % of the items) gathered all its matches
-- through the index and sorted them (940 ms against 49 on SQLite, same run),
-- and Chinese trigrams need a cluster whose LC_CTYPE counts Chinese
-- characters as letters (not C). No extension is needed.
--
-- Polls queue the items they insert or change (search_queue, in their
-- transaction) and the indexer fills items_search after, in batches, as on
-- SQLite; deleting an item deletes its rows in both (cascades).
CREATE TABLE items_search (
    id    bigint PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    doc   text NOT NULL,
    grams text[] NOT NULL
);
CREATE INDEX items_search_grams ON items_search USING gin (grams);

CREATE TABLE search_queue (
    id bigint PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE
);

INSERT INTO search_queue (id) SELECT id FROM items;
