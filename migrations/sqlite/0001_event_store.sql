-- The event store of sqlite-es (its column set and primary key, which it relies on to detect
-- concurrent appends), plus a global position in commit order for the projection runner.
CREATE TABLE events
(
    aggregate_type text                          NOT NULL,
    aggregate_id   text                          NOT NULL,
    sequence       integer CHECK (sequence >= 0) NOT NULL,
    event_type     text                          NOT NULL,
    event_version  text                          NOT NULL,
    payload        text                          NOT NULL,
    metadata       text                          NOT NULL,
    position       integer,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
) STRICT;

CREATE UNIQUE INDEX events_by_position ON events (position);

-- SQLite has one writer at a time, so numbering inside the inserting transaction numbers
-- events in commit order, without gaps a reader could overtake.
CREATE TRIGGER events_are_numbered AFTER INSERT ON events
BEGIN
    UPDATE events
       SET position = (SELECT coalesce(max(position), 0) + 1 FROM events)
     WHERE rowid = NEW.rowid;
END;

CREATE TABLE snapshots
(
    aggregate_type   text                                  NOT NULL,
    aggregate_id     text                                  NOT NULL,
    last_sequence    integer CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot integer CHECK (current_snapshot >= 0) NOT NULL,
    payload          text                                  NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
) STRICT;
