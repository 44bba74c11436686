-- The change history of every instance: one entry per event, in the event log's order, with
-- who did it, through which key and request, to what, and the event's own account of the
-- change (old and new values). Derived from events only.
CREATE TABLE history_entries
(
    transaction_id  integer NOT NULL,
    position        integer NOT NULL,
    instance_id     text    NOT NULL,
    occurred_at     text    NOT NULL,
    actor           text    NOT NULL,
    key_id          text,
    source          text    NOT NULL,
    user_agent      text,
    correlation_id  text    NOT NULL,
    entity_type     text    NOT NULL,
    entity_id       text    NOT NULL,
    entity_name     text,
    entity_name_key text,
    action          text    NOT NULL,
    details         text    NOT NULL,
    PRIMARY KEY (transaction_id, position)
) STRICT;

CREATE INDEX history_by_instance ON history_entries (instance_id, transaction_id, position);
CREATE INDEX history_by_entity ON history_entries (instance_id, entity_id);
CREATE INDEX history_by_name ON history_entries (instance_id, entity_name_key);

-- The latest name of each user and group, for entries of events that do not carry it.
CREATE TABLE history_names
(
    entity_id text PRIMARY KEY,
    name      text NOT NULL
) STRICT;
