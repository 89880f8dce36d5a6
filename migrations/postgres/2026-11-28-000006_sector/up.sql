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
