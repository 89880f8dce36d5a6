-- The group this instance serves. Exactly one row, id 1.
CREATE TABLE group_settings (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('member', 'facilitator')),
    password_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    last_login_at TIMESTAMP
);

-- Only a hash of each invite token is kept: a copied database cannot be used to join.
CREATE TABLE invites (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('member', 'facilitator')),
    created_by BIGINT REFERENCES accounts (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    used_by BIGINT REFERENCES accounts (id) ON DELETE SET NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    account_id BIGINT REFERENCES accounts (id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_account_id ON sessions (account_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- One row per member per ISO week (YYYY-Www) in the group's time zone.
CREATE TABLE checkins (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    week TEXT NOT NULL,
    who5_1 INTEGER NOT NULL CHECK (who5_1 BETWEEN 0 AND 5),
    who5_2 INTEGER NOT NULL CHECK (who5_2 BETWEEN 0 AND 5),
    who5_3 INTEGER NOT NULL CHECK (who5_3 BETWEEN 0 AND 5),
    who5_4 INTEGER NOT NULL CHECK (who5_4 BETWEEN 0 AND 5),
    who5_5 INTEGER NOT NULL CHECK (who5_5 BETWEEN 0 AND 5),
    burnout INTEGER NOT NULL CHECK (burnout BETWEEN 1 AND 5),
    paid_hours INTEGER NOT NULL CHECK (paid_hours BETWEEN 0 AND 100),
    unpaid_hours INTEGER NOT NULL CHECK (unpaid_hours BETWEEN 0 AND 100),
    funding_hours INTEGER NOT NULL CHECK (funding_hours BETWEEN 0 AND 100),
    time_pressure INTEGER NOT NULL CHECK (time_pressure BETWEEN 0 AND 4),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (account_id, week)
);

-- Private notes live apart from answers: nothing that aggregates check-ins ever reads this table.
CREATE TABLE checkin_notes (
    checkin_id BIGINT PRIMARY KEY NOT NULL REFERENCES checkins (id) ON DELETE CASCADE,
    note TEXT NOT NULL
);

CREATE TABLE instance_keys (
    id INTEGER PRIMARY KEY,
    public_pem TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
