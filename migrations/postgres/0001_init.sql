-- Desired state, status and bookkeeping of every resource.
CREATE TABLE resources (
    kind TEXT NOT NULL,
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    uid TEXT NOT NULL UNIQUE,
    labels TEXT NOT NULL,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    generation BIGINT NOT NULL,
    resource_version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    deletion_requested_at TEXT,
    finalizers TEXT NOT NULL,
    PRIMARY KEY (kind, project, name)
);

-- The change feed; its ids are the resource versions. Writers hold an advisory lock so ids
-- commit in order and a reader never skips one.
CREATE TABLE changes (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    uid TEXT NOT NULL,
    op TEXT NOT NULL,
    at TEXT NOT NULL
);

CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    uid TEXT NOT NULL,
    kind TEXT NOT NULL,
    project TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX events_by_uid ON events (uid, id);
