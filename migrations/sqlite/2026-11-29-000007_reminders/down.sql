DROP TABLE reminder_emails;
DROP TABLE reminder_settings;
