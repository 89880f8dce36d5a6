DROP TABLE network_consents;
DROP TABLE week_aggregates;
DROP TABLE group_focuses;
ALTER TABLE group_settings DROP COLUMN size_band;
ALTER TABLE group_settings DROP COLUMN region;
ALTER TABLE group_settings DROP COLUMN min_count;
ALTER TABLE group_settings DROP COLUMN close_hour;
ALTER TABLE group_settings DROP COLUMN close_weekday;
ALTER TABLE group_settings DROP COLUMN description;
