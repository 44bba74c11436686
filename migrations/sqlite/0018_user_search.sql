-- Finding users by the start of their userName, displayName or an email address: every email
-- address of every live user, one row each, by its lowercase form (projection user_emails).
-- The userName and displayName ranges read the indexes scim_users already has.
CREATE TABLE scim_user_emails
(
    user_id     text NOT NULL,
    instance_id text NOT NULL,
    email_key   text NOT NULL,
    PRIMARY KEY (user_id, email_key)
) STRICT;

CREATE INDEX scim_user_emails_by_email ON scim_user_emails (instance_id, email_key);
