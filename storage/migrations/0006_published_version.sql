-- A counter of changes to what is published (items, their story keys, a
-- source's feed metadata), bumped in the transaction that makes one. The
-- render caches of every process follow it: PRAGMA data_version says that
-- some other connection committed something, and most commits (poll
-- history, a failure count) change no published byte.
CREATE TABLE published_version (n INTEGER NOT NULL);
INSERT INTO published_version (n) VALUES (0);
