-- The SCIM read model: derived from events only, rebuilt at will. Not one of its indexes is
-- unique: uniqueness is decided before events are written (name claims), and a projection must
-- never be able to refuse an event that was accepted.
CREATE TABLE projection_checkpoints
(
    name           text PRIMARY KEY,
    version        integer NOT NULL,
    transaction_id integer NOT NULL,
    position       integer NOT NULL
) STRICT;

CREATE TABLE scim_users
(
    id               text PRIMARY KEY,
    instance_id      text    NOT NULL,
    user_name        text    NOT NULL,
    user_name_key    text    NOT NULL,
    external_id      text,
    display_name     text,
    display_name_key text,
    active           integer,
    attributes       text    NOT NULL,
    version          integer NOT NULL,
    created_position integer NOT NULL,
    created_at       text    NOT NULL,
    last_modified    text    NOT NULL
) STRICT;

CREATE INDEX scim_users_by_user_name ON scim_users (instance_id, user_name_key);
CREATE INDEX scim_users_by_external_id ON scim_users (instance_id, external_id);
CREATE INDEX scim_users_by_display_name ON scim_users (instance_id, display_name_key);
CREATE INDEX scim_users_in_creation_order ON scim_users (instance_id, created_position);

CREATE TABLE scim_groups
(
    id               text PRIMARY KEY,
    instance_id      text    NOT NULL,
    display_name     text    NOT NULL,
    display_name_key text    NOT NULL,
    external_id      text,
    version          integer NOT NULL,
    created_position integer NOT NULL,
    created_at       text    NOT NULL,
    last_modified    text    NOT NULL
) STRICT;

CREATE INDEX scim_groups_by_display_name ON scim_groups (instance_id, display_name_key);
CREATE INDEX scim_groups_by_external_id ON scim_groups (instance_id, external_id);
CREATE INDEX scim_groups_in_creation_order ON scim_groups (instance_id, created_position);

CREATE TABLE scim_group_members
(
    group_id    text NOT NULL,
    member_id   text NOT NULL,
    member_kind text NOT NULL,
    PRIMARY KEY (group_id, member_id)
) STRICT;

CREATE INDEX scim_group_members_by_member ON scim_group_members (member_id);
