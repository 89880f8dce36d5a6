-- A remote actor's preferredUsername, so staff see each reader by its handle (@name@host).
ALTER TABLE peers ADD COLUMN username TEXT;
