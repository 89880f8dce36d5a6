-- A remote actor's shared inbox (endpoints.sharedInbox), where it offers one: a summary goes
-- once to each server rather than once to each follower on it.
ALTER TABLE peers ADD COLUMN shared_inbox TEXT;
