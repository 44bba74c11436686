-- How many users and groups each instance has, kept by the scim_users and scim_groups
-- projections as rows come and go: an unfiltered listing's totalResults without counting
-- every row on every page.
CREATE TABLE scim_user_totals
(
    instance_id TEXT PRIMARY KEY,
    total       BIGINT NOT NULL
);

CREATE TABLE scim_group_totals
(
    instance_id TEXT PRIMARY KEY,
    total       BIGINT NOT NULL
);
