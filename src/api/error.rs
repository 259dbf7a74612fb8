//! API errors and their stable codes.
//!
//! Every error a client sees carries `extensions.code`, one of [`ErrorCode`]'s words. Messages
//! say what is wrong in the caller's terms; internal failures (SQL, I/O) are logged once with
//! a reference and answered as `INTERNAL` with only that reference.

use std::time::Duration;

use async_graphql::ErrorExtensions;
use serde::Serialize;

use crate::spec::load::LoadErrors;
use crate::store::StoreError;

/// The stable error codes of `extensions.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// No token, or a token that is unknown or revoked.
    Unauthenticated,
    /// The token may not do this (e.g. apply a document of another project).
    Forbidden,
    /// The resource does not exist, or the token may not see it.
    NotFound,
    /// A document or input is invalid; `extensions.problems` lists where and why.
    InvalidSpec,
    /// The write conflicts with the stored state (already exists, being deleted, stale).
    Conflict,
    /// The token (or, for failed authentications, the client address) sent too many
    /// requests: retry after `extensions.retryAfterSeconds`. Also: too many open WebSocket
    /// connections for the client or token.
    RateLimited,
    /// The request is malformed: not JSON, not a valid GraphQL operation, a bad argument.
    BadRequest,
    /// A subscription fell so far behind that changes it had not read were pruned; it ends,
    /// and the client subscribes again and re-reads the resources.
    Expired,
    /// The query is nested too deep or too complex, or holds too many mutations or aliases.
    QueryTooComplex,
    /// The request body is larger than the server accepts.
    PayloadTooLarge,
    /// Something failed inside the server; the message holds only a reference to the log.
    Internal,
}

impl ErrorCode {
    /// The word sent as `extensions.code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::InvalidSpec => "INVALID_SPEC",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::Expired => "EXPIRED",
            ErrorCode::QueryTooComplex => "QUERY_TOO_COMPLEX",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// The HTTP status used when the error stops a request before GraphQL runs.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::Expired => 410,
            ErrorCode::RateLimited => 429,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::Internal => 500,
            ErrorCode::InvalidSpec | ErrorCode::BadRequest | ErrorCode::QueryTooComplex => 400,
        }
    }
}

/// One problem in an input: which document, where in it, which field, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The index of the document in `apply(documents:)`; absent for other inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<usize>,
    /// 1-based line within the document's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column within the document's text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// The field path, e.g. `spec.routes["/api/*"]` or `data.routes["api"]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What is wrong and what would be valid.
    pub message: String,
}

impl Problem {
    /// The problem as one line: `documents[0]:9:9: spec.port: message`.
    pub fn line_text(&self) -> String {
        let mut out = String::new();
        if let Some(d) = self.document {
            out.push_str(&format!("documents[{d}]"));
            if let (Some(l), Some(c)) = (self.line, self.column) {
                out.push_str(&format!(":{l}:{c}"));
            }
            out.push_str(": ");
        }
        if let Some(p) = &self.path {
            out.push_str(p);
            out.push_str(": ");
        }
        out.push_str(&self.message);
        out
    }

    /// The problems of a failed load; `label_index` maps a loader label back to its document.
    pub fn from_load_errors(errors: &LoadErrors, label_index: impl Fn(&str) -> usize) -> Vec<Self> {
        errors
            .0
            .iter()
            .map(|e| Problem {
                document: Some(label_index(&e.file)),
                line: Some(e.position.line),
                column: Some(e.position.column),
                path: e.path.clone(),
                message: e.message.clone(),
            })
            .collect()
    }
}

fn summary(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(Problem::line_text).collect();
    format!(
        "{} problem{}; nothing was applied: {}",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        lines.join("; ")
    )
}

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No `Authorization: Bearer` header (or WebSocket init payload).
    #[error("missing token: send `Authorization: Bearer af_…`")]
    MissingToken,
    /// The token is malformed, unknown or revoked (deliberately not said which).
    #[error("invalid or revoked token")]
    InvalidToken,
    /// The token may not do this.
    #[error("{}", summary(.0))]
    Forbidden(Vec<Problem>),
    /// The resource does not exist or the token may not see it.
    #[error("{0} not found")]
    NotFound(String),
    /// Invalid input; nothing was written.
    #[error("{}", summary(.0))]
    InvalidSpec(Vec<Problem>),
    /// The write conflicts with the stored state.
    #[error("{0}")]
    Conflict(String),
    /// Too many requests for this token.
    #[error("rate limit exceeded: retry in {}s", retry_seconds(*.retry_after))]
    RateLimited {
        /// When a request would be accepted again.
        retry_after: Duration,
    },
    /// A malformed request or argument.
    #[error("{0}")]
    BadRequest(String),
    /// A subscription's place in the change feed is gone.
    #[error("{0}")]
    Expired(String),
    /// The query is too deep, too complex, or holds too many mutations or aliases.
    #[error("{0}")]
    TooComplex(String),
    /// The client or token holds as many WebSocket connections as allowed.
    #[error("too many open WebSocket connections (at most {limit}); close one first")]
    TooManyConnections {
        /// The limit.
        limit: usize,
    },
    /// The body is larger than allowed.
    #[error("request body larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// An internal failure, already logged under `reference`.
    #[error("internal error (reference {reference})")]
    Internal {
        /// Where to look in the server's log.
        reference: String,
    },
}

/// Whole seconds to wait, at least one.
pub fn retry_seconds(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

impl ApiError {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::MissingToken | ApiError::InvalidToken => ErrorCode::Unauthenticated,
            ApiError::Forbidden(_) => ErrorCode::Forbidden,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::InvalidSpec(_) => ErrorCode::InvalidSpec,
            ApiError::Conflict(_) => ErrorCode::Conflict,
            ApiError::RateLimited { .. } => ErrorCode::RateLimited,
            ApiError::BadRequest(_) => ErrorCode::BadRequest,
            ApiError::Expired(_) => ErrorCode::Expired,
            ApiError::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            ApiError::TooComplex(_) => ErrorCode::QueryTooComplex,
            ApiError::TooManyConnections { .. } => ErrorCode::RateLimited,
            ApiError::Internal { .. } => ErrorCode::Internal,
        }
    }

    /// Logs an internal failure once, with a fresh reference, and returns the error a client
    /// may see.
    pub fn internal(what: &str, cause: &dyn std::fmt::Display) -> ApiError {
        let reference = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        tracing::error!(reference = %reference, error = %cause, "{what}");
        ApiError::Internal { reference }
    }

    /// The client's view of a store failure.
    pub fn from_store(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(key) => ApiError::NotFound(key.to_string()),
            StoreError::Conflict { .. } | StoreError::BeingDeleted(_) => {
                ApiError::Conflict(e.to_string())
            }
            StoreError::Expired { .. } => ApiError::Expired(e.to_string()),
            other => ApiError::internal("store failure", &other),
        }
    }

    /// The GraphQL error, with `extensions.code` and, where they apply, `problems` or
    /// `retryAfterSeconds`.
    pub fn to_graphql(&self) -> async_graphql::Error {
        let code = self.code().as_str();
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", code);
            match self {
                ApiError::Forbidden(problems) | ApiError::InvalidSpec(problems) => {
                    if let Ok(v) = async_graphql::Value::from_json(
                        serde_json::to_value(problems).unwrap_or_default(),
                    ) {
                        ext.set("problems", v);
                    }
                }
                ApiError::RateLimited { retry_after } => {
                    ext.set("retryAfterSeconds", retry_seconds(*retry_after));
                }
                _ => {}
            }
        })
    }

    /// The body of an HTTP response for an error that stopped the request before GraphQL
    /// ran: `{"errors": [{"message", "extensions": {"code"}}]}`.
    pub fn to_response_json(&self) -> serde_json::Value {
        let err = self.to_graphql();
        let extensions = err
            .extensions
            .as_ref()
            .and_then(|e| serde_json::to_value(e).ok())
            .unwrap_or_default();
        serde_json::json!({
            "data": null,
            "errors": [{"message": err.message, "extensions": extensions}]
        })
    }
}

/// Runs a resolver's body and turns its [`ApiError`] into the GraphQL error with its code.
/// Resolvers go through this instead of a bare `?` on an `ApiError`, which async-graphql's
/// blanket `From<impl Display>` would turn into an error without a code.
pub async fn gql<T>(
    body: impl std::future::Future<Output = Result<T, ApiError>>,
) -> async_graphql::Result<T> {
    body.await.map_err(|e| e.to_graphql())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_seconds_round_up_and_never_say_zero() {
        assert_eq!(retry_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(retry_seconds(Duration::from_secs(3)), 3);
        assert_eq!(retry_seconds(Duration::ZERO), 1);
    }

    #[test]
    fn internal_errors_show_only_a_reference() {
        let e = ApiError::internal("test", &"SELECT * FROM secret_table failed");
        let json = e.to_response_json().to_string();
        assert!(!json.contains("SELECT"), "{json}");
        assert!(json.contains("INTERNAL"), "{json}");
    }

    #[test]
    fn problems_travel_in_extensions() {
        let e = ApiError::InvalidSpec(vec![Problem {
            document: Some(1),
            line: Some(9),
            column: Some(9),
            path: Some("spec.port".into()),
            message: "wrong type".into(),
        }]);
        assert_eq!(
            e.to_string(),
            "1 problem; nothing was applied: documents[1]:9:9: spec.port: wrong type"
        );
        let json = e.to_response_json();
        assert_eq!(json["errors"][0]["extensions"]["code"], "INVALID_SPEC");
        assert_eq!(json["errors"][0]["extensions"]["problems"][0]["line"], 9);
        assert_eq!(
            json["errors"][0]["extensions"]["problems"][0]["path"],
            "spec.port"
        );
    }
}
