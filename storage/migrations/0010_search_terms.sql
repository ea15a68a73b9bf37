-- The search index rebuilt over terms computed in Go (storage/searchterms.go)
-- instead of FTS5's trigram tokenizer: the tokenizer inserted every
-- character position's trigram into FTS5's hash, though with detail=none
-- only which items hold a trigram is kept; its tokenizing and those inserts
-- were most of the indexing, all of it on the writer. Now each item's
-- distinct case-folded trigrams (windows cut short at white space and at
-- the end of each column, for terms of one or two characters) are computed
-- off the writer and written, encoded, into the one indexed column, terms,
-- which FTS5's ascii tokenizer splits at the spaces between them. Search
-- finds the same items as before (storage/search.go).
--
-- content='' with contentless_delete: FTS5 keeps no copy of the terms, and
-- still deletes a row by rowid (the trigger below; changed items). title
-- and body are the title and plain text of the item, UNINDEXED and kept
-- (contentless_unindexed) for the LIKE checks of longer terms.
-- detail=none as before; columnsize=0 is incompatible with
-- contentless_delete, so FTS5 keeps each row's term count (a few bytes).
-- A later migration that drops this table must drop items_search_content
-- too: SQLite 3.54.1 leaves a contentless_unindexed table's content behind.
DROP TRIGGER items_search_delete;
DROP TABLE items_search_terms;
DROP TABLE items_search;

CREATE VIRTUAL TABLE items_search USING fts5(terms, title UNINDEXED, body UNINDEXED,
    tokenize = 'ascii', content = '', contentless_delete = 1, contentless_unindexed = 1,
    detail = none);

-- The indexed terms and how many items hold each.
CREATE VIRTUAL TABLE items_search_terms USING fts5vocab(items_search, row);

-- The settings of migration 0009: a batch of 2,000 items in one segment.
INSERT INTO items_search (items_search, rank) VALUES ('hashsize', 8388608);

-- Segments are merged 16 at a time rather than 4 (FTS5's default): each
-- item's terms are merged again about half as often (log16 rather than
-- log4 of the segments written), and a cold poll's 25,000 items, 13
-- segments, are not merged at all while they are indexed (writer CPU of
-- IndexAll 1.43-1.55 s at 4, 1.09-1.23 s at 16). Searches would read up
-- to 15 segments a level (3char-common 18 -> 31 ms at 100,000 items):
-- the background indexer merges them once nothing has been queued for
-- 5 s, or 10 minutes after the last merge while items keep coming
-- (storage.RunIndexer, MergeSearch: FTS5's 'merge' with usermerge 4), and
-- searches are then as fast as before (BENCHMARKS.md).
INSERT INTO items_search (items_search, rank) VALUES ('automerge', 16);

-- Items deleted (retention, cascades) leave the index with them.
CREATE TRIGGER items_search_delete AFTER DELETE ON items BEGIN
    DELETE FROM items_search WHERE rowid = old.id;
    DELETE FROM search_queue WHERE id = old.id;
END;

-- Every stored item is indexed again, in batches, by the background
-- indexer; until it is, Search does not find it.
INSERT OR IGNORE INTO search_queue (id) SELECT id FROM items;
