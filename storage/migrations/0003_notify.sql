-- The notify stage: leases and retry bookkeeping on the delivery ledger, and stored channels.

-- pending rows carry a lease: a sender that crashed mid-send leaves it to expire,
-- after which a redelivered or retried record may claim the delivery again.
ALTER TABLE deliveries
    ADD COLUMN lease_until      timestamptz,
    ADD COLUMN first_attempt_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN next_attempt_at  timestamptz,
    -- The NotificationRetry record (Avro) of a delivery that failed or went to notify.dlq,
    -- so `deliveries retry` and `deliveries redrive` need no topic scan.
    ADD COLUMN payload          bytea;
-- statuses: pending | sent | retrying | failed (permanent) | dlq (gave up) | superseded (a newer version was sent)
CREATE INDEX deliveries_status_idx ON deliveries (status, updated_at DESC);
CREATE INDEX deliveries_supersede_idx ON deliveries (incident_id, channel, incident_version);

-- Channels configured by CLI or API. Everything but the name, type and a non-secret
-- summary is sealed (alertstream/secrets.py Keyring, aad "channel:{name}:config").
CREATE TABLE channels (
    name          text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    type          text NOT NULL,
    enabled       boolean NOT NULL DEFAULT true,
    summary       text NOT NULL DEFAULT '',
    config_sealed bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
