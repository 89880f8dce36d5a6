DROP TABLE pair_releases;
DROP TABLE pair_batches;
DROP TABLE pair_shares;
DROP TABLE hub_pairs;
