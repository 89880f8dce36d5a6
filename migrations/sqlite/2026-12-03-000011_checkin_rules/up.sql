-- The rules a check-in's answers follow that the columns' own CHECKs do not cover, enforced by
-- the database itself, so no row can hold what the application refuses. SQLite cannot add a
-- CHECK to an existing table, so triggers refuse such writes; rows already stored are left as
-- they are (the application leaves out any that fail).
CREATE TRIGGER checkins_funding_within_hours_insert BEFORE INSERT ON checkins
WHEN NEW.funding_hours > NEW.paid_hours + NEW.unpaid_hours
BEGIN
    SELECT RAISE(ABORT, 'funding hours above paid and unpaid hours together');
END;

CREATE TRIGGER checkins_funding_within_hours_update BEFORE UPDATE ON checkins
WHEN NEW.funding_hours > NEW.paid_hours + NEW.unpaid_hours
BEGIN
    SELECT RAISE(ABORT, 'funding hours above paid and unpaid hours together');
END;

CREATE TRIGGER checkin_notes_length_insert BEFORE INSERT ON checkin_notes
WHEN length(NEW.note) > 2000
BEGIN
    SELECT RAISE(ABORT, 'a note longer than allowed');
END;

CREATE TRIGGER checkin_notes_length_update BEFORE UPDATE ON checkin_notes
WHEN length(NEW.note) > 2000
BEGIN
    SELECT RAISE(ABORT, 'a note longer than allowed');
END;
