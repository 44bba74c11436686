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
    managed       boolean NOT NULL,
    -- The manager the IdP names, and the user it names once provisioned (NULL: pending).
    manager_reference     text,
    manager_reference_key text,
    manager_id            text,
    updated_at    text    NOT NULL
);

CREATE INDEX app_users_by_user_name ON app_users (instance_id, user_name_key);
CREATE INDEX app_users_by_pending_manager ON app_users (instance_id, manager_reference)
    WHERE manager_id IS NULL;
CREATE INDEX app_users_by_pending_manager_key ON app_users (instance_id, manager_reference_key)
    WHERE manager_id IS NULL;
