-- A hub pair: two hubs run by different organisations that sum groups' reports together, so
-- that neither learns any group's counts. Each hub keeps its own row, with its role in the pair.
-- The verify key is shared by the two hubs alone; groups never see it.
CREATE TABLE hub_pairs (
    id BIGSERIAL PRIMARY KEY,
    pair_url TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('leader', 'helper')),
    peer_id BIGINT NOT NULL REFERENCES peers (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('proposed', 'accepted', 'declined', 'ended')),
    verify_key TEXT NOT NULL,
    cadence TEXT NOT NULL CHECK (cadence IN ('month', 'week')),
    dimensions TEXT NOT NULL,
    sigma_tenths INTEGER NOT NULL CHECK (sigma_tenths > 0),
    min_groups INTEGER NOT NULL CHECK (min_groups >= 5),
    created_at TIMESTAMP NOT NULL,
    decided_at TIMESTAMP
);

-- This hub's half of each group's report to a pair: one per group and period, refused once the
-- period's aggregation has begun. A share is random on its own; `output_share` is its checked
-- contribution; `batches` the segments of the batches it was released in here (comma-separated),
-- so no report enters two batches of one dimension.
CREATE TABLE pair_shares (
    id BIGSERIAL PRIMARY KEY,
    pair_id BIGINT NOT NULL REFERENCES hub_pairs (id) ON DELETE CASCADE,
    peer_id BIGINT NOT NULL REFERENCES peers (id) ON DELETE CASCADE,
    period TEXT NOT NULL,
    nonce TEXT NOT NULL,
    public_share TEXT NOT NULL,
    input_share TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('received', 'sent', 'checked', 'refused')),
    output_share TEXT,
    batches TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    UNIQUE (pair_id, nonce),
    UNIQUE (pair_id, peer_id, period)
);

-- What this hub released for a batch (segment and period): its noisy aggregate share, kept so
-- that a repeated collection gets the same bytes and no batch is released twice.
CREATE TABLE pair_batches (
    pair_id BIGINT NOT NULL REFERENCES hub_pairs (id) ON DELETE CASCADE,
    segment TEXT NOT NULL,
    period TEXT NOT NULL,
    reports INTEGER NOT NULL,
    aggregate_share TEXT NOT NULL,
    released_at TIMESTAMP NOT NULL,
    PRIMARY KEY (pair_id, segment, period)
);

-- At the leader: a batch's released sums, with both hubs' noise, in the measurement's order
-- (respondents, every count, every signal's withheld respondents), as a JSON array.
CREATE TABLE pair_releases (
    pair_id BIGINT NOT NULL REFERENCES hub_pairs (id) ON DELETE CASCADE,
    segment TEXT NOT NULL,
    period TEXT NOT NULL,
    groups INTEGER NOT NULL,
    sigma_tenths INTEGER NOT NULL,
    sums TEXT NOT NULL,
    released_at TIMESTAMP NOT NULL,
    PRIMARY KEY (pair_id, segment, period)
);
