//! Which chain: `mainnet`, `testnet` (Akash's sandbox), `devnet` (ours) or an RPC URL.
//!
//! * `mainnet`: chain id `akashnet-2`, public RPC endpoints `https://rpc.akashnet.net:443`
//!   (Akash's own), `https://akash-rpc.polkachu.com:443`, `https://rpc-akash.ecostake.com:443`.
//! * `testnet`: the sandbox, chain id `sandbox-2` (akash-network/net `sandbox-2/meta.json`,
//!   node v2.1.0) at `https://rpc.sandbox-2.aksh.pw:443` (the sandbox RPC host follows the
//!   `rpc.<chain>.aksh.pw` naming of earlier sandboxes; its p2p host is `p2p.sandbox-2.aksh.pw`).
//! * `devnet`: `af-devnet-1` at `http://127.0.0.1:26657`.
//! * anything with `://`: that RPC URL; the chain id is read from `status`.

use std::fmt;
use std::str::FromStr;

/// A chain to talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Network {
    /// Akash mainnet.
    Mainnet,
    /// Akash sandbox.
    Testnet,
    /// The local af-operator devnet.
    Devnet,
    /// Any RPC endpoint(s); chain id from `status`.
    Url(Vec<String>),
}

/// Mainnet chain id.
pub const MAINNET_CHAIN_ID: &str = "akashnet-2";
/// Sandbox chain id.
pub const TESTNET_CHAIN_ID: &str = "sandbox-2";
/// Devnet chain id.
pub const DEVNET_CHAIN_ID: &str = "af-devnet-1";
/// Devnet's default RPC address.
pub const DEVNET_RPC: &str = "http://127.0.0.1:26657";

impl Network {
    /// The chain id, when known without asking the node.
    pub fn chain_id(&self) -> Option<&'static str> {
        match self {
            Network::Mainnet => Some(MAINNET_CHAIN_ID),
            Network::Testnet => Some(TESTNET_CHAIN_ID),
            Network::Devnet => Some(DEVNET_CHAIN_ID),
            Network::Url(_) => None,
        }
    }

    /// RPC endpoints, in failover order.
    pub fn endpoints(&self) -> Vec<String> {
        match self {
            Network::Mainnet => vec![
                "https://rpc.akashnet.net:443".into(),
                "https://akash-rpc.polkachu.com:443".into(),
                "https://rpc-akash.ecostake.com:443".into(),
            ],
            Network::Testnet => vec!["https://rpc.sandbox-2.aksh.pw:443".into()],
            Network::Devnet => vec![DEVNET_RPC.into()],
            Network::Url(urls) => urls.clone(),
        }
    }
}

/// A `--network` value that is none of the names nor URLs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown network {0:?}: use mainnet, testnet, devnet or an RPC URL (comma-separated for several)")]
pub struct UnknownNetwork(pub String);

impl FromStr for Network {
    type Err = UnknownNetwork;

    fn from_str(s: &str) -> Result<Network, UnknownNetwork> {
        match s.trim() {
            "mainnet" | "akashnet-2" => Ok(Network::Mainnet),
            "testnet" | "sandbox" | "sandbox-2" => Ok(Network::Testnet),
            "devnet" | "af-devnet-1" => Ok(Network::Devnet),
            other => {
                let urls: Vec<String> = other
                    .split(',')
                    .map(|u| u.trim().to_string())
                    .filter(|u| !u.is_empty())
                    .collect();
                let valid = !urls.is_empty()
                    && urls.iter().all(|u| {
                        url::Url::parse(u)
                            .map(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some())
                            .unwrap_or(false)
                    });
                if valid {
                    Ok(Network::Url(urls))
                } else {
                    Err(UnknownNetwork(s.to_string()))
                }
            }
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Network::Mainnet => f.write_str("mainnet"),
            Network::Testnet => f.write_str("testnet"),
            Network::Devnet => f.write_str("devnet"),
            Network::Url(urls) => f.write_str(&urls.join(",")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_urls() {
        assert_eq!(
            "mainnet".parse::<Network>().unwrap().chain_id(),
            Some("akashnet-2")
        );
        assert_eq!(
            "testnet".parse::<Network>().unwrap().chain_id(),
            Some("sandbox-2")
        );
        let d: Network = "devnet".parse().unwrap();
        assert_eq!(d.endpoints(), vec!["http://127.0.0.1:26657".to_string()]);
        let u: Network = "http://a:1, https://b:2".parse().unwrap();
        assert_eq!(u.chain_id(), None);
        assert_eq!(
            u.endpoints(),
            vec!["http://a:1".to_string(), "https://b:2".to_string()]
        );
        assert!("moon".parse::<Network>().is_err());
        assert!("ftp://x".parse::<Network>().is_err());
        assert_eq!(
            Network::Mainnet.endpoints()[0],
            "https://rpc.akashnet.net:443"
        );
    }
}
