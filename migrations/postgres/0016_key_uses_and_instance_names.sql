-- When each API key was last presented with its right secret (admitted, or refused because it
-- is revoked), so that an operator can tell whether an identity provider still uses a key. A
-- table of its own, not a column of `api_keys`: every change of `api_keys` moves the key
-- generation on (0015), which would empty every replica's held keys each time a use is written.
-- Written at most once a minute per key and replica (src/store/key_uses.rs).
CREATE TABLE key_uses
(
    key_id       text PRIMARY KEY REFERENCES api_keys (id),
    last_used_at text NOT NULL
);

-- The provisioning log filtered by the key that sent each request.
CREATE INDEX provisioning_log_by_key ON provisioning_log (instance_id, key_id, sequence);

-- Instance names are unique without regard to case (`globex` and `GLOBEX` would be one
-- tenant to a person). A store that already holds names differing only by case is refused
-- with what to do rather than renamed behind the operator's back.
DO
$$
DECLARE
    clashes text;
BEGIN
    SELECT string_agg(names, '; ' ORDER BY names) INTO clashes
      FROM (SELECT string_agg(name, ', ' ORDER BY name) AS names
              FROM instances GROUP BY lower(name) HAVING count(*) > 1) AS clashing;
    IF clashes IS NOT NULL THEN
        RAISE EXCEPTION 'instance names must now be unique without regard to case, and these differ only by case: %. Rename all but one of each (UPDATE instances SET name = ''new-name'' WHERE name = ''old-name''), then start scimd again', clashes;
    END IF;
END
$$;

CREATE UNIQUE INDEX instances_by_name_in_any_case ON instances (lower(name));
