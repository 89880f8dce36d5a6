ALTER TABLE checkin_notes DROP CONSTRAINT checkin_notes_length;
ALTER TABLE checkins DROP CONSTRAINT checkins_funding_within_hours;
