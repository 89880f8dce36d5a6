-- The rules a check-in's answers follow that the columns' own CHECKs do not cover, enforced by
-- the database itself, so no row can hold what the application refuses. NOT VALID: rows already
-- stored are not re-checked here (the application leaves out any that fail); every new or changed
-- row is.
ALTER TABLE checkins ADD CONSTRAINT checkins_funding_within_hours
    CHECK (funding_hours <= paid_hours + unpaid_hours) NOT VALID;
ALTER TABLE checkin_notes ADD CONSTRAINT checkin_notes_length
    CHECK (char_length(note) <= 2000) NOT VALID;
