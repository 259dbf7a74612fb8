//! Domain types of [`super::AkashChain`]'s signatures, translated to the chain's query
//! filters at the edge ([`super::RpcChain`]).

use std::fmt;
use std::str::FromStr;

use crate::akash::proto::cert::v1::CertificateState;
use crate::akash::proto::deployment::v1::DeploymentState;

/// Which deployments a listing returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DeploymentStateFilter {
    /// Active deployments only.
    #[default]
    Active,
    /// Closed deployments only.
    Closed,
    /// Every deployment.
    Any,
}

impl DeploymentStateFilter {
    /// The `DeploymentFilters.state` text the chain expects (empty for any).
    pub fn as_query(self) -> &'static str {
        match self {
            DeploymentStateFilter::Active => DeploymentState::Active.as_str_name(),
            DeploymentStateFilter::Closed => DeploymentState::Closed.as_str_name(),
            DeploymentStateFilter::Any => "",
        }
    }

    /// Whether a deployment in `state` passes the filter.
    pub fn matches(self, state: DeploymentState) -> bool {
        match self {
            DeploymentStateFilter::Active => state == DeploymentState::Active,
            DeploymentStateFilter::Closed => state == DeploymentState::Closed,
            DeploymentStateFilter::Any => true,
        }
    }
}

/// Which certificates a listing returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CertificateStateFilter {
    /// Valid certificates only.
    #[default]
    Valid,
    /// Revoked certificates only.
    Revoked,
    /// Every certificate.
    Any,
}

impl CertificateStateFilter {
    /// The `CertificateFilter.state` text the chain expects (empty for any).
    pub fn as_query(self) -> &'static str {
        match self {
            CertificateStateFilter::Valid => CertificateState::Valid.as_str_name(),
            CertificateStateFilter::Revoked => CertificateState::Revoked.as_str_name(),
            CertificateStateFilter::Any => "",
        }
    }

    /// Whether a certificate in `state` passes the filter.
    pub fn matches(self, state: CertificateState) -> bool {
        match self {
            CertificateStateFilter::Valid => state == CertificateState::Valid,
            CertificateStateFilter::Revoked => state == CertificateState::Revoked,
            CertificateStateFilter::Any => true,
        }
    }
}

/// A state filter name that is none of the accepted ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown state {given:?}: expected one of {expected}")]
pub struct UnknownStateFilter {
    /// What was given.
    pub given: String,
    /// The accepted names.
    pub expected: &'static str,
}

impl FromStr for DeploymentStateFilter {
    type Err = UnknownStateFilter;

    /// `active`, `closed`, or `all`/`any`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "active" => Ok(DeploymentStateFilter::Active),
            "closed" => Ok(DeploymentStateFilter::Closed),
            "all" | "any" => Ok(DeploymentStateFilter::Any),
            other => Err(UnknownStateFilter {
                given: other.to_string(),
                expected: "active, closed, all",
            }),
        }
    }
}

impl FromStr for CertificateStateFilter {
    type Err = UnknownStateFilter;

    /// `valid`, `revoked`, or `all`/`any`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "valid" => Ok(CertificateStateFilter::Valid),
            "revoked" => Ok(CertificateStateFilter::Revoked),
            "all" | "any" => Ok(CertificateStateFilter::Any),
            other => Err(UnknownStateFilter {
                given: other.to_string(),
                expected: "valid, revoked, all",
            }),
        }
    }
}

impl fmt::Display for DeploymentStateFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DeploymentStateFilter::Any => "all",
            other => other.as_query(),
        })
    }
}

impl fmt::Display for CertificateStateFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CertificateStateFilter::Any => "all",
            other => other.as_query(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_translate_to_the_chain_and_back() {
        use DeploymentStateFilter as D;
        for (f, query, text) in [
            (D::Active, "active", "active"),
            (D::Closed, "closed", "closed"),
            (D::Any, "", "all"),
        ] {
            assert_eq!(f.as_query(), query);
            assert_eq!(f.to_string(), text);
            assert_eq!(text.parse::<D>(), Ok(f));
        }
        assert!(D::Active.matches(DeploymentState::Active));
        assert!(!D::Active.matches(DeploymentState::Closed));
        assert!(D::Any.matches(DeploymentState::Invalid));
        assert!("open"
            .parse::<D>()
            .unwrap_err()
            .to_string()
            .contains("active, closed, all"));

        use CertificateStateFilter as C;
        for (f, query, text) in [
            (C::Valid, "valid", "valid"),
            (C::Revoked, "revoked", "revoked"),
            (C::Any, "", "all"),
        ] {
            assert_eq!(f.as_query(), query);
            assert_eq!(f.to_string(), text);
            assert_eq!(text.parse::<C>(), Ok(f));
        }
        assert!(C::Revoked.matches(CertificateState::Revoked));
        assert!(!C::Valid.matches(CertificateState::Revoked));
        assert!("x".parse::<C>().is_err());
    }
}
