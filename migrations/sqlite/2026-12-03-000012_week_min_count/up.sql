-- The minimum count k as it stood when each week closed, kept with the frozen row: a week is
-- shown only with at least that many answers (and the current k), so lowering k later never
-- reveals a week that was hidden when people answered. Weeks closed before this take today's k.
ALTER TABLE week_aggregates ADD COLUMN min_count INTEGER NOT NULL DEFAULT 5;
UPDATE week_aggregates SET min_count = (SELECT MAX(min_count) FROM group_settings)
    WHERE EXISTS (SELECT 1 FROM group_settings);
