-- The web console (ingest/console/): its users and their sessions.
-- A password is stored only as an argon2id hash (its salt and cost are inside the string).
-- A session is stored as the SHA-256 of its cookie value: the table holds nothing a browser could present.

CREATE TABLE console_users (
    name          text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$'),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz,                 -- set: the user cannot log in and has no sessions
    last_login_at timestamptz
);

CREATE TABLE console_sessions (
    token_sha256 text PRIMARY KEY,             -- hex
    user_name    text NOT NULL REFERENCES console_users (name) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,         -- bounds the session's whole life
    last_seen_at timestamptz NOT NULL          -- bounds its idle time
);
CREATE INDEX console_sessions_user_idx ON console_sessions (user_name);
CREATE INDEX console_sessions_seen_idx ON console_sessions (last_seen_at);
