-- A number that every change of an API key or an instance moves on, in the same transaction,
-- whoever makes it (a server, the CLI, a hand-made UPDATE): a server holding verified keys in
-- memory reads this one row per request to know whether they may still be used (see
-- src/store/verified_keys.rs).
CREATE TABLE key_generation
(
    id         integer PRIMARY KEY CHECK (id = 1),
    generation integer NOT NULL
) STRICT;

INSERT INTO key_generation (id, generation) VALUES (1, 0);

CREATE TRIGGER api_keys_inserted_move_the_key_generation AFTER INSERT ON api_keys
BEGIN
    UPDATE key_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER api_keys_updated_move_the_key_generation AFTER UPDATE ON api_keys
BEGIN
    UPDATE key_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER api_keys_deleted_move_the_key_generation AFTER DELETE ON api_keys
BEGIN
    UPDATE key_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER instances_inserted_move_the_key_generation AFTER INSERT ON instances
BEGIN
    UPDATE key_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER instances_updated_move_the_key_generation AFTER UPDATE ON instances
BEGIN
    UPDATE key_generation SET generation = generation + 1 WHERE id = 1;
END;

CREATE TRIGGER instances_deleted_move_the_key_generation AFTER DELETE ON instances
BEGIN
    UPDATE key_generation SET generation = generation + 1 WHERE id = 1;
END;
