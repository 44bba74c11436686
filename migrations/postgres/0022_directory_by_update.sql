-- The application directory read in the order its entries last changed, for the admin API's
-- directory listing: an application reads it page by page after the last (updated_at, id) it
-- saw, or from a moment on (updatedSince), each page read off this index in order.
CREATE INDEX app_users_by_update ON app_users (instance_id, updated_at, id);
