-- The queryable copy of what flows through the topics. Kafka stays the source of truth.

CREATE TABLE audit_refs (
    ref_id          text PRIMARY KEY,
    trace_id        text NOT NULL,
    run_id          text NOT NULL,
    stage           text NOT NULL,
    input_ref       text NOT NULL,
    output_ref      text NOT NULL,
    content_sha256  text NOT NULL,
    status          text NOT NULL,
    started_at      timestamptz NOT NULL,
    finished_at     timestamptz NOT NULL,
    error           text,
    prev_hash       text NOT NULL DEFAULT '',
    kafka_partition integer,
    kafka_offset    bigint
);
CREATE INDEX audit_refs_trace_idx ON audit_refs (trace_id);
CREATE INDEX audit_refs_stage_time_idx ON audit_refs (stage, started_at);

CREATE TABLE incidents (
    incident_id     text PRIMARY KEY,
    version         bigint NOT NULL,
    status          text NOT NULL,
    severity        text NOT NULL,
    title           text NOT NULL,
    correlation_key text NOT NULL,
    lane            text NOT NULL,
    opened_at       timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    alerts          jsonb NOT NULL
);
CREATE INDEX incidents_status_idx ON incidents (status, updated_at DESC);

CREATE TABLE incident_events (
    incident_id text NOT NULL,
    version     bigint NOT NULL,
    event_id    text NOT NULL,
    trace_id    text NOT NULL,
    reason      text NOT NULL,
    status      text NOT NULL,
    severity    text NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (incident_id, version)
);

-- One row per delivery key, claimed by the notify agent *before* it sends:
-- the unique key is what makes a redelivered or replayed event send nothing.
CREATE TABLE deliveries (
    delivery_key     text PRIMARY KEY,
    incident_id      text NOT NULL,
    incident_version bigint NOT NULL,
    channel          text NOT NULL,
    channel_type     text NOT NULL,
    trace_id         text NOT NULL,
    status           text NOT NULL,           -- pending | sent | retrying | failed | dlq
    attempts         integer NOT NULL DEFAULT 0,
    last_status_code integer,
    last_reason      text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_incident_idx ON deliveries (incident_id);

-- Every attempt's outcome, as published on notifications.results.
CREATE TABLE delivery_results (
    id               bigserial PRIMARY KEY,
    delivery_key     text NOT NULL,
    incident_id      text NOT NULL,
    incident_version bigint NOT NULL,
    channel          text NOT NULL,
    status           text NOT NULL,
    attempt          integer NOT NULL,
    status_code      integer,
    reason           text,
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz NOT NULL,
    UNIQUE (delivery_key, attempt, status)
);
