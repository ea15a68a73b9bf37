-- PostgreSQL twin of ../0013_enclosures.sql: each item's enclosures as a
-- JSON array in text ('' for none), read and written by the same code as
-- SQLite's.
ALTER TABLE items ADD COLUMN enclosures text NOT NULL DEFAULT '';
