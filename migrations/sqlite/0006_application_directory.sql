-- The application's User entity of every provisioned user: the fields the instance's mapping
-- fills (a JSON object, since instances add their own fields), its state and whether SCIM
-- manages it. Derived from events only.
CREATE TABLE app_users
(
    id            text PRIMARY KEY,
    instance_id   text    NOT NULL,
    user_name     text    NOT NULL,
    user_name_key text    NOT NULL,
    fields        text    NOT NULL,
    state         text    NOT NULL,
    managed       integer NOT NULL,
    updated_at    text    NOT NULL
) STRICT;

CREATE INDEX app_users_by_user_name ON app_users (instance_id, user_name_key);
