-- Time travel cuts the log at the first event (in commit order) stamped after the moment asked
-- for. Without an index that meant reading every event's metadata from the start of the log up
-- to the cut, growing with the log. With the stamp indexed (compared as bytes, as the cut
-- compares it), the planner can read only the events stamped after the moment instead: none
-- at all for a moment after the last event. Stamps grow with the log, so new entries land at
-- the index's end.
CREATE INDEX events_by_stamp ON events (((metadata ->> 'occurred_at') COLLATE "C"), transaction_id, position);
