-- A hub's own settings for its sector view: the fewest groups any figure needs (never below 5)
-- and whether a public summary page is served.
CREATE TABLE hub_settings (
    id BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    min_groups INTEGER NOT NULL CHECK (min_groups >= 5),
    public_summary BOOLEAN NOT NULL
);

-- Alerts hub staff have acknowledged: one per segment, measure and period.
CREATE TABLE alert_acks (
    segment TEXT NOT NULL,
    measure TEXT NOT NULL,
    period TEXT NOT NULL,
    acknowledged_by BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    acknowledged_at TIMESTAMP NOT NULL,
    PRIMARY KEY (segment, measure, period)
);

-- Sector summaries a hub has published to its followers, one per period.
CREATE TABLE published_summaries (
    period TEXT PRIMARY KEY NOT NULL,
    object_id TEXT NOT NULL,
    published_at TIMESTAMP NOT NULL
);

-- Sector summaries a group received from its hubs: the figures as sent (JSON), newest kept per
-- hub and period.
CREATE TABLE sector_summaries (
    hub_actor TEXT NOT NULL,
    period TEXT NOT NULL,
    hub_name TEXT NOT NULL,
    figures TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (hub_actor, period)
);

-- The segments a report counts in, fixed when it arrives (comma-separated keys), so removing
-- or replacing it takes out exactly what it added.
ALTER TABLE received_reports ADD COLUMN segments TEXT NOT NULL DEFAULT 'network';

-- Sums over every report per segment, measure and period, kept up to date in the same
-- transaction as each report stored, replaced or erased: the sector pages read only this, so
-- they cost the same with 50 groups or 5,000. Noise variance is Σσ² in hundredths (σ is in
-- tenths), an exact integer.
CREATE TABLE sector_rollups (
    segment TEXT NOT NULL,
    measure TEXT NOT NULL,
    period TEXT NOT NULL,
    groups INTEGER NOT NULL,
    respondents BIGINT NOT NULL,
    total BIGINT NOT NULL,
    sigma_sq_hundredths BIGINT NOT NULL,
    PRIMARY KEY (segment, measure, period)
);

-- Bumped in the same transaction as every change to the rollups, so a hub can keep its
-- computed sector picture until the next change.
CREATE TABLE sector_version (
    id BIGINT PRIMARY KEY NOT NULL CHECK (id = 1),
    version BIGINT NOT NULL
);
