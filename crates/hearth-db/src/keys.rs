use chrono::{DateTime, Utc};
use diesel::{ExpressionMethods, OptionalExtension, QueryDsl};
use diesel_async::RunQueryDsl;

use crate::schema::instance_keys;
use crate::{Db, DbError, to_db_time, with_conn};

/// The instance's signing key pair, PEM-encoded (PKCS#8 private, SPKI public).
#[derive(Clone, PartialEq, Eq)]
pub struct InstanceKey {
    pub public_pem: String,
    pub private_pem: String,
}

impl std::fmt::Debug for InstanceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceKey")
            .field("public_pem", &self.public_pem)
            .field("private_pem", &"[redacted]")
            .finish()
    }
}

impl Db {
    /// The newest key pair, if any.
    pub async fn instance_key(&self) -> Result<Option<InstanceKey>, DbError> {
        let mut conn = self.conn().await?;
        let row: Option<(String, String)> = with_conn!(&mut conn, |c| instance_keys::table
            .order(instance_keys::id.desc())
            .select((instance_keys::public_pem, instance_keys::private_pem))
            .first(c)
            .await
            .optional())?;
        Ok(row.map(|(public_pem, private_pem)| InstanceKey {
            public_pem,
            private_pem,
        }))
    }

    pub async fn store_instance_key(
        &self,
        key: &InstanceKey,
        now: DateTime<Utc>,
    ) -> Result<(), DbError> {
        let mut conn = self.write_conn().await?;
        with_conn!(&mut conn, |c| diesel::insert_into(instance_keys::table)
            .values((
                instance_keys::public_pem.eq(&key.public_pem),
                instance_keys::private_pem.eq(&key.private_pem),
                instance_keys::created_at.eq(to_db_time(now)),
            ))
            .execute(c)
            .await)?;
        Ok(())
    }
}
