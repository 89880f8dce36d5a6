-- The summary Note exactly as it was published (or last updated), without its @context, so
-- that a fetch, the outbox and a late follower get what followers were sent, with the same
-- addressing and publication time. Summaries published before this have none and are made
-- again from the reports held when fetched.
ALTER TABLE published_summaries ADD COLUMN note TEXT;
ALTER TABLE published_summaries ADD COLUMN updated_at TIMESTAMP;
