//! String forms of the IDs and escrow keys, as Akash's Go code prints and parses them
//! (chain-sdk `go/node/deployment/v1/{deployment,group,escrow}.go`,
//! `go/node/market/v1/{order,bid,lease,escrow,parse}.go`, `go/node/escrow/id/v1/id.go`).
//!
//! | ID | `Display` | `FromStr` accepts |
//! |---|---|---|
//! | `DeploymentID` | `owner/dseq` | the same |
//! | `GroupID` | `owner/dseq/gseq` | the same |
//! | `OrderID` | `owner/dseq/gseq/oseq` | the same |
//! | `BidID`, `LeaseID` | `owner/dseq/gseq/oseq/provider` (Go omits `bseq`) | that (bseq 0), or with `/bseq` appended |
//!
//! Parsing is stricter than Go's in one way: the exact number of parts is required (Go's
//! `ParseBidPath` ignores extra parts). Like Go, addresses must be valid `akash` bech32 and
//! numbers decimal (`ParseUint`: digits only, no sign).

use std::fmt;
use std::str::FromStr;

use super::base::is_account_address;
use super::deployment::v1::{DeploymentID, GroupID};
use super::escrow::id::v1::{Account, Payment, Scope};
use super::market::v1::{BidID, LeaseID, OrderID};

/// An ID or escrow key string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseIdError {
    /// Wrong number of `/`-separated parts.
    #[error("{kind} {input:?} is not of the form {expected}")]
    Shape {
        /// What was parsed (`deployment ID`, ...).
        kind: &'static str,
        /// The input.
        input: String,
        /// The form expected.
        expected: &'static str,
    },
    /// An address part is not an `akash` bech32 address.
    #[error("{kind} {input:?}: {field} {value:?} is not an akash bech32 address")]
    Address {
        /// What was parsed.
        kind: &'static str,
        /// The input.
        input: String,
        /// Which part.
        field: &'static str,
        /// The part.
        value: String,
    },
    /// A sequence number part is not a decimal number in range.
    #[error("{kind} {input:?}: {field} {value:?} is not a decimal number in range")]
    Number {
        /// What was parsed.
        kind: &'static str,
        /// The input.
        input: String,
        /// Which part.
        field: &'static str,
        /// The part.
        value: String,
    },
    /// An escrow ID of another scope.
    #[error("escrow {what} has scope {found}, expected {expected}")]
    Scope {
        /// `account` or `payment`.
        what: &'static str,
        /// The scope expected.
        expected: &'static str,
        /// The scope found (its name, or number when unknown).
        found: String,
    },
}

/// Splits and checks the parts of an ID string.
struct Parts<'a> {
    kind: &'static str,
    input: &'a str,
    parts: Vec<&'a str>,
}

impl<'a> Parts<'a> {
    fn split(
        kind: &'static str,
        input: &'a str,
        expected: &'static str,
        counts: &[usize],
    ) -> Result<Self, ParseIdError> {
        let parts: Vec<&str> = input.split('/').collect();
        if !counts.contains(&parts.len()) {
            return Err(ParseIdError::Shape {
                kind,
                input: input.to_owned(),
                expected,
            });
        }
        Ok(Parts { kind, input, parts })
    }

    fn address(&self, i: usize, field: &'static str) -> Result<String, ParseIdError> {
        let value = self.parts[i];
        if is_account_address(value) {
            Ok(value.to_owned())
        } else {
            Err(ParseIdError::Address {
                kind: self.kind,
                input: self.input.to_owned(),
                field,
                value: value.to_owned(),
            })
        }
    }

    fn number<T: FromStr>(&self, i: usize, field: &'static str) -> Result<T, ParseIdError> {
        let value = self.parts[i];
        let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
        digits
            .then(|| value.parse().ok())
            .flatten()
            .ok_or_else(|| ParseIdError::Number {
                kind: self.kind,
                input: self.input.to_owned(),
                field,
                value: value.to_owned(),
            })
    }
}

impl DeploymentID {
    /// A deployment ID.
    pub fn new(owner: impl Into<String>, dseq: u64) -> DeploymentID {
        DeploymentID {
            owner: owner.into(),
            dseq,
        }
    }

    /// The ID of group `gseq` of this deployment.
    pub fn group(&self, gseq: u32) -> GroupID {
        GroupID {
            owner: self.owner.clone(),
            dseq: self.dseq,
            gseq,
        }
    }

    /// The deployment's escrow account: scope `deployment`, xid `owner/dseq`.
    pub fn escrow_account(&self) -> Account {
        Account {
            scope: Scope::Deployment as i32,
            xid: self.to_string(),
        }
    }

    /// The deployment an escrow account belongs to (Go's `DeploymentIDFromEscrowID`).
    pub fn from_escrow_account(account: &Account) -> Result<DeploymentID, ParseIdError> {
        expect_scope("account", account.scope, Scope::Deployment)?;
        account.xid.parse()
    }
}

impl fmt::Display for DeploymentID {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.dseq)
    }
}

impl FromStr for DeploymentID {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let p = Parts::split("deployment ID", s, "owner/dseq", &[2])?;
        Ok(DeploymentID {
            owner: p.address(0, "owner")?,
            dseq: p.number(1, "dseq")?,
        })
    }
}

impl GroupID {
    /// The deployment this group belongs to.
    pub fn deployment_id(&self) -> DeploymentID {
        DeploymentID::new(self.owner.clone(), self.dseq)
    }

    /// The ID of order `oseq` of this group.
    pub fn order(&self, oseq: u32) -> OrderID {
        OrderID {
            owner: self.owner.clone(),
            dseq: self.dseq,
            gseq: self.gseq,
            oseq,
        }
    }
}

impl fmt::Display for GroupID {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.owner, self.dseq, self.gseq)
    }
}

impl FromStr for GroupID {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let p = Parts::split("group ID", s, "owner/dseq/gseq", &[3])?;
        Ok(GroupID {
            owner: p.address(0, "owner")?,
            dseq: p.number(1, "dseq")?,
            gseq: p.number(2, "gseq")?,
        })
    }
}

impl OrderID {
    /// The group this order belongs to.
    pub fn group_id(&self) -> GroupID {
        GroupID {
            owner: self.owner.clone(),
            dseq: self.dseq,
            gseq: self.gseq,
        }
    }

    /// The deployment this order belongs to.
    pub fn deployment_id(&self) -> DeploymentID {
        DeploymentID::new(self.owner.clone(), self.dseq)
    }

    /// The ID of `provider`'s bid number `bseq` on this order.
    pub fn bid(&self, provider: impl Into<String>, bseq: u32) -> BidID {
        BidID {
            owner: self.owner.clone(),
            dseq: self.dseq,
            gseq: self.gseq,
            oseq: self.oseq,
            provider: provider.into(),
            bseq,
        }
    }
}

impl fmt::Display for OrderID {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.owner, self.dseq, self.gseq, self.oseq
        )
    }
}

impl FromStr for OrderID {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let p = Parts::split("order ID", s, "owner/dseq/gseq/oseq", &[4])?;
        Ok(OrderID {
            owner: p.address(0, "owner")?,
            dseq: p.number(1, "dseq")?,
            gseq: p.number(2, "gseq")?,
            oseq: p.number(3, "oseq")?,
        })
    }
}

fn parse_bid_parts(kind: &'static str, s: &str) -> Result<BidID, ParseIdError> {
    let p = Parts::split(kind, s, "owner/dseq/gseq/oseq/provider[/bseq]", &[5, 6])?;
    Ok(BidID {
        owner: p.address(0, "owner")?,
        dseq: p.number(1, "dseq")?,
        gseq: p.number(2, "gseq")?,
        oseq: p.number(3, "oseq")?,
        provider: p.address(4, "provider")?,
        bseq: if p.parts.len() == 6 {
            p.number(5, "bseq")?
        } else {
            0
        },
    })
}

impl BidID {
    /// The order this bid is on.
    pub fn order_id(&self) -> OrderID {
        OrderID {
            owner: self.owner.clone(),
            dseq: self.dseq,
            gseq: self.gseq,
            oseq: self.oseq,
        }
    }

    /// The group this bid is for.
    pub fn group_id(&self) -> GroupID {
        self.order_id().group_id()
    }

    /// The deployment this bid is for.
    pub fn deployment_id(&self) -> DeploymentID {
        DeploymentID::new(self.owner.clone(), self.dseq)
    }

    /// The lease this bid becomes when accepted (same fields).
    pub fn lease_id(&self) -> LeaseID {
        LeaseID::from(self.clone())
    }

    /// The bid's escrow account (the provider's deposit): scope `bid`, xid the bid's string
    /// form `owner/dseq/gseq/oseq/provider`.
    pub fn escrow_account(&self) -> Account {
        Account {
            scope: Scope::Bid as i32,
            xid: self.to_string(),
        }
    }

    /// The `/`-separated form with `bseq` appended, which [`FromStr`] also accepts; unlike
    /// [`fmt::Display`] it loses nothing.
    pub fn to_path_with_bseq(&self) -> String {
        format!("{self}/{}", self.bseq)
    }
}

impl fmt::Display for BidID {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}/{}",
            self.owner, self.dseq, self.gseq, self.oseq, self.provider
        )
    }
}

impl FromStr for BidID {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_bid_parts("bid ID", s)
    }
}

impl From<BidID> for LeaseID {
    fn from(b: BidID) -> LeaseID {
        LeaseID {
            owner: b.owner,
            dseq: b.dseq,
            gseq: b.gseq,
            oseq: b.oseq,
            provider: b.provider,
            bseq: b.bseq,
        }
    }
}

impl From<LeaseID> for BidID {
    fn from(l: LeaseID) -> BidID {
        BidID {
            owner: l.owner,
            dseq: l.dseq,
            gseq: l.gseq,
            oseq: l.oseq,
            provider: l.provider,
            bseq: l.bseq,
        }
    }
}

impl LeaseID {
    /// The bid this lease came from.
    pub fn bid_id(&self) -> BidID {
        BidID::from(self.clone())
    }

    /// The order this lease fills.
    pub fn order_id(&self) -> OrderID {
        self.bid_id().order_id()
    }

    /// The group this lease runs.
    pub fn group_id(&self) -> GroupID {
        self.order_id().group_id()
    }

    /// The deployment this lease belongs to.
    pub fn deployment_id(&self) -> DeploymentID {
        DeploymentID::new(self.owner.clone(), self.dseq)
    }

    /// The lease's escrow payment: out of the deployment's account, xid
    /// `gseq/oseq/provider`.
    pub fn escrow_payment(&self) -> Payment {
        Payment {
            aid: self.deployment_id().escrow_account(),
            xid: format!("{}/{}/{}", self.gseq, self.oseq, self.provider),
        }
    }

    /// The lease an escrow payment pays (Go's `LeaseIDFromPaymentID`; `bseq` is 0, as the
    /// payment ID does not carry it).
    pub fn from_escrow_payment(payment: &Payment) -> Result<LeaseID, ParseIdError> {
        expect_scope("payment", payment.aid.scope, Scope::Deployment)?;
        let joined = format!("{}/{}", payment.aid.xid, payment.xid);
        let p = Parts::split("lease ID", &joined, "owner/dseq/gseq/oseq/provider", &[5])?;
        parse_bid_parts(p.kind, p.input).map(LeaseID::from)
    }

    /// The `/`-separated form with `bseq` appended (see [`BidID::to_path_with_bseq`]).
    pub fn to_path_with_bseq(&self) -> String {
        format!("{self}/{}", self.bseq)
    }
}

impl fmt::Display for LeaseID {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.bid_id(), f)
    }
}

impl FromStr for LeaseID {
    type Err = ParseIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_bid_parts("lease ID", s).map(LeaseID::from)
    }
}

fn expect_scope(what: &'static str, found: i32, expected: Scope) -> Result<(), ParseIdError> {
    if found == expected as i32 {
        return Ok(());
    }
    Err(ParseIdError::Scope {
        what,
        expected: expected.as_str_name(),
        found: Scope::try_from(found)
            .map(|s| s.as_str_name().to_owned())
            .unwrap_or_else(|_| found.to_string()),
    })
}

impl Account {
    /// The account's key, `<scope>/<xid>` (Go's `Key()`), e.g. `deployment/akash1.../123`.
    pub fn key(&self) -> String {
        let scope = Scope::try_from(self.scope)
            .map(Scope::as_str_name)
            .unwrap_or_default();
        format!("{scope}/{}", self.xid)
    }

    /// Parses an account key (Go's `ParseAccount`): `deployment/owner/dseq` or
    /// `bid/owner/dseq/gseq/oseq/provider`.
    pub fn parse_key(key: &str) -> Result<Account, ParseIdError> {
        let shape = ParseIdError::Shape {
            kind: "escrow account key",
            input: key.to_owned(),
            expected: "deployment/owner/dseq or bid/owner/dseq/gseq/oseq/provider",
        };
        let (scope, xid) = key.split_once('/').ok_or_else(|| shape.clone())?;
        match Scope::from_str_name(scope) {
            Some(Scope::Deployment) => {
                let id: DeploymentID = xid.parse()?;
                Ok(id.escrow_account())
            }
            Some(Scope::Bid) => {
                let id: BidID = xid.parse()?;
                if xid.split('/').count() != 5 {
                    return Err(shape);
                }
                Ok(id.escrow_account())
            }
            _ => Err(shape),
        }
    }
}

impl Payment {
    /// The payment's key, `<account key>/<xid>` (Go's `Key()`), e.g.
    /// `deployment/akash1.../123/1/1/akash1...`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.aid.key(), self.xid)
    }

    /// Parses a payment key (Go's `ParsePayment`): an account key followed by
    /// `gseq/oseq/provider`.
    pub fn parse_key(key: &str) -> Result<Payment, ParseIdError> {
        let shape = || ParseIdError::Shape {
            kind: "escrow payment key",
            input: key.to_owned(),
            expected: "<account key>/gseq/oseq/provider",
        };
        let parts: Vec<&str> = key.split('/').collect();
        let account_parts = match Scope::from_str_name(parts[0]) {
            Some(Scope::Deployment) if parts.len() == 6 => 3,
            Some(Scope::Bid) if parts.len() == 9 => 6,
            _ => return Err(shape()),
        };
        let aid = Account::parse_key(&parts[..account_parts].join("/"))?;
        let xid = parts[account_parts..].join("/");
        // The payment part must read as gseq/oseq/provider.
        let p = Parts::split(
            "escrow payment key",
            key,
            "<account key>/gseq/oseq/provider",
            &[6, 9],
        )?;
        p.number::<u32>(account_parts, "gseq")?;
        p.number::<u32>(account_parts + 1, "oseq")?;
        p.address(account_parts + 2, "provider")?;
        Ok(Payment { aid, xid })
    }
}
