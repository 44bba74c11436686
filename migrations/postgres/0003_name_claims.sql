-- Reservations of names that must be unique across aggregates, which no single aggregate can
-- decide: a userName across the whole deployment, a group's displayName within its instance.
-- A request claims the name before its command and releases it if the command fails; a
-- reconciler removes claims whose owner never came to hold the name. Keys are the names
-- lower-cased by scimd (not by SQL) so that both stores compare alike.
CREATE TABLE user_name_claims
(
    user_name_key text PRIMARY KEY,
    instance_id   text NOT NULL,
    user_id       text NOT NULL,
    claimed_at    text NOT NULL
);

CREATE INDEX user_name_claims_by_user ON user_name_claims (user_id);

CREATE TABLE group_name_claims
(
    instance_id      text NOT NULL,
    display_name_key text NOT NULL,
    group_id         text NOT NULL,
    claimed_at       text NOT NULL,
    PRIMARY KEY (instance_id, display_name_key)
);

CREATE INDEX group_name_claims_by_group ON group_name_claims (group_id);
