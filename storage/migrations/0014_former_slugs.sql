-- A source's former slugs (SyncSources): when the config gives a stored
-- source a new slug (an explicit `slug:` changed, or a renamed `name:`
-- whose pinyin is the default slug) the source keeps its row, items and
-- entry ids under the new slug, and its old addresses (/sources/{old}.atom,
-- /s/{old}) answer 301 to the new ones. A slug stops being former once a
-- source has it again (SyncSources deletes it): a slug names one thing.
CREATE TABLE former_slugs (
    slug       TEXT PRIMARY KEY,
    source_id  INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    renamed_at INTEGER NOT NULL -- unix seconds
) WITHOUT ROWID;
CREATE INDEX former_slugs_source ON former_slugs (source_id);
