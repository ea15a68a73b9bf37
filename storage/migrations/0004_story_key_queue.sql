-- Items stored before story keys existed (migration 0002 gave them empty
-- keys) are keyed once. The keys are computed in Go from the configured
-- tracking parameters (package story), which SQL cannot do and storage does
-- not know: this migration queues those items, and DB.BackfillStoryKeys,
-- given that computation by the program, keys them in batches and empties
-- the queue in the same transactions (a crash loses nothing). Until then
-- they are shown unfolded, as before.
CREATE TABLE story_key_queue (
    id INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE
);
INSERT INTO story_key_queue (id) SELECT id FROM items WHERE url_key = '' AND title_key = '';
