-- A number that every change of an API key or an instance moves on, in the same transaction,
-- whoever makes it (a replica, the CLI, a hand-made UPDATE): a server holding verified keys in
-- memory reads this one row per request to know whether they may still be used (see
-- src/store/verified_keys.rs). Changes serialise on the row's lock, so the number grows in
-- commit order.
CREATE TABLE key_generation
(
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);

INSERT INTO key_generation (id, generation) VALUES (1, 0);

CREATE FUNCTION move_the_key_generation() RETURNS trigger LANGUAGE plpgsql AS
$$
BEGIN
    UPDATE key_generation SET generation = generation + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER api_keys_move_the_key_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION move_the_key_generation();

CREATE TRIGGER instances_move_the_key_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON instances
    FOR EACH STATEMENT EXECUTE FUNCTION move_the_key_generation();
