-- A group deleted while it still has members leaves them by its deletion, yet its GroupDeleted
-- event names none of them. The history projection keeps each group's current members (from
-- the member changes, like every read model derived from events only) and, when a group is
-- deleted, copies the deletion's entry once per member still in it, naming that member as
-- the 0019 columns do, so that each member's history shows it left the group then. The copies
-- are kept apart from history_entries, whose key is one entry per event: a copy is the same
-- entry (same transaction_id and position) seen from one member, keyed by that member too.
-- Read by member in the log's order, like history_by_member and history_by_member_name.
CREATE TABLE history_group_members
(
    group_id    text NOT NULL,
    member_id   text NOT NULL,
    member_type text NOT NULL,
    PRIMARY KEY (group_id, member_id)
);

CREATE TABLE history_group_deletions
(
    transaction_id  bigint  NOT NULL,
    position        bigint  NOT NULL,
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
    member_type     text    NOT NULL,
    member_id       text    NOT NULL,
    member_name     text,
    member_name_key text,
    PRIMARY KEY (transaction_id, position, member_id)
);

CREATE INDEX history_deletions_by_member
    ON history_group_deletions (instance_id, member_id, transaction_id, position);
CREATE INDEX history_deletions_by_member_name
    ON history_group_deletions (instance_id, member_name_key, transaction_id, position);
