//! Message handlers and block-end logic, one section per module. Rules follow the node's
//! `x/<module>/handler/server.go` and keepers; error codes are those registered in chain-sdk
//! `go/node/<module>/<version>/errors.go`.

use super::*;
use af_akash::certs::CertRefusal;
use af_akash::proto::audit::v1 as av;
use af_akash::proto::base::coin;
use af_akash::proto::base::deposit::v1::{Deposit, Source};
use af_akash::proto::bme::v1 as bv;
use af_akash::proto::cert::v1 as cv;
use af_akash::proto::deployment::{v1 as dv1, v1beta4 as dv};
use af_akash::proto::escrow::id::v1::Scope;
use af_akash::proto::escrow::types::v1::EscrowState;
use af_akash::proto::escrow::v1 as ev;
use af_akash::proto::is_account_address;
use af_akash::proto::market::{v1 as mv1, v1beta5 as mv};
use af_akash::proto::provider::v1beta4 as pv;
use af_akash::sdl::DecCoin;
use std::collections::BTreeSet;

use dv::GroupState;
use dv1::DeploymentState;
use mv::{BidState, OrderState};
use mv1::{LeaseClosedReason, LeaseState};

fn dep_err(code: u32, log: impl Into<String>) -> TxError {
    TxError::new("deployment", code, log)
}

fn mkt_err(code: u32, log: impl Into<String>) -> TxError {
    TxError::new("market", code, log)
}

fn esc_err(code: u32, log: impl Into<String>) -> TxError {
    TxError::new("escrow", code, log)
}

fn cert_err(code: u32, log: impl Into<String>) -> TxError {
    TxError::new("cert", code, log)
}

fn prov_err(code: u32, log: impl Into<String>) -> TxError {
    TxError::new("provider", code, log)
}

/// Per-unit limits of `validation_config.go`.
const CPU_MIN: u64 = 10;
const CPU_MAX: u64 = 384_000;
const MEM_MIN: u64 = 1 << 20;
const MEM_MAX: u64 = 2 << 40;
const STORAGE_MIN: u64 = 5 << 20;
const STORAGE_MAX: u64 = 32 << 40;
const GPU_MAX: u64 = 24;
const COUNT_MAX: u32 = 50;
const UNITS_MAX: usize = 20;

/// Denominations an escrow deposit may use.
const DEPOSIT_DENOMS: [&str; 2] = [UACT, UAKT];

pub(crate) fn deployment_id(k: &DeploymentKey) -> dv1::DeploymentID {
    dv1::DeploymentID::new(k.0.clone(), k.1)
}

pub(crate) fn group_id(k: &GroupKey) -> dv1::GroupID {
    dv1::GroupID {
        owner: k.0.clone(),
        dseq: k.1,
        gseq: k.2,
    }
}

pub(crate) fn order_id(k: &OrderKey) -> mv1::OrderID {
    mv1::OrderID {
        owner: k.0.clone(),
        dseq: k.1,
        gseq: k.2,
        oseq: k.3,
    }
}

pub(crate) fn bid_id(k: &BidKey) -> mv1::BidID {
    mv1::BidID {
        owner: k.0.clone(),
        dseq: k.1,
        gseq: k.2,
        oseq: k.3,
        provider: k.4.clone(),
        bseq: k.5,
    }
}

pub(crate) fn lease_id(k: &BidKey) -> mv1::LeaseID {
    mv1::LeaseID::from(bid_id(k))
}

fn bid_key(id: &mv1::BidID) -> BidKey {
    (
        id.owner.clone(),
        id.dseq,
        id.gseq,
        id.oseq,
        id.provider.clone(),
        id.bseq,
    )
}

fn lease_key(id: &mv1::LeaseID) -> BidKey {
    (
        id.owner.clone(),
        id.dseq,
        id.gseq,
        id.oseq,
        id.provider.clone(),
        id.bseq,
    )
}

/// The escrow account key of a deployment.
pub(crate) fn deployment_account_key(k: &DeploymentKey) -> String {
    deployment_id(k).escrow_account().key()
}

/// The escrow payment key of a lease.
pub(crate) fn lease_payment_key(k: &BidKey) -> String {
    lease_id(k).escrow_payment().key()
}

/// The escrow account key of a bid's deposit.
pub(crate) fn bid_account_key(k: &BidKey) -> String {
    bid_id(k).escrow_account().key()
}

/// A `DecCoin` amount as a scaled integer.
fn parse_dec(c: &DecCoin) -> Option<u128> {
    parse_int(&c.amount)
}

/// Go's `GroupSpec.Price()`: the sum of every unit's price times its count.
pub(crate) fn group_price(spec: &GroupSpec) -> Option<(String, u128)> {
    let mut denom = String::new();
    let mut total = 0u128;
    for unit in &spec.resources {
        denom.clone_from(&unit.price.denom);
        total = total.checked_add(parse_dec(&unit.price)?.checked_mul(unit.count as u128)?)?;
    }
    Some((denom, total))
}

/// Checks a deposit's amount and sources; returns the amount.
fn check_deposit(deposit: &Deposit, err: impl Fn(String) -> TxError) -> Result<u128, TxError> {
    let amount = parse_int(&deposit.amount.amount).ok_or_else(|| {
        err(format!(
            "invalid deposit amount {:?}",
            deposit.amount.amount
        ))
    })?;
    if amount == 0 {
        return Err(err("deposit amount must be greater than zero".into()));
    }
    if deposit.sources.is_empty() {
        return Err(err("deposit sources must not be empty".into()));
    }
    let unique: BTreeSet<i32> = deposit.sources.iter().copied().collect();
    if unique.len() != deposit.sources.len() {
        return Err(err("deposit sources must be unique".into()));
    }
    for s in &deposit.sources {
        match Source::try_from(*s) {
            Ok(Source::Balance) => {}
            Ok(Source::Grant) => {
                return Err(err(
                    "deposits from authz grants are not supported by the devnet".into(),
                ))
            }
            _ => return Err(err(format!("invalid deposit source {s}"))),
        }
    }
    Ok(amount)
}

fn validate_group(spec: &GroupSpec) -> Result<(), String> {
    if spec.name.is_empty() {
        return Err("group name must not be empty".into());
    }
    if spec.resources.is_empty() {
        return Err(format!(
            "group {:?}: at least one resource unit required",
            spec.name
        ));
    }
    if spec.resources.len() > UNITS_MAX {
        return Err(format!(
            "group {:?}: too many resource units ({} > {UNITS_MAX})",
            spec.name,
            spec.resources.len()
        ));
    }
    for unit in &spec.resources {
        let r = &unit.resource;
        let bad = |what: &str, v: u64, min: u64, max: u64| {
            format!(
                "group {:?}: invalid {what} {v} (must be between {min} and {max})",
                spec.name
            )
        };
        let cpu = r.cpu.as_ref().and_then(|c| c.units.value()).unwrap_or(0);
        if !(CPU_MIN..=CPU_MAX).contains(&cpu) {
            return Err(bad("cpu units", cpu, CPU_MIN, CPU_MAX));
        }
        let mem = r
            .memory
            .as_ref()
            .and_then(|m| m.quantity.value())
            .unwrap_or(0);
        if !(MEM_MIN..=MEM_MAX).contains(&mem) {
            return Err(bad("memory quantity", mem, MEM_MIN, MEM_MAX));
        }
        if r.storage.is_empty() {
            return Err(format!("group {:?}: storage required", spec.name));
        }
        for s in &r.storage {
            let q = s.quantity.value().unwrap_or(0);
            if !(STORAGE_MIN..=STORAGE_MAX).contains(&q) {
                return Err(bad("storage quantity", q, STORAGE_MIN, STORAGE_MAX));
            }
        }
        let gpu = r.gpu.as_ref().and_then(|g| g.units.value()).unwrap_or(0);
        if gpu > GPU_MAX {
            return Err(bad("gpu units", gpu, 0, GPU_MAX));
        }
        if !(1..=COUNT_MAX).contains(&unit.count) {
            return Err(bad("count", unit.count as u64, 1, COUNT_MAX as u64));
        }
        if parse_dec(&unit.price).is_none() {
            return Err(format!(
                "group {:?}: invalid price {:?}",
                spec.name, unit.price.amount
            ));
        }
    }
    Ok(())
}

impl Chain {
    /// Runs one message; returns the module name for the `message` event.
    pub(super) fn handle(
        &mut self,
        h: i64,
        _time: i64,
        msg: &TxMessage,
        em: &mut Emitter,
    ) -> Result<&'static str, TxError> {
        match msg {
            TxMessage::CreateDeployment(m) => {
                self.create_deployment(h, m, em).map(|_| "deployment")
            }
            TxMessage::UpdateDeployment(m) => self.update_deployment(m, em).map(|_| "deployment"),
            TxMessage::CloseDeployment(m) => self.close_deployment(h, m, em).map(|_| "deployment"),
            TxMessage::CloseGroup(m) => self
                .group_transition(h, &m.id, GroupState::Closed, em)
                .map(|_| "deployment"),
            TxMessage::PauseGroup(m) => self
                .group_transition(h, &m.id, GroupState::Paused, em)
                .map(|_| "deployment"),
            TxMessage::StartGroup(m) => self.start_group(h, &m.id, em).map(|_| "deployment"),
            TxMessage::CreateBid(m) => self.create_bid(h, m, em).map(|_| "market"),
            TxMessage::CloseBid(m) => self.close_bid(h, m, em).map(|_| "market"),
            TxMessage::CreateLease(m) => self.create_lease(h, m, em).map(|_| "market"),
            TxMessage::CloseLease(m) => self.close_lease_msg(h, m, em).map(|_| "market"),
            TxMessage::WithdrawLease(m) => self.withdraw_lease(h, m, em).map(|_| "market"),
            TxMessage::AccountDeposit(m) => self.account_deposit(h, m, em).map(|_| "escrow"),
            TxMessage::CreateCertificate(m) => self.create_certificate(m).map(|_| "cert"),
            TxMessage::RevokeCertificate(m) => self.revoke_certificate(m).map(|_| "cert"),
            TxMessage::CreateProvider(m) => self.create_provider(m, em).map(|_| "provider"),
            TxMessage::UpdateProvider(m) => self.update_provider(m, em).map(|_| "provider"),
            TxMessage::DeleteProvider(m) => self.delete_provider(m).map(|_| "provider"),
            TxMessage::SignProviderAttributes(m) => self.sign_attributes(m, em).map(|_| "audit"),
            TxMessage::DeleteProviderAttributes(m) => {
                self.delete_attributes(m, em).map(|_| "audit")
            }
            TxMessage::MintAct(m) => self.mint_act(h, m).map(|_| "bme"),
            TxMessage::LeaseStartReclaim(_) | TxMessage::BurnAct(_) => Err(TxError::new(
                "sdk",
                6,
                format!("{} is not supported by the devnet", msg.type_url()),
            )),
        }
    }

    // ---- deployment ------------------------------------------------------------------

    fn create_deployment(
        &mut self,
        h: i64,
        m: &dv::MsgCreateDeployment,
        em: &mut Emitter,
    ) -> Result<(), TxError> {
        // ValidateBasic (msgs.go, group_validation.go).
        if !is_account_address(&m.id.owner) || m.id.dseq == 0 {
            return Err(dep_err(8, format!("invalid deployment id {}", m.id)));
        }
        if m.hash.is_empty() {
            return Err(dep_err(9, "Invalid: empty hash"));
        }
        if m.hash.len() != 32 {
            return Err(dep_err(
                10,
                format!(
                    "Invalid: deployment hash: must be 32 bytes, got {}",
                    m.hash.len()
                ),
            ));
        }
        let amount = check_deposit(&m.deposit, |e| dep_err(20, format!("Deposit invalid: {e}")))?;
        let dep_denom = &m.deposit.amount.denom;
        if m.groups.is_empty() {
            return Err(dep_err(7, "Invalid groups: at least one group required"));
        }
        for g in &m.groups {
            validate_group(g).map_err(|e| dep_err(7, format!("Invalid groups: {e}")))?;
            let gdenom = g.resources.first().map(|u| u.price.denom.as_str());
            if gdenom != Some(dep_denom.as_str()) {
                return Err(dep_err(
                    20,
                    format!(
                        "Deposit invalid: Mismatched denominations ({dep_denom} != {})",
                        gdenom.unwrap_or_default()
                    ),
                ));
            }
        }
        // The handler (`x/deployment/handler/server.go`, v2.0.0+).
        let key = (m.id.owner.clone(), m.id.dseq);
        if self.deployments.contains_key(&key) {
            return Err(dep_err(3, format!("Deployment exists: {}", m.id)));
        }
        let min = self
            .params
            .deployment_min_deposits
            .iter()
            .find(|(d, _)| d == dep_denom)
            .map(|(_, a)| *a)
            .ok_or_else(|| {
                dep_err(
                    20,
                    format!("Deposit invalid: denom {dep_denom} not allowed"),
                )
            })?;
        if amount < min {
            return Err(dep_err(
                20,
                format!(
                    "Deposit invalid: deposit {amount}{dep_denom} is less than the minimum \
                     {min}{dep_denom}"
                ),
            ));
        }
        if dep_denom == UAKT {
            return Err(dep_err(
                20,
                "Deposit invalid: AKT deposits are only allowed via AccountDeposit",
            ));
        }
        // ValidateDeploymentGroups: unique names, one denomination.
        let mut names = BTreeSet::new();
        for g in &m.groups {
            if !names.insert(g.name.as_str()) {
                return Err(dep_err(
                    7,
                    format!("Invalid groups: duplicate group name {:?}", g.name),
                ));
            }
            for u in &g.resources {
                if u.price.denom != *dep_denom {
                    return Err(dep_err(
                        7,
                        format!(
                            "Invalid groups: all prices must use one denomination ({dep_denom} and {})",
                            u.price.denom
                        ),
                    ));
                }
            }
        }
        if *dep_denom != UACT {
            return Err(dep_err(
                24,
                format!("invalid price: unsupported denomination {dep_denom}"),
            ));
        }
        self.debit(&m.id.owner, dep_denom, amount)?;
        self.deployments.insert(
            key.clone(),
            DeploymentRec {
                state: DeploymentState::Active as i32,
                hash: m.hash.clone(),
                created_at: h,
            },
        );
        em.emit(dv1::EventDeploymentCreated {
            id: m.id.clone(),
            hash: m.hash.clone(),
        });
        for (i, spec) in m.groups.iter().enumerate() {
            let gkey = (key.0.clone(), key.1, i as u32 + 1);
            self.groups.insert(
                gkey.clone(),
                GroupRec {
                    state: GroupState::Open as i32,
                    spec: spec.clone(),
                    created_at: h,
                },
            );
            self.open_order(h, &gkey, em);
        }
        self.escrow_accounts.insert(
            deployment_account_key(&key),
            EscrowAccountRec {
                scope: Scope::Deployment as i32,
                xid: m.id.to_string(),
                owner: m.id.owner.clone(),
                state: EscrowState::Open as i32,
                denom: dep_denom.clone(),
                funds: amount * DEC_SCALE,
                other_funds: BTreeMap::new(),
                transferred: 0,
                settled_at: h,
                deposits: vec![DepositRec {
                    owner: m.id.owner.clone(),
                    height: h,
                    source: Source::Balance as i32,
                    balance: amount * DEC_SCALE,
                    denom: dep_denom.clone(),
                }],
            },
        );
        Ok(())
    }

    /// Opens the next order of a group (oseq = highest so far + 1).
    fn open_order(&mut self, h: i64, g: &GroupKey, em: &mut Emitter) {
        let oseq = self
            .orders
            .range((g.0.clone(), g.1, g.2, 0)..=(g.0.clone(), g.1, g.2, u32::MAX))
            .map(|(k, _)| k.3)
            .max()
            .unwrap_or(0)
            + 1;
        let okey = (g.0.clone(), g.1, g.2, oseq);
        self.orders.insert(
            okey.clone(),
            OrderRec {
                state: OrderState::Open as i32,
                created_at: h,
            },
        );
        em.emit(mv1::EventOrderCreated {
            id: order_id(&okey),
        });
    }

    fn active_deployment(&self, id: &dv1::DeploymentID) -> Result<DeploymentKey, TxError> {
        let key = (id.owner.clone(), id.dseq);
        let d = self
            .deployments
            .get(&key)
            .ok_or_else(|| dep_err(4, format!("Deployment not found: {id}")))?;
        if d.state != DeploymentState::Active as i32 {
            return Err(dep_err(5, format!("Deployment closed: {id}")));
        }
        Ok(key)
    }

    fn update_deployment(
        &mut self,
        m: &dv::MsgUpdateDeployment,
        em: &mut Emitter,
    ) -> Result<(), TxError> {
        if m.hash.len() != 32 {
            return Err(dep_err(
                10,
                format!(
                    "Invalid: deployment hash: must be 32 bytes, got {}",
                    m.hash.len()
                ),
            ));
        }
        let key = self.active_deployment(&m.id)?;
        self.deployments.get_mut(&key).expect("checked").hash = m.hash.clone();
        em.emit(dv1::EventDeploymentUpdated {
            id: m.id.clone(),
            hash: m.hash.clone(),
        });
        Ok(())
    }

    fn group_keys(&self, d: &DeploymentKey) -> Vec<GroupKey> {
        self.groups
            .range((d.0.clone(), d.1, 0)..=(d.0.clone(), d.1, u32::MAX))
            .map(|(k, _)| k.clone())
            .collect()
    }

    fn close_deployment(
        &mut self,
        h: i64,
        m: &dv::MsgCloseDeployment,
        em: &mut Emitter,
    ) -> Result<(), TxError> {
        let key = self.active_deployment(&m.id)?;
        let akey = deployment_account_key(&key);
        self.settle(&akey, h, em);
        if self.deployments[&key].state != DeploymentState::Active as i32 {
            // Settlement found the account dry: the overdraft hooks closed everything.
            return Ok(());
        }
        for g in self.group_keys(&key) {
            if self.groups[&g].state != GroupState::Closed as i32 {
                self.wind_down_group(h, &g, LeaseClosedReason::Owner, em);
                self.groups.get_mut(&g).expect("listed").state = GroupState::Closed as i32;
                em.emit(dv1::EventGroupClosed { id: group_id(&g) });
            }
        }
        self.close_account(&akey);
        self.deployments.get_mut(&key).expect("checked").state = DeploymentState::Closed as i32;
        em.emit(dv1::EventDeploymentClosed { id: m.id.clone() });
        Ok(())
    }

    /// Closes a group's leases (with `reason`), orders and bids. The group's state is the
    /// caller's to set.
    fn wind_down_group(
        &mut self,
        h: i64,
        g: &GroupKey,
        reason: LeaseClosedReason,
        em: &mut Emitter,
    ) {
        let lo = (g.0.clone(), g.1, g.2, 0, String::new(), 0);
        let hi = (g.0.clone(), g.1, g.2, u32::MAX, String::new(), 0);
        let leases: Vec<BidKey> = self
            .leases
            .range(lo.clone()..hi.clone())
            .filter(|(_, l)| l.state == LeaseState::Active as i32)
            .map(|(k, _)| k.clone())
            .collect();
        for l in leases {
            self.close_lease(h, &l, reason, em);
        }
        let bids: Vec<BidKey> = self
            .bids
            .range(lo..hi)
            .filter(|(_, b)| b.state == BidState::Open as i32 || b.state == BidState::Active as i32)
            .map(|(k, _)| k.clone())
            .collect();
        for b in bids {
            self.finish_bid(&b, BidState::Closed, em);
        }
        let orders: Vec<OrderKey> = self
            .orders
            .range((g.0.clone(), g.1, g.2, 0)..=(g.0.clone(), g.1, g.2, u32::MAX))
            .filter(|(_, o)| o.state != OrderState::Closed as i32)
            .map(|(k, _)| k.clone())
            .collect();
        for o in orders {
            self.orders.get_mut(&o).expect("listed").state = OrderState::Closed as i32;
            em.emit(mv1::EventOrderClosed { id: order_id(&o) });
        }
    }

    fn group_key(&self, id: &dv1::GroupID) -> Result<GroupKey, TxError> {
        self.active_deployment(&dv1::DeploymentID::new(id.owner.clone(), id.dseq))?;
        let key = (id.owner.clone(), id.dseq, id.gseq);
        if !self.groups.contains_key(&key) {
            return Err(dep_err(14, format!("Group not found: {id}")));
        }
        Ok(key)
    }

    /// CloseGroup (to `Closed`) and PauseGroup (to `Paused`).
    fn group_transition(
        &mut self,
        h: i64,
        id: &dv1::GroupID,
        to: GroupState,
        em: &mut Emitter,
    ) -> Result<(), TxError> {
        let key = self.group_key(id)?;
        let state = self.groups[&key].state;
        if state == GroupState::Closed as i32 {
            return Err(dep_err(15, format!("Group already closed: {id}")));
        }
        if to == GroupState::Paused && state != GroupState::Open as i32 {
            return Err(dep_err(18, format!("Group not open: {id}")));
        }
        let akey = deployment_account_key(&(key.0.clone(), key.1));
        self.settle(&akey, h, em);
        self.wind_down_group(h, &key, LeaseClosedReason::Owner, em);
        self.groups.get_mut(&key).expect("checked").state = to as i32;
        if to == GroupState::Closed {
            em.emit(dv1::EventGroupClosed { id: id.clone() });
        } else {
            em.emit(dv1::EventGroupPaused { id: id.clone() });
        }
        Ok(())
    }

    fn start_group(&mut self, h: i64, id: &dv1::GroupID, em: &mut Emitter) -> Result<(), TxError> {
        let key = self.group_key(id)?;
        let state = self.groups[&key].state;
        if state == GroupState::Closed as i32 {
            return Err(dep_err(15, format!("Group already closed: {id}")));
        }
        if state == GroupState::Open as i32 {
            return Err(dep_err(16, format!("Group open: {id}")));
        }
        let akey = deployment_account_key(&(key.0.clone(), key.1));
        if self.escrow_accounts.get(&akey).map(|a| a.state) != Some(EscrowState::Open as i32) {
            return Err(esc_err(
                4,
                format!("account {akey} is overdrawn; deposit first"),
            ));
        }
        self.groups.get_mut(&key).expect("checked").state = GroupState::Open as i32;
        em.emit(dv1::EventGroupStarted { id: id.clone() });
        self.open_order(h, &key, em);
        Ok(())
    }

    // ---- market ----------------------------------------------------------------------

    /// CreateBid, checks in the order of `x/market/handler/server.go`: deposit, bid count,
    /// `bseq` (must be 0; the node reserves it), order open, price within the group's
    /// ceiling (`GroupSpec.Price()`), provider registered, placement requirements.
    fn create_bid(
        &mut self,
        h: i64,
        m: &mv::MsgCreateBid,
        em: &mut Emitter,
    ) -> Result<(), TxError> {
        let id = &m.id;
        if id.provider == id.owner {
            return Err(mkt_err(2, "owner and provider are the same account"));
        }
        let d = &m.deposit.amount.denom;
        let min = self
            .params
            .bid_min_deposits
            .iter()
            .find(|(x, _)| x == d)
            .map(|(_, a)| *a);
        let deposit = match min {
            Some(min) => {
                let amount =
                    check_deposit(&m.deposit, |e| mkt_err(28, format!("invalid deposit: {e}")))?;
                if amount < min {
                    return Err(mkt_err(
                        28,
                        format!("invalid deposit: minimum:{min}{d} received:{amount}{d}"),
                    ));
                }
                Some(amount)
            }
            None if self.params.bid_min_deposits.is_empty() => None,
            None => {
                return Err(mkt_err(
                    28,
                    format!("invalid deposit: unsupported denom {d}"),
                ))
            }
        };
        let lo = (
            id.owner.clone(),
            id.dseq,
            id.gseq,
            id.oseq,
            String::new(),
            0,
        );
        let hi = (
            id.owner.clone(),
            id.dseq,
            id.gseq,
            id.oseq + 1,
            String::new(),
            0,
        );
        let count = self.bids.range(lo..hi).count() as u32;
        if count > self.params.order_max_bids {
            return Err(mkt_err(
                31,
                format!(
                    "invalid bid: too many existing bids ({})",
                    self.params.order_max_bids
                ),
            ));
        }
        if id.bseq != 0 {
            return Err(mkt_err(31, "invalid bid: bseq must be 0"));
        }
        let okey = (id.owner.clone(), id.dseq, id.gseq, id.oseq);
        let order = self.orders.get(&okey).ok_or_else(|| {
            mkt_err(
                15,
                format!("invalid order: order not found: {}", order_id(&okey)),
            )
        })?;
        match OrderState::try_from(order.state) {
            Ok(OrderState::Open) => {}
            Ok(OrderState::Active) => return Err(mkt_err(23, "order active")),
            _ => return Err(mkt_err(24, "order closed")),
        }
        let gkey = (id.owner.clone(), id.dseq, id.gseq);
        let group = self
            .groups
            .get(&gkey)
            .ok_or_else(|| mkt_err(16, "group not found"))?;
        if group.state != GroupState::Open as i32 {
            return Err(mkt_err(17, "group not open"));
        }
        let price = parse_dec(&m.price)
            .filter(|p| *p > 0)
            .ok_or_else(|| mkt_err(22, "bid price is invalid"))?;
        let (denom, ceiling) =
            group_price(&group.spec).ok_or_else(|| mkt_err(22, "bid price is invalid"))?;
        if m.price.denom != denom {
            return Err(mkt_err(
                22,
                format!(
                    "bid price is invalid: denom {} does not match the order's {denom}",
                    m.price.denom
                ),
            ));
        }
        if price > ceiling {
            return Err(mkt_err(
                22,
                format!(
                    "bid price is invalid: {}{denom} is above the order's {}{denom}",
                    legacy_dec_text(price),
                    legacy_dec_text(ceiling)
                ),
            ));
        }
        let Some(prov) = self.providers.get(&id.provider) else {
            return Err(mkt_err(30, format!("unknown provider {}", id.provider)));
        };
        if !self.matches_requirements(&id.provider, prov, &group.spec) {
            return Err(mkt_err(5, "attribute mismatch"));
        }
        let key = bid_key(id);
        if self.bids.contains_key(&key) {
            return Err(mkt_err(21, "invalid bid: bid exists from provider"));
        }
        if let Some(amount) = deposit {
            self.debit(&id.provider, d, amount)?;
            self.escrow_accounts.insert(
                bid_account_key(&key),
                EscrowAccountRec {
                    scope: Scope::Bid as i32,
                    xid: id.to_string(),
                    owner: id.provider.clone(),
                    state: EscrowState::Open as i32,
                    denom: d.clone(),
                    funds: amount * DEC_SCALE,
                    other_funds: BTreeMap::new(),
                    transferred: 0,
                    settled_at: h,
                    deposits: vec![DepositRec {
                        owner: id.provider.clone(),
                        height: h,
                        source: Source::Balance as i32,
                        balance: amount * DEC_SCALE,
                        denom: d.clone(),
                    }],
                },
            );
        }
        self.bids.insert(
            key,
            BidRec {
                state: BidState::Open as i32,
                denom,
                price,
                created_at: h,
            },
        );
        em.emit(mv1::EventBidCreated {
            id: id.clone(),
            price: m.price.clone(),
        });
        Ok(())
    }

    /// Go's `Order.MatchRequirements`: the provider's own and audited attributes must hold
    /// every required attribute, and the auditors named in `signed_by` must have signed
    /// (all of `all_of`, at least one of `any_of`).
    fn matches_requirements(&self, owner: &str, prov: &ProviderRec, spec: &GroupSpec) -> bool {
        spec.requirements.matched_by(
            |auditor| {
                self.audits
                    .contains_key(&(owner.to_owned(), auditor.to_owned()))
            },
            |key, value| {
                prov.attributes
                    .iter()
                    .chain(
                        self.audits
                            .iter()
                            .filter(|((o, _), _)| o == owner)
                            .flat_map(|(_, attrs)| attrs.iter()),
                    )
                    .any(|(k, v)| k == key && v == value)
            },
        )
    }

    /// Moves a bid to `Lost` or `Closed` and refunds its deposit.
    fn finish_bid(&mut self, k: &BidKey, to: BidState, em: &mut Emitter) {
        if let Some(b) = self.bids.get_mut(k) {
            b.state = to as i32;
        }
        self.close_account(&bid_account_key(k));
        if to == BidState::Closed {
            em.emit(mv1::EventBidClosed { id: bid_id(k) });
        }
    }

    fn close_bid(&mut self, h: i64, m: &mv::MsgCloseBid, em: &mut Emitter) -> Result<(), TxError> {
        let key = bid_key(&m.id);
        let bid = self
            .bids
            .get(&key)
            .ok_or_else(|| mkt_err(18, "invalid bid: bid not found"))?;
        match BidState::try_from(bid.state) {
            Ok(BidState::Open) => {
                self.finish_bid(&key, BidState::Closed, em);
                Ok(())
            }
            Ok(BidState::Active) => {
                let reason = LeaseClosedReason::try_from(m.reason)
                    .ok()
                    .filter(|r| *r != LeaseClosedReason::Invalid)
                    .unwrap_or(LeaseClosedReason::Unspecified);
                let akey = deployment_account_key(&(key.0.clone(), key.1));
                self.settle(&akey, h, em);
                if self.leases.get(&key).map(|l| l.state) != Some(LeaseState::Active as i32) {
                    return Err(mkt_err(10, "lease not active"));
                }
                self.close_lease(h, &key, reason, em);
                // Deployment.OnBidClosed pauses the group: no new order until StartGroup.
                let gkey = (key.0.clone(), key.1, key.2);
                if let Some(g) = self.groups.get_mut(&gkey) {
                    if g.state == GroupState::Open as i32 {
                        g.state = GroupState::Paused as i32;
                        em.emit(dv1::EventGroupPaused {
                            id: group_id(&gkey),
                        });
                    }
                }
                Ok(())
            }
            _ => Err(mkt_err(12, "bid not open")),
        }
    }

    fn create_lease(
        &mut self,
        h: i64,
        m: &mv::MsgCreateLease,
        em: &mut Emitter,
    ) -> Result<(), TxError> {
        let key = bid_key(&m.bid_id);
        let bid = self
            .bids
            .get(&key)
            .ok_or_else(|| mkt_err(18, "invalid bid: bid not found"))?
            .clone();
        if bid.state != BidState::Open as i32 {
            return Err(mkt_err(12, "bid not open"));
        }
        let okey = (key.0.clone(), key.1, key.2, key.3);
        match self.orders.get(&okey) {
            None => return Err(mkt_err(15, "invalid order: order not found")),
            Some(o) if o.state != OrderState::Open as i32 => {
                return Err(mkt_err(13, "bid: order not open"))
            }
            _ => {}
        }
        match self.groups.get(&(key.0.clone(), key.1, key.2)) {
            None => return Err(mkt_err(16, "group not found")),
            Some(g) if g.state != GroupState::Open as i32 => {
                return Err(mkt_err(17, "group not open"))
            }
            _ => {}
        }
        if self.leases.contains_key(&key) {
            return Err(mkt_err(3, "internal error: lease exists"));
        }
        let akey = deployment_account_key(&(key.0.clone(), key.1));
        self.settle(&akey, h, em);
        let account = self
            .escrow_accounts
            .get(&akey)
            .ok_or_else(|| esc_err(3, format!("account not found: {akey}")))?;
        if account.state != EscrowState::Open as i32 {
            return Err(esc_err(4, format!("account {akey} is not open")));
        }
        if account.denom != bid.denom {
            return Err(esc_err(
                5,
                "invalid denomination: bid denom differs from the account's",
            ));
        }
        let pid = lease_id(&key).escrow_payment();
        self.escrow_payments.insert(
            pid.key(),
            PaymentRec {
                account: akey,
                xid: pid.xid.clone(),
                owner: key.4.clone(),
                state: EscrowState::Open as i32,
                denom: bid.denom.clone(),
                rate: bid.price,
                balance: 0,
                withdrawn: 0,
                unsettled: 0,
            },
        );
        self.leases.insert(
            key.clone(),
            LeaseRec {
                state: LeaseState::Active as i32,
                denom: bid.denom.clone(),
                price: bid.price,
                created_at: h,
                closed_on: 0,
                reason: 0,
            },
        );
        self.bids.get_mut(&key).expect("checked").state = BidState::Active as i32;
        self.orders.get_mut(&okey).expect("checked").state = OrderState::Active as i32;
        let lo = (key.0.clone(), key.1, key.2, key.3, String::new(), 0);
        let hi = (key.0.clone(), key.1, key.2, key.3 + 1, String::new(), 0);
        let losers: Vec<BidKey> = self
            .bids
            .range(lo..hi)
            .filter(|(k, b)| **k != key && b.state == BidState::Open as i32)
            .map(|(k, _)| k.clone())
            .collect();
        for l in losers {
            self.finish_bid(&l, BidState::Lost, em);
        }
        em.emit(mv1::EventLeaseCreated {
            id: lease_id(&key),
            price: DecCoin::from_scaled(bid.denom, bid.price),
        });
        Ok(())
    }

    /// Closes an active lease: pays the provider what it earned, closes the payment, the bid
    /// and the order.
    fn close_lease(&mut self, h: i64, k: &BidKey, reason: LeaseClosedReason, em: &mut Emitter) {
        let pkey = lease_payment_key(k);
        self.withdraw_payment(&pkey);
        let broke = reason == LeaseClosedReason::InsufficientFunds;
        if let Some(p) = self.escrow_payments.get_mut(&pkey) {
            p.state = if broke {
                EscrowState::Overdrawn
            } else {
                EscrowState::Closed
            } as i32;
        }
        if let Some(l) = self.leases.get_mut(k) {
            // Market OnLeaseClosed: an overdrawn payment leaves the lease
            // `insufficient_funds`, anything else `closed`.
            l.state = if broke {
                LeaseState::InsufficientFunds
            } else {
                LeaseState::Closed
            } as i32;
            l.closed_on = h;
            l.reason = reason as i32;
        }
        em.emit(mv1::EventLeaseClosed {
            id: lease_id(k),
            reason: reason as i32,
        });
        self.finish_bid(k, BidState::Closed, em);
        let okey = (k.0.clone(), k.1, k.2, k.3);
        if let Some(o) = self.orders.get_mut(&okey) {
            if o.state != OrderState::Closed as i32 {
                o.state = OrderState::Closed as i32;
                em.emit(mv1::EventOrderClosed {
                    id: order_id(&okey),
                });
            }
        }
    }

    /// After a lease closed: a group still open gets a new order.
    fn reopen_order(&mut self, h: i64, k: &BidKey, em: &mut Emitter) {
        let gkey = (k.0.clone(), k.1, k.2);
        if self.groups.get(&gkey).map(|g| g.state) == Some(GroupState::Open as i32) {
            self.open_order(h, &gkey, em);
        }
    }

    /// Tenant's CloseLease (`x/market/handler/server.go`): the reason is always
    /// `lease_closed_owner`, whatever the message says; a group still open gets a new order.
    fn close_lease_msg(
        &mut self,
        h: i64,
        m: &mv::MsgCloseLease,
        em: &mut Emitter,
    ) -> Result<(), TxError> {
        let key = lease_key(&m.id);
        let okey = (key.0.clone(), key.1, key.2, key.3);
        match self.orders.get(&okey) {
            None => return Err(mkt_err(15, "invalid order: order not found")),
            Some(o) if o.state != OrderState::Active as i32 => {
                return Err(mkt_err(24, "order closed"))
            }
            _ => {}
        }
        match self.bids.get(&key) {
            None => return Err(mkt_err(18, "invalid bid: bid not found")),
            Some(b) if b.state != BidState::Active as i32 => {
                return Err(mkt_err(11, "bid not active"))
            }
            _ => {}
        }
        match self.leases.get(&key) {
            None => {
                return Err(mkt_err(
                    20,
                    format!("lease not found: {}", m.id.to_path_with_bseq()),
                ))
            }
            Some(l) if l.state != LeaseState::Active as i32 => {
                return Err(mkt_err(24, "order closed"))
            }
            _ => {}
        }
        let akey = deployment_account_key(&(key.0.clone(), key.1));
        self.settle(&akey, h, em);
        if self.leases[&key].state != LeaseState::Active as i32 {
            // Settlement ran the account dry and closed the lease already.
            return Ok(());
        }
        self.close_lease(h, &key, LeaseClosedReason::Owner, em);
        self.reopen_order(h, &key, em);
        Ok(())
    }

    fn withdraw_lease(
        &mut self,
        h: i64,
        m: &mv::MsgWithdrawLease,
        em: &mut Emitter,
    ) -> Result<(), TxError> {
        let key = lease_key(&m.id);
        if !self.leases.contains_key(&key) {
            return Err(mkt_err(
                20,
                format!("lease not found: {}", m.id.to_path_with_bseq()),
            ));
        }
        let akey = deployment_account_key(&(key.0.clone(), key.1));
        self.settle(&akey, h, em);
        self.withdraw_payment(&lease_payment_key(&key));
        Ok(())
    }

    // ---- escrow ----------------------------------------------------------------------

    fn account_deposit(
        &mut self,
        h: i64,
        m: &ev::MsgAccountDeposit,
        em: &mut Emitter,
    ) -> Result<(), TxError> {
        let amount = check_deposit(&m.deposit, |e| esc_err(16, format!("invalid deposit: {e}")))?;
        let denom = &m.deposit.amount.denom;
        if !DEPOSIT_DENOMS.contains(&denom.as_str()) {
            return Err(esc_err(5, format!("invalid denomination {denom}")));
        }
        if m.id.scope != Scope::Deployment as i32 {
            return Err(esc_err(
                15,
                "deposits are only allowed into deployment accounts",
            ));
        }
        let akey = m.id.key();
        let account = self
            .escrow_accounts
            .get(&akey)
            .ok_or_else(|| esc_err(3, format!("account not found: {akey}")))?;
        if account.state == EscrowState::Closed as i32 {
            return Err(esc_err(2, format!("account closed: {akey}")));
        }
        if account.denom != *denom {
            // uakt into a uact account: kept aside (the node's AKT fallback).
            self.debit(&m.signer, denom, amount)?;
            let account = self.escrow_accounts.get_mut(&akey).expect("checked");
            *account.other_funds.entry(denom.clone()).or_default() += amount * DEC_SCALE;
            account.deposits.push(DepositRec {
                owner: m.signer.clone(),
                height: h,
                source: Source::Balance as i32,
                balance: amount * DEC_SCALE,
                denom: denom.clone(),
            });
            return Ok(());
        }
        self.settle(&akey, h, em);
        self.debit(&m.signer, denom, amount)?;
        let account = self.escrow_accounts.get_mut(&akey).expect("checked");
        account.funds += amount * DEC_SCALE;
        account.deposits.push(DepositRec {
            owner: m.signer.clone(),
            height: h,
            source: Source::Balance as i32,
            balance: amount * DEC_SCALE,
            denom: denom.clone(),
        });
        if account.state == EscrowState::Overdrawn as i32 {
            self.settle_debts(&akey);
        }
        Ok(())
    }

    fn payment_keys(&self, akey: &str) -> Vec<String> {
        let prefix = format!("{akey}/");
        self.escrow_payments
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(_, p)| p.account == akey)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Takes `amount` out of an account's deposits, oldest first.
    fn draw(account: &mut EscrowAccountRec, mut amount: u128) {
        account.funds -= amount;
        account.transferred += amount;
        let denom = account.denom.clone();
        for d in account.deposits.iter_mut().filter(|d| d.denom == denom) {
            let take = amount.min(d.balance);
            d.balance -= take;
            amount -= take;
        }
    }

    /// Settles an account up to height `h`: every open payment earns `rate × blocks`. When
    /// the funds do not cover it, the account pays whole blocks while it can, then the
    /// remainder pro rata, and goes overdrawn; its leases are closed with reason
    /// `lease_closed_reason_insufficient_funds` and their groups marked `insufficient_funds`.
    pub(super) fn settle(&mut self, akey: &str, h: i64, em: &mut Emitter) {
        let Some(account) = self.escrow_accounts.get(akey) else {
            return;
        };
        if account.state != EscrowState::Open as i32 {
            return;
        }
        let blocks = (h - account.settled_at).max(0) as u128;
        let pkeys: Vec<String> = self
            .payment_keys(akey)
            .into_iter()
            .filter(|k| self.escrow_payments[k].state == EscrowState::Open as i32)
            .collect();
        let rate_sum: u128 = pkeys.iter().map(|k| self.escrow_payments[k].rate).sum();
        let account = self.escrow_accounts.get_mut(akey).expect("checked");
        account.settled_at = h;
        if blocks == 0 || rate_sum == 0 {
            return;
        }
        let need = rate_sum * blocks;
        if account.funds >= need {
            Self::draw(account, need);
            for k in &pkeys {
                let p = self.escrow_payments.get_mut(k).expect("listed");
                p.balance += p.rate * blocks;
            }
            return;
        }
        let full = account.funds / rate_sum;
        let rest = account.funds - full * rate_sum;
        let funds = account.funds;
        Self::draw(account, funds);
        account.state = EscrowState::Overdrawn as i32;
        let xid = account.xid.clone();
        for k in &pkeys {
            let p = self.escrow_payments.get_mut(k).expect("listed");
            let paid = p.rate * full + mul_div(rest, p.rate, rate_sum);
            p.balance += paid;
            p.unsettled += p.rate * blocks - paid;
            p.state = EscrowState::Overdrawn as i32;
        }
        // The escrow hooks of an overdrawn account (`x/market/hooks/hooks.go`): the
        // deployment closes, its groups go `insufficient_funds`, their leases
        // `insufficient_funds` with reason 20000, orders and bids close.
        let Ok(id) = xid.parse::<dv1::DeploymentID>() else {
            return;
        };
        let dkey = (id.owner.clone(), id.dseq);
        match self.deployments.get_mut(&dkey) {
            Some(d) if d.state == DeploymentState::Active as i32 => {
                d.state = DeploymentState::Closed as i32;
            }
            _ => return,
        }
        for g in self.group_keys(&dkey) {
            if self.groups[&g].state == GroupState::Closed as i32 {
                continue;
            }
            self.wind_down_group(h, &g, LeaseClosedReason::InsufficientFunds, em);
            self.groups.get_mut(&g).expect("listed").state = GroupState::InsufficientFunds as i32;
            em.emit(dv1::EventGroupClosed { id: group_id(&g) });
        }
        em.emit(dv1::EventDeploymentClosed { id });
    }

    /// Pays an overdrawn account's debts from its funds; once none is left, the account
    /// closes and refunds the rest (`AccountDeposit` on an overdrawn account).
    fn settle_debts(&mut self, akey: &str) {
        let mut cleared = true;
        for pkey in self.payment_keys(akey) {
            let owed = self.escrow_payments[&pkey].unsettled;
            if owed == 0 {
                continue;
            }
            let account = self.escrow_accounts.get_mut(akey).expect("caller checked");
            let pay = owed.min(account.funds);
            Self::draw(account, pay);
            let p = self.escrow_payments.get_mut(&pkey).expect("listed");
            p.unsettled -= pay;
            p.balance += pay;
            cleared &= p.unsettled == 0;
            self.withdraw_payment(&pkey);
        }
        if cleared {
            self.close_account(akey);
        }
    }

    /// Pays a payment's whole units to its payee.
    fn withdraw_payment(&mut self, pkey: &str) {
        let Some(p) = self.escrow_payments.get_mut(pkey) else {
            return;
        };
        let units = p.balance / DEC_SCALE;
        p.balance -= units * DEC_SCALE;
        p.withdrawn += units;
        let (owner, denom) = (p.owner.clone(), p.denom.clone());
        self.credit(&owner, &denom, units);
    }

    /// Closes an account: withdraws its payments and refunds what is left to the depositors
    /// (whole units; the sub-unit dust stays, as in Go).
    fn close_account(&mut self, akey: &str) {
        let Some(account) = self.escrow_accounts.get(akey) else {
            return;
        };
        if account.state == EscrowState::Closed as i32 {
            return;
        }
        for pkey in self.payment_keys(akey) {
            self.withdraw_payment(&pkey);
            self.escrow_payments.get_mut(&pkey).expect("listed").state = EscrowState::Closed as i32;
        }
        let account = self.escrow_accounts.get_mut(akey).expect("checked");
        account.state = EscrowState::Closed as i32;
        let denom = account.denom.clone();
        let mut refunds = Vec::new();
        for d in &mut account.deposits {
            let units = d.balance / DEC_SCALE;
            d.balance -= units * DEC_SCALE;
            if d.denom == denom {
                account.funds -= units * DEC_SCALE;
            } else if let Some(f) = account.other_funds.get_mut(&d.denom) {
                *f -= units * DEC_SCALE;
            }
            refunds.push((d.owner.clone(), d.denom.clone(), units));
        }
        for (owner, denom, units) in refunds {
            self.credit(&owner, &denom, units);
        }
    }

    /// Block-end drawdown of every open deployment account.
    pub(super) fn drawdown(&mut self, h: i64, em: &mut Emitter) {
        let keys: Vec<String> = self
            .escrow_accounts
            .iter()
            .filter(|(_, a)| {
                a.scope == Scope::Deployment as i32 && a.state == EscrowState::Open as i32
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.settle(&k, h, em);
        }
    }

    // ---- cert ------------------------------------------------------------------------

    fn create_certificate(&mut self, m: &cv::MsgCreateCertificate) -> Result<(), TxError> {
        if !is_account_address(&m.owner) {
            return Err(cert_err(2, format!("invalid address {:?}", m.owner)));
        }
        if m.cert.is_empty() {
            return Err(cert_err(6, "invalid certificate value: empty"));
        }
        if m.pubkey.is_empty() {
            return Err(cert_err(7, "invalid pubkey value: empty"));
        }
        // cert.go: an ECDSA key, a valid self-signature, Subject CN = owner, and the pubkey
        // given is the certificate's.
        let serial = af_akash::certs::validate_for_owner(&m.cert, &m.pubkey, &m.owner)
            .map_err(|e| match e {
                CertRefusal::Certificate(e) => {
                    cert_err(6, format!("invalid certificate value: {e}"))
                }
                CertRefusal::PublicKey(e) => cert_err(7, format!("invalid pubkey value: {e}")),
            })?
            .serial;
        let key = (m.owner.clone(), serial);
        if self.certificates.contains_key(&key) {
            return Err(cert_err(3, format!("certificate exists: serial {}", key.1)));
        }
        self.certificates.insert(
            key,
            CertRec {
                state: cv::CertificateState::Valid as i32,
                cert: m.cert.clone(),
                pubkey: m.pubkey.clone(),
            },
        );
        Ok(())
    }

    fn revoke_certificate(&mut self, m: &cv::MsgRevokeCertificate) -> Result<(), TxError> {
        let key = (m.id.owner.clone(), m.id.serial.clone());
        let c = self
            .certificates
            .get_mut(&key)
            .ok_or_else(|| cert_err(1, format!("certificate not found: serial {}", m.id.serial)))?;
        if c.state == cv::CertificateState::Revoked as i32 {
            return Err(cert_err(4, "certificate already revoked"));
        }
        c.state = cv::CertificateState::Revoked as i32;
        Ok(())
    }

    // ---- provider and audit ------------------------------------------------------------

    fn check_host_uri(uri: &str) -> Result<(), TxError> {
        let url = url::Url::parse(uri).map_err(|e| {
            prov_err(
                1,
                format!("invalid provider: invalid host uri {uri:?}: {e}"),
            )
        })?;
        if url.host_str().is_none() {
            return Err(prov_err(
                2,
                format!("invalid provider: not absolute host uri {uri:?}"),
            ));
        }
        Ok(())
    }

    fn create_provider(
        &mut self,
        m: &pv::MsgCreateProvider,
        em: &mut Emitter,
    ) -> Result<(), TxError> {
        Self::check_host_uri(&m.host_uri)?;
        if self.providers.contains_key(&m.owner) {
            return Err(prov_err(4, "invalid provider: already exists"));
        }
        self.providers.insert(
            m.owner.clone(),
            provider_rec(&m.host_uri, &m.attributes, &m.info),
        );
        em.emit(pv::EventProviderCreated {
            owner: m.owner.clone(),
        });
        Ok(())
    }

    fn update_provider(
        &mut self,
        m: &pv::MsgUpdateProvider,
        em: &mut Emitter,
    ) -> Result<(), TxError> {
        Self::check_host_uri(&m.host_uri)?;
        if !self.providers.contains_key(&m.owner) {
            return Err(prov_err(3, "invalid provider: address not found"));
        }
        self.providers.insert(
            m.owner.clone(),
            provider_rec(&m.host_uri, &m.attributes, &m.info),
        );
        em.emit(pv::EventProviderUpdated {
            owner: m.owner.clone(),
        });
        Ok(())
    }

    /// DeleteProvider is not implemented on mainnet (`x/provider/handler/server.go`
    /// returns `ErrInternal: NOTIMPLEMENTED` for an existing provider); the devnet refuses it
    /// the same way.
    fn delete_provider(&mut self, m: &pv::MsgDeleteProvider) -> Result<(), TxError> {
        if !self.providers.contains_key(&m.owner) {
            return Err(prov_err(3, "invalid provider: address not found"));
        }
        Err(prov_err(9, "internal error: NOTIMPLEMENTED"))
    }

    fn sign_attributes(
        &mut self,
        m: &av::MsgSignProviderAttributes,
        em: &mut Emitter,
    ) -> Result<(), TxError> {
        if m.attributes.is_empty() {
            return Err(TxError::new("audit", 2, "attributes must not be empty"));
        }
        let entry = self
            .audits
            .entry((m.owner.clone(), m.auditor.clone()))
            .or_default();
        for a in &m.attributes {
            match entry.iter_mut().find(|(k, _)| *k == a.key) {
                Some(e) => e.1.clone_from(&a.value),
                None => entry.push((a.key.clone(), a.value.clone())),
            }
        }
        entry.sort();
        em.emit(av::EventTrustedAuditorCreated {
            owner: m.owner.clone(),
            auditor: m.auditor.clone(),
        });
        Ok(())
    }

    fn delete_attributes(
        &mut self,
        m: &av::MsgDeleteProviderAttributes,
        em: &mut Emitter,
    ) -> Result<(), TxError> {
        let key = (m.owner.clone(), m.auditor.clone());
        let entry = self
            .audits
            .get_mut(&key)
            .ok_or_else(|| TxError::new("audit", 1, "provider not found"))?;
        if m.keys.is_empty() {
            self.audits.remove(&key);
        } else {
            entry.retain(|(k, _)| !m.keys.contains(k));
            if entry.is_empty() {
                self.audits.remove(&key);
            }
        }
        em.emit(av::EventTrustedAuditorDeleted {
            owner: m.owner.clone(),
            auditor: m.auditor.clone(),
        });
        Ok(())
    }

    // ---- bme ---------------------------------------------------------------------------

    fn mint_act(&mut self, h: i64, m: &bv::MsgMintACT) -> Result<(), TxError> {
        if m.coins_to_burn.denom != UAKT {
            return Err(TxError::new(
                "bme",
                2,
                format!(
                    "invalid denom {}: MintACT burns {UAKT}",
                    m.coins_to_burn.denom
                ),
            ));
        }
        let amount = parse_int(&m.coins_to_burn.amount)
            .filter(|a| *a > 0)
            .ok_or_else(|| TxError::new("bme", 3, "invalid amount: must be a positive integer"))?;
        let to = if m.to.is_empty() {
            m.owner.clone()
        } else {
            m.to.clone()
        };
        if !is_account_address(&to) {
            return Err(TxError::invalid_request(format!(
                "invalid recipient {to:?}"
            )));
        }
        self.debit(&m.owner, UAKT, amount)?;
        let sequence = self.mints.len() as i64 + 1;
        self.mints.push(MintRec {
            owner: m.owner.clone(),
            to,
            burned: amount,
            minted: 0,
            height: h,
            sequence,
            executed: false,
        });
        Ok(())
    }

    /// At an epoch boundary, executes every pending mint at the configured price.
    pub(super) fn settle_mints(&mut self, h: i64, em: &mut Emitter) {
        if self.params.bme_epoch_blocks <= 0 || h % self.params.bme_epoch_blocks != 0 {
            return;
        }
        let price = self.params.bme_act_per_akt;
        let mut credits = Vec::new();
        for r in self.mints.iter_mut().filter(|r| !r.executed) {
            r.minted = r.burned * price / DEC_SCALE;
            r.executed = true;
            credits.push((r.to.clone(), r.minted));
            em.emit(bv::EventLedgerRecordExecuted {
                id: mint_record_id(r),
                burned_from: r.owner.clone(),
                minted_to: r.to.clone(),
                burner: "bme".to_owned(),
                minter: "bme".to_owned(),
                burned: Some(bv::CoinPrice {
                    coin: coin(UAKT, r.burned),
                    price: price.to_string(),
                }),
                minted: Some(bv::CoinPrice {
                    coin: coin(UACT, r.minted),
                    price: DEC_SCALE.to_string(),
                }),
                spread: coin(UACT, 0),
                remint_credit_issued: None,
                remint_credit_accrued: None,
            });
        }
        for (to, amount) in credits {
            self.credit(&to, UACT, amount);
        }
    }
}

/// The ledger record ID of a mint.
pub(crate) fn mint_record_id(r: &MintRec) -> bv::LedgerRecordID {
    bv::LedgerRecordID {
        denom: UAKT.to_owned(),
        to_denom: UACT.to_owned(),
        source: r.owner.clone(),
        height: r.height,
        sequence: r.sequence,
    }
}

fn provider_rec(
    host_uri: &str,
    attributes: &[af_akash::sdl::Attribute],
    info: &pv::Info,
) -> ProviderRec {
    ProviderRec {
        host_uri: host_uri.to_owned(),
        attributes: attributes
            .iter()
            .map(|a| (a.key.clone(), a.value.clone()))
            .collect(),
        email: info.email.clone(),
        website: info.website.clone(),
    }
}

/// A scaled amount as Go prints a `LegacyDec`.
/// `a * b / c` rounded down, exact for all `u128` inputs with a result that fits (the
/// product may exceed 128 bits: a rate of 10^23 times a remainder of 10^23). `c` must not be 0.
pub(crate) fn mul_div(a: u128, b: u128, c: u128) -> u128 {
    if let Some(p) = a.checked_mul(b) {
        return p / c;
    }
    // 256-bit product as (hi, lo), then binary long division by c.
    let (a1, a0) = (a >> 64, a & u128::from(u64::MAX));
    let (b1, b0) = (b >> 64, b & u128::from(u64::MAX));
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 64) + (p01 & u128::from(u64::MAX)) + (p10 & u128::from(u64::MAX));
    let lo = (p00 & u128::from(u64::MAX)) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    let mut rem: u128 = 0;
    let mut quo: u128 = 0;
    for i in (0..256).rev() {
        let bit = if i >= 128 {
            (hi >> (i - 128)) & 1
        } else {
            (lo >> i) & 1
        };
        let carry = rem >> 127;
        rem = (rem << 1) | bit;
        let q = if carry == 1 || rem >= c {
            rem = rem.wrapping_sub(c);
            1
        } else {
            0
        };
        if i < 128 {
            quo |= q << i;
        }
    }
    quo
}

pub(crate) fn legacy_dec_text(scaled: u128) -> String {
    af_akash::proto::legacy_dec::to_decimal(&scaled.to_string())
}
