//! Keeping writes' prepared statements.
//!
//! Diesel prepares every `UPDATE` and every upsert (`ON CONFLICT … DO UPDATE`) afresh on each
//! run, because a changeset with optional fields can change the SQL from one call to the next.
//! Statements wrapped here are kept, and found again by a type of their own rather than by
//! their SQL text, which diesel would build on every run to look them up (a twentieth of a
//! received report's CPU). On SQLite, preparing was a fifth of a check-in's CPU time.

use diesel::QueryResult;
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

/// A query whose prepared statement is kept, found again by the type `K`: one type per
/// statement, made by [`reuse!`]. Wrap only statements whose SQL is the same on every run (no
/// `IN` lists, no optional fields in a changeset, no multi-row inserts): `K` stands for the SQL.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reuse<K, Q>(pub(crate) Q, pub(crate) std::marker::PhantomData<K>);

/// Wraps a query in [`Reuse`] with a key type of its own (each place the macro is written
/// declares one).
macro_rules! reuse {
    ($q:expr $(,)?) => {{
        struct Statement;
        $crate::prepared::Reuse::<Statement, _>($q, std::marker::PhantomData)
    }};
}
pub(crate) use reuse;

impl<K: 'static, Q> QueryId for Reuse<K, Q> {
    type QueryId = K;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<K, Q: Query> Query for Reuse<K, Q> {
    type SqlType = Q::SqlType;
}

impl<K, Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for Reuse<K, Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}
