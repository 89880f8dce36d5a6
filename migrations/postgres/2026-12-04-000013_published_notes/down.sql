ALTER TABLE published_summaries DROP COLUMN updated_at;
ALTER TABLE published_summaries DROP COLUMN note;
