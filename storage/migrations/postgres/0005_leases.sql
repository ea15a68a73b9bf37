-- Leased polling (issue 14): several instances share the sources; each
-- claims the due ones it polls (claimDue: FOR UPDATE SKIP LOCKED), so that
-- no source is fetched by two at once. Times here are the database's clock
-- (now()), not the instances': their clocks may disagree, the database's
-- is one.
ALTER TABLE sources ADD COLUMN next_poll     timestamptz NOT NULL DEFAULT '-infinity';
ALTER TABLE sources ADD COLUMN lease_owner   text NOT NULL DEFAULT '';   -- '' = not leased
ALTER TABLE sources ADD COLUMN lease_expires timestamptz NOT NULL DEFAULT '-infinity';

-- The claim looks for sources due and not leased (or leased out past
-- expiry), oldest due first.
CREATE INDEX sources_next_poll ON sources (next_poll, id);
