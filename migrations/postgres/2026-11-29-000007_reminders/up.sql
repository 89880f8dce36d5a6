-- Weekly email reminders, for members who give an address. The day is the group's choice
-- (ISO weekday, 1 = Monday); the token makes the one-click unsubscribe link.
CREATE TABLE reminder_settings (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7)
);
CREATE TABLE reminder_emails (
    account_id BIGINT PRIMARY KEY NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    address TEXT NOT NULL,
    stop_token TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    last_sent_week TEXT
);
