-- The hub pairs a group's hubs offer, and what the group shares through each. A pair is led by
-- a hub the group belongs to; its helper is named by the pair. `offered` is false once the
-- leader no longer lists the pair, which stops sharing through it.
CREATE TABLE group_pairs (
    id INTEGER PRIMARY KEY,
    leader_peer_id BIGINT NOT NULL REFERENCES peers (id) ON DELETE CASCADE,
    pair_url TEXT NOT NULL UNIQUE,
    helper_actor TEXT NOT NULL,
    cadence TEXT NOT NULL CHECK (cadence IN ('month', 'week')),
    dimensions TEXT NOT NULL,
    sigma_tenths INTEGER NOT NULL CHECK (sigma_tenths > 0),
    min_groups INTEGER NOT NULL CHECK (min_groups >= 5),
    offered BOOLEAN NOT NULL,
    enabled BOOLEAN NOT NULL,
    signals TEXT NOT NULL,
    automatic BOOLEAN NOT NULL,
    enabled_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);

-- A report shared through a pair is logged like one sent to a hub, keyed by the pair's id; it
-- stores what left (ids and sizes), never the two shares, which together are the counts.
ALTER TABLE shared_reports ADD COLUMN through_pair BOOLEAN NOT NULL DEFAULT FALSE;
