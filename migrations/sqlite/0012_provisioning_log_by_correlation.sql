-- A support engineer holding an IdP's error (which quotes scimd's X-Request-Id) finds the
-- request's provisioning log entry by its correlation id.
CREATE INDEX provisioning_log_by_correlation ON provisioning_log (instance_id, correlation_id);
