-- The check stage's queryable copies. Kafka stays the source of truth: the `silences`
-- topic for silences, `incidents.events` for the timeline.

CREATE TABLE silences (
    silence_id  text PRIMARY KEY,
    matchers    jsonb NOT NULL,              -- [{"name", "op", "value"}]
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz,                 -- expiring a silence sets it to the time of expiry
    weekly      jsonb NOT NULL DEFAULT '[]', -- [{"days", "start", "end", "timezone"}]
    author      text NOT NULL,
    comment     text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX silences_ends_idx ON silences (ends_at);

-- Every incident event in full: what `incidents show` prints as the timeline.
CREATE TABLE incident_timeline (
    incident_id text NOT NULL,
    version     bigint NOT NULL,
    event_id    text NOT NULL,
    trace_id    text NOT NULL,
    reason      text NOT NULL,
    status      text NOT NULL,
    severity    text NOT NULL,
    lane        text NOT NULL,
    stages      text[] NOT NULL,
    channels    text[] NOT NULL,
    actor       text NOT NULL DEFAULT '',
    note        text NOT NULL DEFAULT '',
    silenced_by text[] NOT NULL DEFAULT '{}',
    held_until  timestamptz,
    alerts      jsonb NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (incident_id, version)
);

CREATE INDEX incidents_opened_idx ON incidents (opened_at DESC);
