-- Search (/search?q=…): a trigram full-text index over every item's title
-- and text, rowid = items.id. body is the plain text of the item's content
-- (else its summary): tags removed and entities unescaped by feedrelay_text,
-- a Go function the storage package registers with the driver, so that a
-- search for "strong" does not match <strong>. Trigrams find any substring
-- of three or more characters, Chinese words included, which no word
-- tokenizer would. Each column ends with two spaces, so that every
-- occurrence of a one- or two-character term begins an indexed trigram:
-- Search finds those through items_search_terms (see storage/search.go).
--
-- detail=none: the index records which items hold a trigram, not where.
-- It is smaller and about 30 % cheaper to write; Search checks that the
-- trigrams of a longer term are adjacent with LIKE. columnsize=0: results
-- are not ranked by bm25. The table keeps its own copy of the text (not
-- contentless): LIKE reads it, and FTS5 needs it to remove a row's terms.
-- Indexing costs about seven times what saving an item does, so a poll only
-- queues the items it inserts or changes (search_queue, in its transaction:
-- a crash loses nothing) and storage indexes them after, in batches.
CREATE VIRTUAL TABLE items_search USING fts5(title, body, tokenize = 'trigram',
    detail = none, columnsize = 0);

-- The indexed trigrams and how many items hold each.
CREATE VIRTUAL TABLE items_search_terms USING fts5vocab(items_search, row);

-- Items inserted or changed and not yet indexed.
CREATE TABLE search_queue (id INTEGER PRIMARY KEY);

-- Items deleted (retention, cascades) leave the index with them.
CREATE TRIGGER items_search_delete AFTER DELETE ON items BEGIN
    DELETE FROM items_search WHERE rowid = old.id;
    DELETE FROM search_queue WHERE id = old.id;
END;

-- The items stored before this migration are indexed after it, in batches.
INSERT INTO search_queue (id) SELECT id FROM items;
