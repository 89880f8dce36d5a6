//! What the data layer keeps in memory: sessions and the accounts they are signed in as, which
//! nearly every request reads and few change, and each person's own check-in for a week (the
//! check-in form shows it), which only its author's saves change; and peers' memberships, which
//! every activity a peer sends reads and which change when a group joins, leaves or is fetched.
//!
//! Every write made through a [`Db`](crate::Db) forgets what it changes, once it is stored.
//! Entries are also trusted only for [`FRESH`], which bounds how late a change made by another
//! process on the same database shows. A read that raced a write cannot leave the old value
//! behind: each table has a generation that every forgetting write moves on, and a value read
//! from the database is kept only if the generation has not moved since the read began.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hearth_core::IsoWeek;

use crate::{Account, Membership, SessionRow, StoredCheckin};

/// How long an entry is trusted without being read again.
const FRESH: Duration = Duration::from_secs(5);

/// Entries a table holds at most; past this it starts again. An instance has far fewer people
/// signed in; the bound only stops a flood of sign-ins from growing memory.
const MAX_ENTRIES: usize = 10_000;

struct Entry<V> {
    at: Instant,
    value: V,
}

pub(crate) struct Table<K, V> {
    map: RwLock<HashMap<K, Entry<V>>>,
    generation: AtomicU64,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }
}

/// Where a read from the database started, for [`Table::keep`]: the generation, and when (an
/// entry is as old as the read that made it, however long it waited for a connection).
#[derive(Clone, Copy)]
pub(crate) struct ReadStart(u64, Instant);

impl<K: Hash + Eq, V: Clone> Table<K, V> {
    /// The value kept under `key`, if still fresh.
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let map = self.map.read().ok()?;
        let entry = map.get(key)?;
        (entry.at.elapsed() < FRESH).then(|| entry.value.clone())
    }

    /// Call before reading from the database what may then be kept.
    pub(crate) fn start_read(&self) -> ReadStart {
        ReadStart(self.generation.load(Ordering::Acquire), Instant::now())
    }

    /// Keeps a value read from the database, unless a write forgot anything since `start`.
    pub(crate) fn keep(&self, start: ReadStart, key: K, value: V) {
        if let Ok(mut map) = self.map.write()
            && self.generation.load(Ordering::Acquire) == start.0
        {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(key, Entry { at: start.1, value });
        }
    }

    /// Forgets `key`; call after the write that changed it is stored.
    pub(crate) fn forget<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Ok(mut map) = self.map.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            map.remove(key);
        }
    }

    /// Forgets every entry that matches.
    pub(crate) fn forget_where(&self, matches: impl Fn(&K, &V) -> bool) {
        if let Ok(mut map) = self.map.write() {
            self.generation.fetch_add(1, Ordering::AcqRel);
            map.retain(|k, e| !matches(k, &e.value));
        }
    }
}

#[derive(Default)]
pub(crate) struct Cache {
    /// Session id → its stored row.
    pub(crate) sessions: Table<String, SessionRow>,
    /// Account id → the account.
    pub(crate) accounts: Table<i64, Account>,
    /// (account id, week) → that person's check-in for the week, or none yet.
    pub(crate) checkins: Table<(i64, IsoWeek), Option<StoredCheckin>>,
    /// Actor URL → that peer's membership, or none: read for every activity a peer sends.
    pub(crate) memberships: Table<String, Option<Membership>>,
}

impl crate::Db {
    /// Forgets everything kept in memory: for whoever changes the database by other means than
    /// this `Db` (a test's raw SQL) and needs the change seen at once.
    pub fn forget_cached(&self) {
        self.cache.sessions.forget_where(|_, _| true);
        self.cache.accounts.forget_where(|_, _| true);
        self.cache.checkins.forget_where(|_, _| true);
        self.cache.memberships.forget_where(|_, _| true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_read_before_a_write_is_not_kept() {
        let t: Table<i64, &str> = Table::default();
        let start = t.start_read();
        // A write lands (and forgets) while the old value is being read.
        t.forget(&1);
        t.keep(start, 1, "old");
        assert_eq!(t.get(&1), None);
        let start = t.start_read();
        t.keep(start, 1, "new");
        assert_eq!(t.get(&1), Some("new"));
        t.forget_where(|_, v| *v == "new");
        assert_eq!(t.get(&1), None);
    }

    #[test]
    fn the_table_is_bounded() {
        let t: Table<usize, usize> = Table::default();
        for i in 0..MAX_ENTRIES + 5 {
            t.keep(t.start_read(), i, i);
        }
        assert!(t.map.read().unwrap().len() <= MAX_ENTRIES);
        assert_eq!(t.get(&(MAX_ENTRIES + 4)), Some(MAX_ENTRIES + 4));
    }
}
