DROP TABLE peer_old_keys;
