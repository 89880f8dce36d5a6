//! Keeping writes' prepared statements.
//!
//! Diesel prepares every `UPDATE` and every upsert (`ON CONFLICT … DO UPDATE`) afresh on each
//! run, because a changeset with optional fields can change the SQL from one call to the next.
//! Statements wrapped here are kept: by their query type where that type fixes the SQL (found
//! again without building the SQL text, which was a twelfth of a check-in's CPU), by their SQL
//! text otherwise (a multi-row insert, whose row count is not in its type). On SQLite,
//! preparing was a fifth of a check-in's CPU time.

use diesel::QueryResult;
use diesel::backend::Backend;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

/// A query whose prepared statement is kept. Wrap only statements whose SQL takes a bounded
/// number of shapes (not `IN` lists of any length) and whose changeset has no optional fields
/// (an `Option` in a changeset changes the SQL without changing the query's type).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reuse<Q>(pub(crate) Q);

impl<Q: QueryId> QueryId for Reuse<Q> {
    type QueryId = Reuse<Q::QueryId>;
    const HAS_STATIC_QUERY_ID: bool = Q::HAS_STATIC_QUERY_ID;
}

impl<Q: Query> Query for Reuse<Q> {
    type SqlType = Q::SqlType;
}

impl<Q: QueryFragment<DB>, DB: Backend> QueryFragment<DB> for Reuse<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}
