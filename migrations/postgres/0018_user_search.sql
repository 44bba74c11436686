-- Finding users by the start of their userName, displayName or an email address: every email
-- address of every live user, one row each, by its lowercase form (projection user_emails).
-- Prefix ranges compare in byte order (COLLATE "C"), whatever the database's collation, so
-- the indexes they read are built in that order; userName's already is
-- (scim_users_sorted_by_user_name).
CREATE TABLE scim_user_emails
(
    user_id     text NOT NULL,
    instance_id text NOT NULL,
    email_key   text NOT NULL,
    PRIMARY KEY (user_id, email_key)
);

CREATE INDEX scim_user_emails_by_email ON scim_user_emails (instance_id, email_key COLLATE "C");
CREATE INDEX scim_users_by_display_name_prefix
    ON scim_users (instance_id, display_name_key COLLATE "C");
