-- API keys of the edge. Only the SHA-256 of a key is stored; the raw key is shown once, at creation.
-- A name is unique among active keys, so a revoked name can be issued again (the dev key is).

CREATE TABLE api_keys (
    id               bigserial PRIMARY KEY,
    name             text NOT NULL,
    key_prefix       text NOT NULL,              -- the first characters, to recognize a key in a list
    key_sha256       text NOT NULL UNIQUE,       -- hex
    allowed_prefixes text[] NOT NULL DEFAULT '{}',  -- empty: every API path
    allowed_sources  text[] NOT NULL DEFAULT '{}',  -- empty: every source (driver)
    created_at       timestamptz NOT NULL DEFAULT now(),
    revoked_at       timestamptz,
    last_used_at     timestamptz
);
CREATE UNIQUE INDEX api_keys_active_name_idx ON api_keys (name) WHERE revoked_at IS NULL;
