-- Webhook endpoints of each instance, their signing secrets, and every delivery attempt. Plain
-- tables, not events: who created, rotated, replayed or disabled an endpoint is in the
-- instance's event log (settings events, with no secret); these hold the working state. A
-- delivery's position (`cursor`, the last feed `seq` delivered) is written in the same
-- transaction as the attempts that moved it, so that a crash re-sends at most the deliveries
-- of one unrecorded group, with the same webhook-ids. Times are RFC 3339 UTC text with
-- microseconds, which sorts chronologically.
CREATE TABLE webhook_endpoints
(
    id              text    PRIMARY KEY,
    instance_id     text    NOT NULL,
    url             text    NOT NULL,
    description     text    NOT NULL,
    -- Space-separated feed event types; empty: every type.
    types           text    NOT NULL,
    -- 'enabled' or 'disabled'
    state           text    NOT NULL,
    disabled_reason text,
    created_at      text    NOT NULL,
    -- The feed `seq` delivered last (a new endpoint starts at the feed's latest).
    cursor          integer NOT NULL,
    -- Raised by a replay, so that a delivery group begun before it cannot move the cursor back.
    generation      integer NOT NULL DEFAULT 0,
    -- Failed attempts at the event after `cursor`, in a row.
    failures        integer NOT NULL DEFAULT 0,
    failing_since   text,
    next_attempt_at text,
    -- The process delivering to this endpoint, until when: one at a time across replicas.
    lease_owner     text,
    lease_until     text
) STRICT;

CREATE INDEX webhook_endpoints_by_instance ON webhook_endpoints (instance_id, created_at);

-- Kept apart from the endpoints, which every listing reads: only signing reads these. Stored
-- usable (scimd signs with them), never hashed; see docs/webhooks.md for their protection.
CREATE TABLE webhook_secrets
(
    endpoint_id         text PRIMARY KEY,
    secret              text NOT NULL,
    previous_secret     text,
    previous_expires_at text
) STRICT;

CREATE TABLE webhook_attempts
(
    id          integer PRIMARY KEY AUTOINCREMENT,
    endpoint_id text    NOT NULL,
    event_id    text    NOT NULL,
    event_type  text    NOT NULL,
    attempt     integer NOT NULL,
    at          text    NOT NULL,
    status      integer,
    error       text,
    latency_ms  integer NOT NULL,
    -- The first 256 bytes of the answer.
    response    text    NOT NULL,
    succeeded   integer NOT NULL
) STRICT;

-- The deliveries page (newest first) and pruning by age.
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, id);
CREATE INDEX webhook_attempts_by_time ON webhook_attempts (at);
