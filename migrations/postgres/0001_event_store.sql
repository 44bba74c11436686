-- The event store of postgres-es (its column set and primary key, which it relies on to detect
-- concurrent appends), plus a global position and the appending transaction's id.
--
-- A sequence value is taken at insert but becomes visible at commit, so positions are not
-- commit-ordered: a reader could pass position 8 before 7 commits. The projection runner
-- therefore reads in (transaction_id, position) order and only below the oldest transaction
-- still running (pg_snapshot_xmin), where no late commit can appear.
CREATE TABLE events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        jsonb                        NOT NULL,
    metadata       jsonb                        NOT NULL,
    position       bigint GENERATED ALWAYS AS IDENTITY,
    transaction_id xid8                         NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

CREATE UNIQUE INDEX events_by_position ON events (position);
CREATE INDEX events_in_commit_order ON events (transaction_id, position);

CREATE TABLE snapshots
(
    aggregate_type   text                                 NOT NULL,
    aggregate_id     text                                 NOT NULL,
    last_sequence    bigint CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
    payload          jsonb                                NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
);
