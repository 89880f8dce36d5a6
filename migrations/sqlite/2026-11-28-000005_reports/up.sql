-- A group's sharing settings for one hub it has joined. No row, or enabled = false: nothing is
-- shared. Leaving the hub deletes the row.
CREATE TABLE hub_sharing (
    peer_id BIGINT PRIMARY KEY NOT NULL REFERENCES peers (id) ON DELETE CASCADE,
    enabled BOOLEAN NOT NULL,
    signals TEXT NOT NULL,
    cadence TEXT NOT NULL CHECK (cadence IN ('month', 'week')),
    level TEXT NOT NULL,
    automatic BOOLEAN NOT NULL,
    -- When sharing was last turned on: periods that closed before it are never reported.
    enabled_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);

-- Every report a group made for a hub, sent or not: the audit log and the privacy budget
-- ledger in one. Keyed by the hub's actor URL so neither is lost when the group leaves the hub
-- (and rejoining cannot reset the budget). Exact counts are never stored; `activity` is the
-- exact JSON that is (or would be) signed and sent.
CREATE TABLE shared_reports (
    id INTEGER PRIMARY KEY,
    hub_actor TEXT NOT NULL,
    hub_name TEXT NOT NULL,
    period TEXT NOT NULL,
    budget_year INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('awaiting_approval', 'sent', 'declined', 'suppressed', 'over_budget')),
    rho_nanos BIGINT NOT NULL CHECK (rho_nanos >= 0),
    object_id TEXT UNIQUE,
    activity TEXT,
    created_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP,
    erasure_requested_at TIMESTAMP,
    UNIQUE (hub_actor, period)
);
CREATE INDEX shared_reports_ledger ON shared_reports (hub_actor, budget_year);

-- Reports a hub received from its member groups: one per group and period; an Update replaces
-- it, a Delete from the group (or its leaving with erasure) removes all of the group's.
CREATE TABLE received_reports (
    id INTEGER PRIMARY KEY,
    peer_id BIGINT NOT NULL REFERENCES peers (id) ON DELETE CASCADE,
    object_id TEXT NOT NULL UNIQUE,
    period TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    sigma_tenths INTEGER NOT NULL,
    rho_nanos BIGINT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (peer_id, period)
);

-- One noisy count per signal of a received report (long form, so sums by signal and period
-- are one GROUP BY).
CREATE TABLE received_report_counts (
    report_id BIGINT NOT NULL REFERENCES received_reports (id) ON DELETE CASCADE,
    signal TEXT NOT NULL,
    value BIGINT NOT NULL,
    PRIMARY KEY (report_id, signal)
);
