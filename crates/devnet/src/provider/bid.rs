//! The bid engine: watches the chain, bids on orders the provider can serve, tracks its
//! leases (capacity, workloads) and closes leases that got no manifest in time.

use super::model::{matches, Usage};
use super::prov::{BidKey, LeaseTrack, OrderKey, Provider};
use super::{read, ChainAccess, SetInner};
use crate::chain::{Chain, DEC_SCALE, UAKT};
use af_akash::proto::base::deposit::v1::Deposit;
use af_akash::proto::deployment::v1beta4::GroupState;
use af_akash::proto::market::v1::{BidID, LeaseClosedReason, LeaseState};
use af_akash::proto::market::v1beta5::{BidState, OrderState};
use af_akash::proto::market::v1beta5::{MsgCloseBid, MsgCreateBid, ResourceOffer};
use af_akash::proto::{to_any, Any, Coin};
use af_akash::sdl::{DecCoin, GroupSpec};
use af_akash::tx::{sign_tx, UnsignedTx};
use std::sync::{Arc, Weak};
use std::time::Instant;

/// Gas limit of the provider's txs.
const GAS_LIMIT: u64 = 1_000_000;
/// A reservation whose bid never reached the chain is released after this.
const UNCONFIRMED_BID_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// A tx the node refused at CheckTx.
#[derive(Debug, thiserror::Error)]
#[error("tx refused (code {code}): {log}")]
pub struct TxSubmitError {
    /// ABCI code.
    pub code: u32,
    /// Log.
    pub log: String,
}

/// Signs `msgs` with the provider's key and submits them; returns the tx hash.
pub(crate) fn send_tx(
    access: &dyn ChainAccess,
    p: &Provider,
    msgs: Vec<Any>,
    memo: &str,
) -> Result<[u8; 32], TxSubmitError> {
    let mut next = super::lock(&p.tx_lock);
    let gas_limit = GAS_LIMIT * msgs.len().max(1) as u64;
    let fee_amount = (gas_limit as f64 * access.min_gas_price_uakt()).ceil() as u128;
    let tx = UnsignedTx {
        messages: msgs,
        memo: memo.to_string(),
        fee: vec![Coin {
            denom: UAKT.to_string(),
            amount: fee_amount.to_string(),
        }],
        gas_limit,
        timeout_height: 0,
    };
    let chain_id = access.chain_id();
    let mut last = TxSubmitError {
        code: 1,
        log: "not sent".into(),
    };
    for attempt in 0..2 {
        let Some((number, chain_seq)) = read(access, |c| c.account(&p.address)) else {
            return Err(TxSubmitError {
                code: 9,
                log: format!("account {} not found", p.address),
            });
        };
        let seq = match *next {
            Some(n) if attempt == 0 && n > chain_seq => n,
            _ => chain_seq,
        };
        let raw = sign_tx(&p.wallet, &chain_id, number, seq, &tx).map_err(|e| TxSubmitError {
            code: 1,
            log: e.to_string(),
        })?;
        match access.submit(raw) {
            Ok(hash) => {
                *next = Some(seq + 1);
                return Ok(hash);
            }
            Err((code, log)) => {
                last = TxSubmitError { code, log };
                if code != 32 {
                    break;
                }
                *next = None;
            }
        }
    }
    Err(last)
}

fn bid_id(k: &OrderKey, provider: &str) -> BidID {
    BidID {
        owner: k.0.clone(),
        dseq: k.1,
        gseq: k.2,
        oseq: k.3,
        provider: provider.to_string(),
        bseq: 0,
    }
}

/// `MsgCloseBid` for the provider's active leases of `dseq` (optionally one gseq/oseq).
pub(crate) fn close_leases(
    access: &dyn ChainAccess,
    p: &Provider,
    dseq: u64,
    gseq: Option<u32>,
    oseq: Option<u32>,
    reason: i32,
) -> anyhow::Result<usize> {
    let keys: Vec<BidKey> = read(access, |c| {
        c.leases
            .iter()
            .filter(|(k, l)| {
                k.4 == p.address
                    && k.1 == dseq
                    && gseq.is_none_or(|g| g == k.2)
                    && oseq.is_none_or(|o| o == k.3)
                    && l.state == LeaseState::Active as i32
            })
            .map(|(k, _)| k.clone())
            .collect()
    });
    for k in &keys {
        close_bid(access, p, k, reason)?;
    }
    Ok(keys.len())
}

fn close_bid(
    access: &dyn ChainAccess,
    p: &Provider,
    k: &BidKey,
    reason: i32,
) -> anyhow::Result<()> {
    let msg = MsgCloseBid {
        id: BidID {
            owner: k.0.clone(),
            dseq: k.1,
            gseq: k.2,
            oseq: k.3,
            provider: k.4.clone(),
            bseq: k.5,
        },
        reason,
    };
    send_tx(access, p, vec![to_any(&msg)], "")?;
    p.state().closing.insert(k.clone());
    Ok(())
}

/// The bid price for `spec`, or `None` when the provider would not bid.
fn bid_price(p: &Provider, spec: &GroupSpec, ceiling: u128) -> Option<u128> {
    let st = p.state();
    let model = p.prices.price(spec);
    let price = if let Some(a) = st.faults.bid_amount {
        (a * 1e6).round() as u128 * (DEC_SCALE / 1_000_000)
    } else if let Some(m) = st.faults.bid_multiplier {
        ((model as f64) * m) as u128
    } else {
        model
    };
    (price > 0 && price <= ceiling).then_some(price)
}

/// The order's maximum price (sum of unit prices × counts) and its denomination.
fn ceiling(spec: &GroupSpec) -> Option<(String, u128)> {
    let mut denom = String::new();
    let mut total = 0u128;
    for u in &spec.resources {
        denom.clone_from(&u.price.denom);
        let a: u128 = u.price.amount.parse().ok()?;
        total = total.checked_add(a.checked_mul(u128::from(u.count))?)?;
    }
    Some((denom, total))
}

struct Snapshot {
    /// Open orders (group open) without a bid from us, with their spec and whether we match.
    orders: Vec<(OrderKey, GroupSpec, bool)>,
    /// Our bids and their states.
    bids: Vec<(BidKey, i32)>,
    /// Our leases and their states.
    leases: Vec<(BidKey, i32)>,
    bid_deposit: Option<(String, u128)>,
}

fn snapshot(c: &Chain, p: &Provider) -> Snapshot {
    let me = &p.address;
    let orders = c
        .orders
        .iter()
        .filter(|(_, o)| o.state == OrderState::Open as i32)
        .filter(|(k, _)| {
            !c.bids
                .contains_key(&(k.0.clone(), k.1, k.2, k.3, me.clone(), 0))
        })
        .filter_map(|(k, _)| {
            let g = c.groups.get(&(k.0.clone(), k.1, k.2))?;
            if g.state != GroupState::Open as i32 {
                return None;
            }
            let ok = k.0 != *me && matches(c, me, &p.attributes, &g.spec);
            Some((k.clone(), g.spec.clone(), ok))
        })
        .collect();
    let bids = c
        .bids
        .iter()
        .filter(|(k, _)| k.4 == *me)
        .map(|(k, b)| (k.clone(), b.state))
        .collect();
    let leases = c
        .leases
        .iter()
        .filter(|(k, _)| k.4 == *me)
        .map(|(k, l)| (k.clone(), l.state))
        .collect();
    let bid_deposit = c
        .params
        .bid_min_deposits
        .iter()
        .find(|(d, _)| d == UAKT)
        .or_else(|| c.params.bid_min_deposits.first())
        .cloned();
    Snapshot {
        orders,
        bids,
        leases,
        bid_deposit,
    }
}

pub(crate) fn spawn_engine(set: Weak<SetInner>, p: Arc<Provider>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last_height = -1;
        let mut interval = tokio::time::interval(p.poll_interval);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            let Some(set) = set.upgrade() else { return };
            let access = set.access.clone();
            drop(set);
            let p2 = p.clone();
            let prev = last_height;
            // Signing and state reads are synchronous; keep them off the async workers.
            match tokio::task::spawn_blocking(move || tick(&*access, &p2, prev)).await {
                Ok(h) => last_height = h,
                Err(_) => return,
            }
        }
    })
}

/// One pass of the engine; returns the height it looked at.
fn tick(access: &dyn ChainAccess, p: &Provider, last_height: i64) -> i64 {
    let height = access.height();
    let now = Instant::now();
    {
        // Nothing changes between blocks except timers: orders waiting out the bid delay and
        // leases waiting for a manifest.
        let st = p.state();
        if height == last_height
            && st.seen_orders.is_empty()
            && st.leases.values().all(|t| t.manifest)
        {
            return height;
        }
    }
    let snap = read(access, |c| snapshot(c, p));

    // Leases: track new ones, forget closed ones (free capacity, stop workloads), time out
    // those without a manifest.
    let mut to_close = Vec::new();
    {
        let mut st = p.state();
        for (k, state) in &snap.leases {
            if *state == LeaseState::Active as i32 {
                let t = st.leases.entry(k.clone()).or_insert(LeaseTrack {
                    seen: now,
                    manifest: false,
                });
                if !t.manifest
                    && now.duration_since(t.seen) >= p.manifest_timeout
                    && !st.closing.contains(k)
                {
                    to_close.push(k.clone());
                }
            } else if st.leases.remove(k).is_some() || st.workloads.contains_key(k) {
                let okey = (k.0.clone(), k.1, k.2, k.3);
                st.reserved.remove(&okey);
                st.closing.remove(k);
                super::workload::stop(&mut st, k);
                // Keep the manifest while another lease of the deployment is active.
                let dkey = (k.0.clone(), k.1);
                if !st.leases.keys().any(|l| l.0 == dkey.0 && l.1 == dkey.1) {
                    st.manifests.remove(&dkey);
                }
            }
        }
        // Reservations for bids that never made it on chain (refused at delivery).
        let on_chain: std::collections::HashSet<OrderKey> = snap
            .bids
            .iter()
            .map(|(k, _)| (k.0.clone(), k.1, k.2, k.3))
            .collect();
        let stale: Vec<OrderKey> = st
            .reserved_at
            .iter()
            .filter(|(k, t)| {
                !on_chain.contains(*k) && now.duration_since(**t) > UNCONFIRMED_BID_GRACE
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            st.reserved.remove(&k);
            st.reserved_at.remove(&k);
        }
        st.reserved_at.retain(|k, _| !on_chain.contains(k));
        // Bids that lost or closed without a lease free their reservation.
        for (k, state) in &snap.bids {
            if *state == BidState::Lost as i32 || *state == BidState::Closed as i32 {
                let okey = (k.0.clone(), k.1, k.2, k.3);
                if !st.leases.contains_key(k) {
                    st.reserved.remove(&okey);
                }
            }
        }
    }
    for k in to_close {
        if let Err(e) = close_bid(access, p, &k, LeaseClosedReason::ManifestTimeout as i32) {
            tracing::warn!(provider = %p.name, lease = ?k, "closing a lease without manifest failed: {e}");
        }
    }

    // Orders.
    {
        let mut st = p.state();
        let open: std::collections::HashSet<&OrderKey> =
            snap.orders.iter().map(|(k, _, _)| k).collect();
        st.seen_orders.retain(|k, _| open.contains(k));
    }
    let stop = p.state().faults.stop_bidding;
    if stop {
        return height;
    }
    let mut ready: Vec<(OrderKey, Any)> = Vec::new();
    for (okey, spec, ok) in snap.orders {
        if !ok {
            continue;
        }
        {
            let st = p.state();
            if st.decided.contains(&okey) {
                continue;
            }
        }
        let Some((denom, ceil)) = ceiling(&spec) else {
            continue;
        };
        let Some(price) = bid_price(p, &spec, ceil) else {
            continue;
        };
        let need = Usage::of_group(&spec);
        {
            let mut st = p.state();
            let used = st.reserved.values().fold(Usage::default(), |a, u| a.add(u));
            if !p.capacity.fits(&used, &need) {
                continue;
            }
            let seen = *st.seen_orders.entry(okey.clone()).or_insert(now);
            if now.duration_since(seen) < p.bid_delay {
                continue;
            }
        }
        let deposit = match &snap.bid_deposit {
            Some((d, a)) => Deposit::from_balance(Coin {
                denom: d.clone(),
                amount: a.to_string(),
            }),
            None => Deposit::from_balance(Coin {
                denom: UAKT.to_string(),
                amount: "0".into(),
            }),
        };
        let msg = MsgCreateBid {
            id: bid_id(&okey, &p.address),
            price: DecCoin::from_scaled(denom, price),
            deposit,
            resources_offer: spec
                .resources
                .iter()
                .map(|u| ResourceOffer {
                    resources: u.resource.clone(),
                    count: u.count,
                    prices: None,
                })
                .collect(),
            reclamation_window: None,
        };
        // Reserved at once, so the next order of this pass sees the capacity taken.
        let mut st = p.state();
        st.decided.insert(okey.clone());
        st.seen_orders.remove(&okey);
        st.reserved_at.insert(okey.clone(), now);
        st.reserved.insert(okey.clone(), need);
        drop(st);
        ready.push((okey, to_any(&msg)));
    }
    send_bids(access, p, ready);
    height
}

/// Most bids in one tx: a provider's broadcaster sends the bids of one pass together.
const BIDS_PER_TX: usize = 50;

/// Sends the bids of one pass, up to [`BIDS_PER_TX`] per tx; a tx refused at CheckTx is
/// sent again bid by bid, so one bad order cannot sink the others. A refused bid releases
/// its reservation.
fn send_bids(access: &dyn ChainAccess, p: &Provider, ready: Vec<(OrderKey, Any)>) {
    for chunk in ready.chunks(BIDS_PER_TX) {
        let msgs: Vec<Any> = chunk.iter().map(|(_, m)| m.clone()).collect();
        let results: Vec<(&OrderKey, Result<(), TxSubmitError>)> =
            match send_tx(access, p, msgs, "") {
                Ok(_) => chunk.iter().map(|(k, _)| (k, Ok(()))).collect(),
                Err(e) if chunk.len() == 1 => vec![(&chunk[0].0, Err(e))],
                Err(_) => chunk
                    .iter()
                    .map(|(k, m)| (k, send_tx(access, p, vec![m.clone()], "").map(|_| ())))
                    .collect(),
            };
        let mut st = p.state();
        for (okey, r) in results {
            match r {
                Ok(()) => st.bids_sent += 1,
                Err(e) => {
                    st.reserved_at.remove(okey);
                    st.reserved.remove(okey);
                    tracing::warn!(provider = %p.name, order = ?okey, "bid refused: {e}");
                }
            }
        }
    }
}
