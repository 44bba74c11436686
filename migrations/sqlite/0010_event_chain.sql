-- The hash chain over each instance's event log (tamper evidence). Entry n of an instance
-- names one event by its identity, where it stood in the global order when it was sealed, and
-- hash_n = SHA-256(hash_{n-1} || content digest of the event); see projections/src/chain/.
--
-- Unlike the read models this table is never emptied by a rebuild: sealing the events again
-- would legitimise whatever had been changed in them meanwhile.
CREATE TABLE event_chain
(
    instance_id    text    NOT NULL,
    chain_position integer NOT NULL,
    aggregate_type text    NOT NULL,
    aggregate_id   text    NOT NULL,
    sequence       integer NOT NULL,
    transaction_id integer NOT NULL,
    position       integer NOT NULL,
    hash           text    NOT NULL,
    PRIMARY KEY (instance_id, chain_position)
) STRICT;

-- An event is sealed once, in one chain; the audit looks chain entries up by event.
CREATE UNIQUE INDEX event_chain_by_event ON event_chain (aggregate_type, aggregate_id, sequence);
