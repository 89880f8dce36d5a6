ALTER TABLE peers DROP COLUMN username;
