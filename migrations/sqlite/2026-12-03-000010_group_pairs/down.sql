ALTER TABLE shared_reports DROP COLUMN through_pair;
DROP TABLE group_pairs;
