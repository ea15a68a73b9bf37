-- PostgreSQL twin of ../0014_former_slugs.sql: each source's former
-- slugs, which redirect to its slug, until a source has the slug again.
CREATE TABLE former_slugs (
    slug       text PRIMARY KEY,
    source_id  bigint NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    renamed_at bigint NOT NULL
);
CREATE INDEX former_slugs_source ON former_slugs (source_id);
