-- Tamper-evident references (docs/audit.md): every ref is a link of a hash chain.

-- Rows stored before this migration keep chain_id '' and seq 0: unchained, reported as such.
ALTER TABLE audit_refs
    ADD COLUMN chain_id text NOT NULL DEFAULT '',
    ADD COLUMN seq      bigint NOT NULL DEFAULT 0,
    ADD COLUMN ref_hash text NOT NULL DEFAULT '';  -- SHA-256 of the canonical form, as the storage agent got it
CREATE INDEX audit_refs_chain_idx ON audit_refs (chain_id, seq);
CREATE INDEX audit_refs_finished_idx ON audit_refs (finished_at);

-- The highest link seen per chain: a row deleted from the end of a chain leaves the head pointing past it.
CREATE TABLE audit_chain_heads (
    chain_id   text PRIMARY KEY,
    seq        bigint NOT NULL,
    ref_id     text NOT NULL,
    ref_hash   text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Content-addressed copies of the encoded (already redacted) records refs point at, by SHA-256.
CREATE TABLE audit_content (
    sha256    text PRIMARY KEY,
    topic     text NOT NULL,
    body      bytea NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now()
);
