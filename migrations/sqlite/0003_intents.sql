-- Deployment intents: recorded before the broadcast that creates a deployment on chain.
-- dseq is a u64 on chain; it is kept as TEXT of exactly 20 zero-padded digits, so every u64
-- round-trips (BIGINT stops at 2^63-1), text order is numeric order (max and ORDER BY work),
-- and the same type and queries serve both dialects.
CREATE TABLE deployment_intents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    dseq TEXT NOT NULL CHECK (length(dseq) = 20),
    resource_uid TEXT NOT NULL,
    resource_key TEXT NOT NULL,
    generation BIGINT NOT NULL,
    manifest_version TEXT NOT NULL,
    deposit TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (owner, dseq)
);
CREATE INDEX deployment_intents_by_resource ON deployment_intents (resource_uid, id);

-- The change feed says which generation a change produced and whether the spec side
-- (spec, labels, deletion request, creation, deletion) changed, so that a reconciler's own
-- status or finalizer writes do not wake it as spec changes. Rows written before this
-- migration count as spec changes: waking once too often is safe, missing a change is not.
ALTER TABLE changes ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE changes ADD COLUMN spec_changed BIGINT NOT NULL DEFAULT 1;

-- Bookkeeping of the change feed: every change id up to pruned_through may have been pruned,
-- so a cursor older than that must relist. Ids can have gaps, so the oldest kept id alone
-- cannot tell a pruned change from one that never existed.
CREATE TABLE change_feed (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pruned_through BIGINT NOT NULL
);
INSERT INTO change_feed (id, pruned_through) SELECT 1, COALESCE(MIN(id) - 1, 0) FROM changes;
