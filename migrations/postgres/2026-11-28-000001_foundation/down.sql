DROP TABLE instance_keys;
DROP TABLE checkin_notes;
DROP TABLE checkins;
DROP TABLE sessions;
DROP TABLE invites;
DROP TABLE accounts;
DROP TABLE group_settings;
