ALTER TABLE peers DROP COLUMN shared_inbox;
