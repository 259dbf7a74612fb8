//! Tokens and callers: who is asking, and which projects they may see.
//!
//! A token is `af_` followed by 48 lowercase hex digits (192 random bits). Only its BLAKE3
//! digest is stored; the token is printed once, at creation. A token is scoped to one
//! project, or is an admin token that sees every project. Neither a token nor its digest is
//! ever logged: the types here print `<redacted>` in `Debug` and have no `Display`.

use crate::store::{NewToken, TokenStore};

use super::error::ApiError;

/// The prefix every token starts with.
pub const TOKEN_PREFIX: &str = "af_";

/// Random bytes in a token.
const TOKEN_BYTES: usize = 24;

/// A bearer token in clear. Created by [`Token::generate`] (then shown once) or parsed from
/// a request; never stored or logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

/// Token generation failures.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The operating system's random source failed.
    #[error("cannot read random bytes for a token: {0}")]
    Random(getrandom::Error),
    /// The store refused the token.
    #[error("cannot record the token: {0}")]
    Store(#[from] crate::store::StoreError),
}

fn random_hex(bytes: usize) -> Result<String, TokenError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(TokenError::Random)?;
    Ok(hex::encode(buf))
}

impl Token {
    /// A new random token.
    pub fn generate() -> Result<Token, TokenError> {
        Ok(Token(format!("{TOKEN_PREFIX}{}", random_hex(TOKEN_BYTES)?)))
    }

    /// Parses a token as a client sends it; `None` when it cannot be one of ours.
    pub fn parse(text: &str) -> Option<Token> {
        let body = text.strip_prefix(TOKEN_PREFIX)?;
        let ok = body.len() == TOKEN_BYTES * 2
            && body
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| Token(text.to_string()))
    }

    /// The token's text: to print once at creation, or to send as a client.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The hex BLAKE3 digest that the store keeps.
    pub fn digest(&self) -> String {
        blake3::hash(self.0.as_bytes()).to_hex().to_string()
    }
}

/// Creates a token for `project` (every project with `admin`), records its digest, and
/// returns the token in clear together with its record.
pub async fn create_token(
    tokens: &dyn TokenStore,
    project: &str,
    admin: bool,
    description: &str,
) -> Result<(Token, crate::store::TokenRecord), TokenError> {
    let token = Token::generate()?;
    let id = format!("tok_{}", random_hex(8)?);
    let record = tokens
        .create_token(&NewToken {
            id,
            hash: token.digest(),
            project: project.to_string(),
            admin,
            description: description.to_string(),
        })
        .await?;
    Ok((token, record))
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's public id (used for rate limiting and logs).
    pub token_id: String,
    /// The token's project: the default for documents and lookups that name none.
    pub project: String,
    /// Whether the token sees and changes every project.
    pub admin: bool,
}

/// Which projects a listing covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectScope {
    /// Every project (admin tokens only).
    All,
    /// One project.
    One(String),
    /// None: the caller asked for a project it may not see, which looks empty.
    Nothing,
}

impl Caller {
    /// Whether the caller may see and change resources of `project`.
    pub fn may_access(&self, project: &str) -> bool {
        self.admin || self.project == project
    }

    /// The project a single-resource operation addresses: the one asked for, or the token's.
    /// `None` when the caller may not see it, which callers answer as "not found".
    pub fn project_for(&self, requested: Option<&str>) -> Option<String> {
        let p = requested.unwrap_or(&self.project);
        self.may_access(p).then(|| p.to_string())
    }

    /// The projects a listing covers: an admin without a project sees every project; a
    /// project token sees only its own.
    pub fn list_scope(&self, requested: Option<&str>) -> ProjectScope {
        match (requested, self.admin) {
            (None, true) => ProjectScope::All,
            (None, false) => ProjectScope::One(self.project.clone()),
            (Some(p), _) if self.may_access(p) => ProjectScope::One(p.to_string()),
            (Some(_), _) => ProjectScope::Nothing,
        }
    }
}

/// The token in an `Authorization` header value (`Bearer af_…`, scheme case-insensitive).
pub fn bearer(header: &str) -> Result<Token, ApiError> {
    let (scheme, rest) = header
        .trim()
        .split_once(' ')
        .ok_or(ApiError::InvalidToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::InvalidToken);
    }
    Token::parse(rest.trim()).ok_or(ApiError::InvalidToken)
}

/// Looks a token up: the caller it authenticates, or `InvalidToken` when it is unknown or
/// revoked.
pub async fn authenticate(tokens: &dyn TokenStore, token: &Token) -> Result<Caller, ApiError> {
    let record = tokens
        .find_token(&token.digest())
        .await
        .map_err(|e| ApiError::internal("token lookup failed", &e))?;
    match record {
        Some(r) if r.revoked_at.is_none() => Ok(Caller {
            token_id: r.id,
            project: r.project,
            admin: r.admin,
        }),
        _ => Err(ApiError::InvalidToken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_never_print() {
        let t = Token::generate().unwrap();
        assert!(t.expose_secret().starts_with("af_"));
        assert_eq!(t.expose_secret().len(), 3 + 48);
        assert_eq!(Token::parse(t.expose_secret()), Some(t.clone()));
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        assert_ne!(Token::generate().unwrap(), t);
        assert_eq!(t.digest().len(), 64);
        assert!(!t.digest().contains(&t.expose_secret()[3..]));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        for bad in [
            "",
            "af_",
            "af_xyz",
            "bearer",
            &format!("af_{}", "A".repeat(48)),
        ] {
            assert!(Token::parse(bad).is_none(), "{bad}");
        }
        let t = Token::generate().unwrap();
        assert!(bearer(&format!("Bearer {}", t.expose_secret())).is_ok());
        assert!(bearer(&format!("bearer  {} ", t.expose_secret())).is_ok());
        assert!(matches!(
            bearer(&format!("Basic {}", t.expose_secret())),
            Err(ApiError::InvalidToken)
        ));
        assert!(matches!(bearer("Bearer"), Err(ApiError::InvalidToken)));
    }

    #[test]
    fn scopes() {
        let user = Caller {
            token_id: "t".into(),
            project: "a".into(),
            admin: false,
        };
        assert_eq!(user.project_for(None).as_deref(), Some("a"));
        assert_eq!(user.project_for(Some("b")), None);
        assert_eq!(user.list_scope(None), ProjectScope::One("a".into()));
        assert_eq!(user.list_scope(Some("b")), ProjectScope::Nothing);
        let admin = Caller {
            admin: true,
            ..user
        };
        assert_eq!(admin.project_for(Some("b")).as_deref(), Some("b"));
        assert_eq!(admin.list_scope(None), ProjectScope::All);
        assert_eq!(admin.list_scope(Some("b")), ProjectScope::One("b".into()));
    }
}
