DROP TABLE sector_version;
DROP TABLE sector_rollups;
ALTER TABLE received_reports DROP COLUMN segments;
DROP TABLE sector_summaries;
DROP TABLE published_summaries;
DROP TABLE alert_acks;
DROP TABLE hub_settings;
