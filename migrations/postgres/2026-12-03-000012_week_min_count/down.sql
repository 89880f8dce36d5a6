ALTER TABLE week_aggregates DROP COLUMN min_count;
