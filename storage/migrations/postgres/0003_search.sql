-- PostgreSQL twin of ../0003_search.sql: what /search?q=… looks in.
--
-- doc is an item's title, a line break, and the plain text of its content
-- (else its summary), lower-cased, computed in Go by the indexer (the same
-- plainText SQLite's feedrelay_text calls). Search terms hold no white
-- space, so a term is in doc exactly when it is in the title or the text.
--
-- Terms of three or more characters: doc LIKE '%term%' through a pg_trgm
-- GIN index (the cluster's LC_CTYPE must count Chinese characters as
-- letters, as C.UTF-8 and the other UTF-8 locales do; under C, pg_trgm
-- makes no trigram of Chinese). pg_trgm is a trusted extension: a database
-- owner may create it.
--
-- Terms of one or two characters have no trigram; grams holds every
-- distinct one- and two-character substring of doc's words that is not
-- pure ASCII (科技, 两市, 涨, a股 …), GIN-indexed: grams @> '{两市}'. ASCII
-- terms that short (Fe, x) are checked by strpos on the newest items.
--
-- Polls queue the items they insert or change (search_queue, in their
-- transaction) and the indexer fills items_search after, in batches, as on
-- SQLite; deleting an item deletes its rows in both (cascades).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE items_search (
    id    bigint PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    doc   text NOT NULL,
    grams text[] NOT NULL
);
CREATE INDEX items_search_doc ON items_search USING gin (doc gin_trgm_ops);
CREATE INDEX items_search_grams ON items_search USING gin (grams);

CREATE TABLE search_queue (
    id bigint PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE
);

INSERT INTO search_queue (id) SELECT id FROM items;
