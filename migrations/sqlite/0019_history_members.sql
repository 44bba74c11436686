-- A group's member change names its member as well as the group: who the member was (user or
-- group), its id, and its name at the time (userName or displayName), so that a user's history
-- finds the changes of its memberships and a group's entries read by name. Indexed in the
-- log's order like the entity columns (0013), so that a member's page is one range read;
-- only member changes have a member, and only they are indexed. The history projection's
-- version 2 rebuilds the entries written before, which lack their member.
ALTER TABLE history_entries ADD COLUMN member_type text;
ALTER TABLE history_entries ADD COLUMN member_id text;
ALTER TABLE history_entries ADD COLUMN member_name text;
ALTER TABLE history_entries ADD COLUMN member_name_key text;

CREATE INDEX history_by_member ON history_entries (instance_id, member_id, transaction_id, position)
    WHERE member_id IS NOT NULL;
CREATE INDEX history_by_member_name ON history_entries (instance_id, member_name_key, transaction_id, position)
    WHERE member_name_key IS NOT NULL;
