use axum::http::StatusCode;
use hearth_db::DbError;

/// Everything federation can fail with; [`FedError::status`] maps each to the HTTP status a
/// sender should see, so a bad request is never answered with a 5xx that invites retries.
#[derive(Debug, thiserror::Error)]
pub enum FedError {
    #[error(transparent)]
    Federation(#[from] activitypub_federation::error::Error),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("not allowed: {0}")]
    NotAllowed(String),
    #[error("invalid: {0}")]
    Invalid(String),
    #[error("too large")]
    TooLarge,
    #[error("too many requests")]
    RateLimited,
    #[error("missing or malformed signature")]
    Unsigned,
    /// A signature that does not meet the inbox's policy (see `signing::post_policy`).
    #[error("signature refused: {0}")]
    Signature(String),
    /// A delivery the receiving inbox answered with a final 4xx: sending again would not help.
    #[error("{REFUSED} (HTTP {0})")]
    Refused(u16),
}

/// How a refused delivery's stored error begins (see [`FedError::Refused`]).
pub const REFUSED: &str = "refused by the receiving server";

impl From<serde_json::Error> for FedError {
    fn from(e: serde_json::Error) -> Self {
        FedError::Invalid(e.to_string())
    }
}

impl FedError {
    pub fn status(&self) -> StatusCode {
        use activitypub_federation::error::Error as E;
        match self {
            FedError::Federation(e) => match e {
                E::ActivityBodyDigestInvalid | E::ActivitySignatureInvalid | E::SignError(_) => {
                    StatusCode::UNAUTHORIZED
                }
                E::ParseReceivedActivity { .. } | E::UrlParse(_) | E::Utf8(_) => {
                    StatusCode::BAD_REQUEST
                }
                E::UrlVerificationError(_)
                | E::DomainResolveError(_)
                | E::ResolveInternalIpError(..) => StatusCode::FORBIDDEN,
                // The sender's key could not be fetched, so its signature cannot be checked.
                E::NotFound
                | E::ObjectDeleted(_)
                | E::RequestLimit
                | E::ResponseBodyLimit
                | E::FetchInvalidContentType(_)
                | E::FetchWrongId(_)
                | E::ParseFetchedObject(..)
                | E::Reqwest(_)
                | E::ReqwestMiddleware(_)
                | E::WebfingerResolveFailed(_) => StatusCode::UNAUTHORIZED,
                // The signature library reports malformed signature headers this way.
                E::Other(_) => StatusCode::UNAUTHORIZED,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            FedError::Db(DbError::NotFound) => StatusCode::BAD_REQUEST,
            FedError::Db(DbError::Conflict(_)) => StatusCode::CONFLICT,
            FedError::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
            FedError::NotAllowed(_) => StatusCode::FORBIDDEN,
            FedError::Invalid(_) => StatusCode::BAD_REQUEST,
            FedError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            FedError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            FedError::Unsigned | FedError::Signature(_) => StatusCode::UNAUTHORIZED,
            // Only an outgoing delivery meets this; never an answer to a request.
            FedError::Refused(_) => StatusCode::BAD_GATEWAY,
        }
    }
}
