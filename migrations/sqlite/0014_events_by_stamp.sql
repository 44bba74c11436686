-- Time travel cuts the log at the first event (in log order) stamped after the moment asked
-- for. Without an index that meant reading every event's metadata from the start of the log up
-- to the cut (65 ms at 100,000 events, growing with the log). With the stamp indexed, the cut
-- visits only the events stamped after the moment: none at all for a moment after the last
-- event. Stamps grow with the log, so new entries land at the index's end.
CREATE INDEX events_by_stamp ON events (json_extract(metadata, '$.occurred_at'), position);
