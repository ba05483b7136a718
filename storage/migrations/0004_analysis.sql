-- The analysis stage: configured model providers, every analysis made, and the
-- prompts and responses behind them, encrypted and addressed by their SHA-256.

CREATE TABLE analysis_providers (
    name            text PRIMARY KEY,
    kind            text NOT NULL,                  -- local | openai | anthropic | gemini
    base_url        text NOT NULL DEFAULT '',
    model           text NOT NULL DEFAULT '',
    api_key_sealed  bytea,                          -- AES-256-GCM (alertstream.secrets.Keyring), never plaintext
    timeout_s       double precision NOT NULL DEFAULT 10,
    max_concurrency integer NOT NULL DEFAULT 4,
    options         jsonb NOT NULL DEFAULT '{}',
    active          boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- At most one provider is active; none active means the local rules.
CREATE UNIQUE INDEX analysis_providers_one_active ON analysis_providers (active) WHERE active;

CREATE TABLE analyses (
    analysis_id      text PRIMARY KEY,
    incident_id      text NOT NULL,
    incident_version bigint NOT NULL,
    trace_id         text NOT NULL,
    status           text NOT NULL,                 -- ok | fallback | pending | unavailable | skipped
    provider         text NOT NULL,
    model            text NOT NULL DEFAULT '',
    category         text NOT NULL DEFAULT 'general',
    summary          text NOT NULL DEFAULT '',
    probable_cause   text NOT NULL DEFAULT '',
    confidence       double precision NOT NULL DEFAULT 0,
    recommendations  jsonb NOT NULL DEFAULT '[]',
    fallback_used    boolean NOT NULL DEFAULT false,
    reason           text NOT NULL DEFAULT '',
    cache_hit        boolean NOT NULL DEFAULT false,
    follow_up        boolean NOT NULL DEFAULT false,
    tokens_in        bigint NOT NULL DEFAULT 0,
    tokens_out       bigint NOT NULL DEFAULT 0,
    latency_ms       bigint NOT NULL DEFAULT 0,
    signature        text NOT NULL DEFAULT '',
    prompt_sha256    text NOT NULL DEFAULT '',
    response_sha256  text NOT NULL DEFAULT '',
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz NOT NULL
);
CREATE INDEX analyses_incident_idx ON analyses (incident_id, finished_at DESC);
CREATE INDEX analyses_finished_idx ON analyses (finished_at);

CREATE TABLE analysis_blobs (
    sha256     text PRIMARY KEY,                    -- of the plaintext; also bound into the ciphertext
    kind       text NOT NULL,                       -- prompt | response
    sealed     bytea NOT NULL,                      -- Keyring token (its header names the key; `secrets rotate`)
    created_at timestamptz NOT NULL DEFAULT now()
);
