-- Named administrators: one credential per person, so that the history says who changed what.
-- Like API keys, only a SHA-256 of the secret is kept (256 random bits: a slow hash would add
-- nothing). A name is taken by at most one live administrator, without regard to case; a
-- revoked one keeps its row, so that old history entries still name a known person.
CREATE TABLE admins
(
    id            text PRIMARY KEY,
    name          text NOT NULL,
    name_key      text NOT NULL,
    secret_sha256 text NOT NULL,
    created_at    text NOT NULL,
    revoked_at    text
) STRICT;

CREATE UNIQUE INDEX admins_live_by_name ON admins (name_key) WHERE revoked_at IS NULL;

-- Console sign-ins: the browser holds the session's random token in an HttpOnly cookie, the
-- store only its SHA-256. admin_id is NULL for a sign-in with the bootstrap token, whose
-- fingerprint then ties the session to the token the server runs with.
CREATE TABLE admin_sessions
(
    token_sha256          text PRIMARY KEY,
    admin_id              text REFERENCES admins (id),
    bootstrap_fingerprint text,
    created_at            text NOT NULL,
    expires_at            text NOT NULL
) STRICT;

CREATE INDEX admin_sessions_by_expiry ON admin_sessions (expires_at);
