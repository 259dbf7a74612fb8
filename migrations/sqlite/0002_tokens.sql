-- API tokens: only the BLAKE3 digest of a token is kept, never the token.
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    project TEXT NOT NULL,
    admin BIGINT NOT NULL,
    description TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
