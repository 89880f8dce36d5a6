-- Group settings: description, when weeks close, the minimum count k, and the coarse profile.
ALTER TABLE group_settings ADD COLUMN description TEXT NOT NULL DEFAULT '';
ALTER TABLE group_settings ADD COLUMN close_weekday INTEGER NOT NULL DEFAULT 1 CHECK (close_weekday BETWEEN 1 AND 7);
ALTER TABLE group_settings ADD COLUMN close_hour INTEGER NOT NULL DEFAULT 0 CHECK (close_hour BETWEEN 0 AND 23);
ALTER TABLE group_settings ADD COLUMN min_count INTEGER NOT NULL DEFAULT 5 CHECK (min_count >= 3);
ALTER TABLE group_settings ADD COLUMN region TEXT;
ALTER TABLE group_settings ADD COLUMN size_band TEXT;

CREATE TABLE group_focuses (
    focus TEXT PRIMARY KEY NOT NULL
);

-- One frozen aggregate per closed week, computed once at close and never updated.
CREATE TABLE week_aggregates (
    week TEXT PRIMARY KEY NOT NULL,
    closed_at TIMESTAMP NOT NULL,
    respondents INTEGER NOT NULL,
    who5_pct_sum INTEGER NOT NULL,
    low_wellbeing INTEGER NOT NULL,
    burnout INTEGER NOT NULL,
    time_pressure INTEGER NOT NULL,
    paid_sum INTEGER NOT NULL,
    unpaid_sum INTEGER NOT NULL,
    funding_sum INTEGER NOT NULL
);

-- Each member's choice about network sharing. No row means not given.
CREATE TABLE network_consents (
    account_id BIGINT PRIMARY KEY NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    granted BOOLEAN NOT NULL,
    changed_at TIMESTAMP NOT NULL
);
