-- Our record of each provider: one row per thing that happened with it (a lease taken, a
-- fault, the time a lease took to become healthy). Append-only, so that concurrent
-- reconciles never lose an update and a crash never leaves a half-written record; the
-- record is an aggregate over the rows.
CREATE TABLE provider_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    provider TEXT NOT NULL,
    kind TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL DEFAULT 0,
    at TEXT NOT NULL
);
CREATE INDEX provider_events_by_provider ON provider_events (owner, provider, kind);
