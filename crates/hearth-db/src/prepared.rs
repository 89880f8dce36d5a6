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

/// One bound value of a [`Rows`] statement.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Text(&'a str),
    Integer(i32),
    BigInt(i64),
}

/// A multi-row `INSERT` (or upsert) with its values bound, whose prepared statement is kept.
/// Diesel neither keeps a raw `sql_query` nor builds multi-row inserts for every table on
/// SQLite; preparing a received report's rollup upsert afresh was an eighth of the hub's CPU.
/// The statement is found again by its SQL, which differs only by the number of rows.
#[derive(Debug, Clone)]
pub(crate) struct Rows<'a> {
    /// Up to and including `VALUES `.
    pub(crate) head: &'static str,
    /// Values per row.
    pub(crate) width: usize,
    /// Row after row, `width` each.
    pub(crate) values: Vec<Value<'a>>,
    /// After the rows, e.g. an `ON CONFLICT` clause.
    pub(crate) tail: &'static str,
}

impl QueryId for Rows<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<DB> QueryFragment<DB> for Rows<'_>
where
    DB: Backend
        + diesel::sql_types::HasSqlType<diesel::sql_types::Text>
        + diesel::sql_types::HasSqlType<diesel::sql_types::Integer>
        + diesel::sql_types::HasSqlType<diesel::sql_types::BigInt>,
    str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
    i32: diesel::serialize::ToSql<diesel::sql_types::Integer, DB>,
    i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(self.head);
        for (r, row) in self.values.chunks(self.width.max(1)).enumerate() {
            out.push_sql(if r == 0 { "(" } else { ", (" });
            for (i, v) in row.iter().enumerate() {
                if i > 0 {
                    out.push_sql(", ");
                }
                match v {
                    Value::Text(s) => out.push_bind_param::<diesel::sql_types::Text, _>(*s)?,
                    Value::Integer(n) => out.push_bind_param::<diesel::sql_types::Integer, _>(n)?,
                    Value::BigInt(n) => out.push_bind_param::<diesel::sql_types::BigInt, _>(n)?,
                }
            }
            out.push_sql(")");
        }
        out.push_sql(self.tail);
        Ok(())
    }

    fn is_safe_to_cache_prepared(&self, _backend: &DB) -> QueryResult<bool> {
        Ok(true)
    }
}
