-- A user's timeline, a name's history and one kind of change are read in the log's order (or
-- its reverse) a page at a time. Indexes on the filter alone left the planner a choice between
-- filtering then sorting every match, and walking the whole instance in order until a page of
-- matches turned up (SQLite, without statistics, chose the walk: a rare name cost a scan of the
-- instance's history). With the order in the index, each page is one range read.
DROP INDEX history_by_entity;
DROP INDEX history_by_name;
CREATE INDEX history_by_entity ON history_entries (instance_id, entity_id, transaction_id, position);
CREATE INDEX history_by_name ON history_entries (instance_id, entity_name_key, transaction_id, position);
CREATE INDEX history_by_action ON history_entries (instance_id, action, transaction_id, position);
