-- The application's change feed: the public events (user.created, group.member_added, ...)
-- the projection `feed` derives from the event log, in log order. `seq` is assigned by the
-- projector, one batch at a time, so that rows commit in `seq` order: a reader paging on
-- `seq > cursor` can never pass a row that commits later. A published event is a contract
-- with the application (webhooks carry its id): the feed is not emptied by `scimd rebuild`.
CREATE TABLE feed_events
(
    seq          integer PRIMARY KEY,
    -- The public id, also the Standard Webhooks `webhook-id` of its deliveries.
    id           text    NOT NULL UNIQUE,
    instance_id  text    NOT NULL,
    type         text    NOT NULL,
    occurred_at  text    NOT NULL,
    -- The internal event it was published at, so that an event is never published twice.
    aggregate_id text    NOT NULL,
    sequence     integer NOT NULL,
    -- The whole public document, as the events API and webhooks send it.
    document     text    NOT NULL,
    UNIQUE (aggregate_id, sequence)
) STRICT;

CREATE INDEX feed_events_by_instance ON feed_events (instance_id, seq);
CREATE INDEX feed_events_by_instance_and_type ON feed_events (instance_id, type, seq);

-- What the projection `feed` knows of each user and group, to render the resource as it is
-- after each change (it reads no other projection's tables, which catch up on their own).
-- `snapshot` is its own JSON, not a public document.
CREATE TABLE feed_users
(
    id       text PRIMARY KEY,
    snapshot text NOT NULL
) STRICT;

CREATE TABLE feed_groups
(
    id       text PRIMARY KEY,
    snapshot text NOT NULL
) STRICT;
