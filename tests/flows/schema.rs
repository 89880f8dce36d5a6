//! Both migration folders must produce exactly the tables and columns `schema.rs` declares,
//! with matching types and nullability. Parses `schema.rs` itself, so the three cannot drift.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::collections::BTreeMap;

use diesel::QueryableByName;
use diesel::sql_types::{Integer, Text};
use diesel_async::RunQueryDsl;
use hearth_db::{Conn, Db};
use hearth_testkit::{Backend, TestDb, postgres_admin_url};

/// table → column → (diesel type, nullable)
type Schema = BTreeMap<String, BTreeMap<String, (String, bool)>>;

fn declared() -> Schema {
    let src = include_str!("../../crates/hearth-db/src/schema.rs");
    let mut schema = Schema::new();
    let mut current: Option<String> = None;
    for line in src.lines().map(str::trim) {
        if let Some(rest) = line.strip_suffix('{')
            && let Some((name, _pk)) = rest.trim().split_once(" (")
            && !name.contains("table!")
        {
            current = Some(name.trim().to_owned());
            schema.insert(name.trim().to_owned(), BTreeMap::new());
        } else if let (Some(t), Some((col, ty))) = (&current, line.split_once(" -> ")) {
            let ty = ty.trim_end_matches(',');
            let (ty, nullable) = match ty.strip_prefix("Nullable<") {
                Some(inner) => (inner.trim_end_matches('>').to_owned(), true),
                None => (ty.to_owned(), false),
            };
            schema
                .get_mut(t)
                .map(|cols| cols.insert(col.to_owned(), (ty, nullable)));
        } else if line == "}" {
            current = None;
        }
    }
    schema
}

fn diesel_type_sqlite(sql: &str) -> String {
    match sql.to_ascii_uppercase().as_str() {
        "INTEGER" => "Integer|BigInt",
        "BIGINT" => "BigInt",
        "TEXT" => "Text",
        "TIMESTAMP" => "Timestamp",
        "BOOLEAN" => "Bool",
        other => panic!("unexpected SQLite type {other}"),
    }
    .to_owned()
}

fn diesel_type_pg(sql: &str) -> String {
    match sql {
        "integer" => "Integer",
        "bigint" => "BigInt",
        "text" => "Text",
        "timestamp without time zone" => "Timestamp",
        "boolean" => "Bool",
        other => panic!("unexpected PostgreSQL type {other}"),
    }
    .to_owned()
}

#[derive(QueryableByName)]
struct SqliteTable {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct SqliteColumn {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text, column_name = "type")]
    ty: String,
    #[diesel(sql_type = Integer)]
    notnull: i32,
    #[diesel(sql_type = Integer)]
    pk: i32,
}

#[derive(QueryableByName)]
struct PgColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

/// table → column → (diesel type(s), nullable), as the database has it.
async fn actual(db: &Db) -> Schema {
    let mut schema = Schema::new();
    match &mut db.conn().await.unwrap() {
        Conn::Sqlite(c) => {
            let tables: Vec<SqliteTable> = diesel::sql_query(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '__diesel_schema_migrations'",
            )
            .load(&mut **c)
            .await
            .unwrap();
            for t in tables {
                let cols: Vec<SqliteColumn> =
                    diesel::sql_query(format!("PRAGMA table_info({})", t.name))
                        .load(&mut **c)
                        .await
                        .unwrap();
                let entry = schema.entry(t.name).or_default();
                for col in cols {
                    // An INTEGER PRIMARY KEY is the rowid: never null, whatever table_info says.
                    entry.insert(
                        col.name,
                        (diesel_type_sqlite(&col.ty), col.notnull == 0 && col.pk == 0),
                    );
                }
            }
        }
        Conn::Postgres(c) => {
            let cols: Vec<PgColumn> = diesel::sql_query(
                "SELECT table_name::text AS table_name, column_name::text AS column_name, data_type::text AS data_type, is_nullable::text AS is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
            )
            .load(&mut **c)
            .await
            .unwrap();
            for col in cols {
                schema.entry(col.table_name).or_default().insert(
                    col.column_name,
                    (diesel_type_pg(&col.data_type), col.is_nullable == "YES"),
                );
            }
        }
    }
    schema
}

async fn check(backend: Backend) {
    let test_db = TestDb::create(backend).await;
    let db = Db::open(test_db.url()).await.unwrap();
    let declared = declared();
    assert!(
        declared.len() >= 7,
        "parsed {} tables from schema.rs",
        declared.len()
    );
    let actual = actual(&db).await;
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        declared.keys().collect::<Vec<_>>(),
        "{backend:?}: tables differ"
    );
    for (table, cols) in &declared {
        let have = &actual[table];
        assert_eq!(
            have.keys().collect::<Vec<_>>(),
            cols.keys().collect::<Vec<_>>(),
            "{backend:?}: columns of {table} differ"
        );
        for (col, (ty, nullable)) in cols {
            let (db_ty, db_nullable) = &have[col];
            assert!(
                db_ty.split('|').any(|t| t == ty),
                "{backend:?}: {table}.{col} is {db_ty} in the database, {ty} in schema.rs"
            );
            assert_eq!(
                db_nullable, nullable,
                "{backend:?}: nullability of {table}.{col}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_migrations_match_schema_rs() {
    check(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrations_match_schema_rs() {
    if postgres_admin_url().is_none() {
        eprintln!("skipped: HEARTH_TEST_POSTGRES is not set");
        return;
    }
    check(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_paired_by_name() {
    let names = |dir: &str| {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let base = concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations");
    assert_eq!(
        names(&format!("{base}/sqlite")),
        names(&format!("{base}/postgres"))
    );
}
