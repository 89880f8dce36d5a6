use thiserror::Error;

/// Everything the data layer can fail with. Callers map these to HTTP statuses or CLI messages.
#[derive(Debug, Error)]
pub enum DbError {
    #[error("not found")]
    NotFound,
    /// A uniqueness rule was broken; the string names what clashed, in words for a person.
    #[error("{0} is already taken")]
    Conflict(&'static str),
    #[error("unsupported database URL {0:?}: use a file path, sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("could not connect to the database: {0}")]
    Connect(String),
    #[error("the database connection pool failed: {0}")]
    Pool(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("stored data is invalid: {0}")]
    InvalidData(String),
    #[error("database error: {0}")]
    Query(diesel::result::Error),
    /// A batch of writes could not be committed; none of them was saved.
    #[error("the database could not save: {0}")]
    Commit(String),
    /// The operation exists for one backend only; the string says what to use instead.
    #[error("{0}")]
    NotSupported(&'static str),
}

impl From<diesel::result::Error> for DbError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => DbError::NotFound,
            other => DbError::Query(other),
        }
    }
}

impl DbError {
    /// Maps a unique-constraint violation to [`DbError::Conflict`] with a readable name.
    pub(crate) fn unique(e: diesel::result::Error, what: &'static str) -> Self {
        match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => DbError::Conflict(what),
            other => other.into(),
        }
    }
}
