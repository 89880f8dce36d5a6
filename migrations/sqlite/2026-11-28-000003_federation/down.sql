DROP TABLE received_activities;
DROP TABLE outbox;
DROP TABLE memberships;
DROP TABLE peers;
ALTER TABLE group_settings DROP COLUMN hub_auto_accept;
ALTER TABLE group_settings DROP COLUMN instance_role;
