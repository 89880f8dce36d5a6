-- Whether this instance serves a group or is a network hub, and whether a hub accepts
-- join requests at once.
ALTER TABLE group_settings ADD COLUMN instance_role TEXT NOT NULL DEFAULT 'group' CHECK (instance_role IN ('group', 'hub'));
ALTER TABLE group_settings ADD COLUMN hub_auto_accept BOOLEAN NOT NULL DEFAULT FALSE;

-- Remote actors this instance has dealt with: hubs a group follows, groups that asked a hub.
CREATE TABLE peers (
    id BIGSERIAL PRIMARY KEY,
    actor_url TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    inbox TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    profile TEXT NOT NULL,
    fetched_at TIMESTAMP NOT NULL
);

-- A group's membership of a hub (on a group instance) or a group's request to join (on a hub).
-- Leaving deletes the row.
CREATE TABLE memberships (
    peer_id BIGINT PRIMARY KEY NOT NULL REFERENCES peers (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('pending', 'accepted', 'rejected')),
    follow_id TEXT NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Every outgoing activity, written in the same transaction as the change that caused it, and
-- delivered by the outbox worker: in order per inbox, with retries, surviving restarts.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    activity_id TEXT NOT NULL,
    activity_type TEXT NOT NULL,
    inbox TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP,
    UNIQUE (activity_id, inbox)
);
CREATE INDEX outbox_pending ON outbox (state, id);

-- Ids of activities already received, so a repeated delivery changes nothing.
CREATE TABLE received_activities (
    activity_id TEXT PRIMARY KEY NOT NULL,
    received_at TIMESTAMP NOT NULL
);
