-- PostgreSQL twin of ../0004_story_key_queue.sql: items stored before story
-- keys existed, queued to be keyed in Go (DB.BackfillStoryKeys).
CREATE TABLE story_key_queue (
    id bigint PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE
);
INSERT INTO story_key_queue (id) SELECT id FROM items WHERE url_key = '' AND title_key = '';
