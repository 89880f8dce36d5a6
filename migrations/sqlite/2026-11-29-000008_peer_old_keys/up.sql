-- A peer's previous public keys, kept when it rotates: requests it signed with one still verify
-- for a grace period after the change.
CREATE TABLE peer_old_keys (
    peer_id BIGINT NOT NULL REFERENCES peers (id) ON DELETE CASCADE,
    public_key_pem TEXT NOT NULL,
    replaced_at TIMESTAMP NOT NULL,
    PRIMARY KEY (peer_id, public_key_pem)
);
