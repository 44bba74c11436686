-- Listings sorted by userName or displayName page by keyset, with the creation position
-- breaking ties. Indexes in that exact order let such a page read only its own rows.
CREATE INDEX scim_users_sorted_by_user_name
    ON scim_users (instance_id, user_name_key, created_position);
CREATE INDEX scim_groups_sorted_by_display_name
    ON scim_groups (instance_id, display_name_key, created_position);
