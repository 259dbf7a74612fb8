-- The secret vault: values sealed with XChaCha20-Poly1305 under the operator's master key.
-- Never plaintext: `digest` is a BLAKE3 keyed by a key derived from the master key, and
-- `key_id` names the master key that sealed the row (derived from it; reveals nothing).
CREATE TABLE secrets (
    project TEXT NOT NULL,
    store TEXT NOT NULL,
    key TEXT NOT NULL,
    key_id TEXT NOT NULL,
    nonce BYTEA NOT NULL,
    ciphertext BYTEA NOT NULL,
    digest TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (project, store, key)
);
