-- The provisioning log: one entry per SCIM request of a known instance, with its outcome and,
-- for a failure, the SCIM error and the request body with credentials removed. An operational
-- log written by the server as it answers, not derived from events: `scimd rebuild` leaves it
-- alone, and entries older than the retention period are pruned. Times are RFC 3339 UTC text
-- with microseconds, which sorts chronologically.
CREATE TABLE provisioning_log
(
    sequence       integer PRIMARY KEY AUTOINCREMENT,
    instance_id    text    NOT NULL,
    at             text    NOT NULL,
    method         text    NOT NULL,
    path           text    NOT NULL,
    status         integer NOT NULL,
    latency_us     integer NOT NULL,
    correlation_id text    NOT NULL,
    key_id         text,
    user_agent     text,
    resource_type  text,
    resource_id    text,
    user_name      text,
    external_id    text,
    -- A Bulk request answers 200 even when some of its operations failed.
    failed         integer NOT NULL,
    scim_type      text,
    detail         text,
    body           text
) STRICT;

CREATE INDEX provisioning_log_by_instance ON provisioning_log (instance_id, sequence);
CREATE INDEX provisioning_log_failures ON provisioning_log (instance_id, sequence) WHERE failed;
CREATE INDEX provisioning_log_by_time ON provisioning_log (at);

-- Whom each entry is about: every userName (lower-cased by scimd), externalId and resource id
-- the request named, so that a Bulk request is found by any of its operations.
CREATE TABLE provisioning_log_subjects
(
    entry       integer NOT NULL REFERENCES provisioning_log (sequence) ON DELETE CASCADE,
    instance_id text    NOT NULL,
    kind        text    NOT NULL,
    value       text    NOT NULL,
    PRIMARY KEY (entry, kind, value)
) STRICT;

CREATE INDEX provisioning_log_subjects_by_value
    ON provisioning_log_subjects (instance_id, kind, value, entry);
