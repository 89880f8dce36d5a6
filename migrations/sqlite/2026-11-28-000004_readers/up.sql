-- Fediverse accounts that follow a hub to read its public summaries. Readers are never
-- members: nothing private is ever sent to them.
CREATE TABLE readers (
    peer_id BIGINT PRIMARY KEY NOT NULL REFERENCES peers (id) ON DELETE CASCADE,
    follow_id TEXT NOT NULL,
    followed_at TIMESTAMP NOT NULL
);
