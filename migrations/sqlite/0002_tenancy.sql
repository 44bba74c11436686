-- Instances (tenants) and the API keys that act for them. Times are RFC 3339 UTC text with
-- microseconds, which sorts chronologically.
CREATE TABLE instances
(
    id         text PRIMARY KEY,
    name       text NOT NULL UNIQUE,
    created_at text NOT NULL
) STRICT;

-- Only a SHA-256 of a key's secret is kept: the secret has 256 random bits, so a slow
-- password hash would add latency to every request without adding safety.
CREATE TABLE api_keys
(
    id               text PRIMARY KEY,
    instance_id      text NOT NULL REFERENCES instances (id),
    integration_user text NOT NULL,
    secret_sha256    text NOT NULL,
    created_at       text NOT NULL,
    revoked_at       text
) STRICT;

CREATE INDEX api_keys_by_instance ON api_keys (instance_id);
