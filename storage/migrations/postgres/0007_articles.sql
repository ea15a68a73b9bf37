-- PostgreSQL twin of ../0007_articles.sql: where each item's full text
-- stands (ok, pending with its next attempt, failed), its URL, attempts
-- and last error; the article itself is the item's content.
CREATE TABLE articles (
    item_id      bigint PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
    source_id    bigint NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    url          text NOT NULL,
    state        text NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    next_attempt bigint NOT NULL DEFAULT 0,
    last_attempt bigint NOT NULL DEFAULT 0,
    last_error   text NOT NULL DEFAULT ''
);
CREATE INDEX articles_due ON articles (source_id, next_attempt) WHERE state = 'pending';
CREATE INDEX articles_errors ON articles (source_id, last_attempt) WHERE last_error != '';
