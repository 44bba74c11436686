-- When each API key was last presented with its right secret (admitted, or refused because it
-- is revoked), so that an operator can tell whether an identity provider still uses a key. A
-- table of its own, not a column of `api_keys`: every change of `api_keys` moves the key
-- generation on (0015), which would empty every server's held keys each time a use is written.
-- Written at most once a minute per key and server (src/store/key_uses.rs).
CREATE TABLE key_uses
(
    key_id       text PRIMARY KEY REFERENCES api_keys (id),
    last_used_at text NOT NULL
) STRICT;

-- The provisioning log filtered by the key that sent each request.
CREATE INDEX provisioning_log_by_key ON provisioning_log (instance_id, key_id, sequence);

-- Instance names are unique without regard to case (`globex` and `GLOBEX` would be one
-- tenant to a person). Names are ASCII (src/admin/tenancy.rs), so SQLite's lower() suffices.
-- A store that already holds names differing only by case is refused with what to do rather
-- than renamed behind the operator's back: a trigger on a scratch table is SQLite's only way
-- to stop a script with a message of its own.
CREATE TEMP TABLE instance_names_checked (checked integer);
CREATE TEMP TRIGGER instance_names_differ_in_more_than_case
    BEFORE INSERT ON instance_names_checked
    WHEN EXISTS (SELECT 1 FROM instances GROUP BY lower(name) HAVING count(*) > 1)
BEGIN
    SELECT RAISE(ABORT, 'instance names must now be unique without regard to case, and some differ only by case. List them with: SELECT name FROM instances WHERE lower(name) IN (SELECT lower(name) FROM instances GROUP BY lower(name) HAVING count(*) > 1); rename all but one of each with: UPDATE instances SET name = ''new-name'' WHERE name = ''old-name''; then start scimd again');
END;
INSERT INTO instance_names_checked (checked) VALUES (1);
DROP TABLE instance_names_checked;

CREATE UNIQUE INDEX instances_by_name_in_any_case ON instances (lower(name));
