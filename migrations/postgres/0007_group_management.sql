-- Whether an IdP provisions the group: false for a group imported from before provisioning
-- until an IdP adopts it. Every group before imports existed was provisioned.
ALTER TABLE scim_groups ADD COLUMN managed boolean NOT NULL DEFAULT true;
