//! Tx bytes at the devnet: the protobuf decode and the CheckTx (ante) and Simulate paths a
//! `broadcast_tx_*` or `abci_query` runs, never a panic.
#![no_main]
#![forbid(unsafe_code)]

use std::sync::OnceLock;
use std::time::Duration;

use af_devnet::chain::{Chain, Params};
use af_devnet::node::{Node, NodeConfig};
use libfuzzer_sys::fuzz_target;

struct Env {
    _rt: tokio::runtime::Runtime,
    node: Node,
}

fn env() -> &'static Env {
    static ENV: OnceLock<Env> = OnceLock::new();
    ENV.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let node = rt.block_on(async {
            let mut chain = Chain::new(Params::default());
            let (wallet, _) = af_devnet::test_account(0);
            chain.fund(wallet.address(), &[("uakt", 10_000_000_000)]);
            Node::start(NodeConfig {
                chain_id: "fuzz-1".into(),
                block_time: Duration::from_secs(3600),
                min_gas_price_uakt: 0.0025,
                genesis: chain,
                genesis_time_unix: 1_700_000_000,
            })
        });
        Env { _rt: rt, node }
    })
}

fuzz_target!(|data: &[u8]| {
    let env = env();
    let _ = af_akash::tx::decode_tx(data);
    let _ = env.node.simulate(data);
    let _ = env.node.submit(data.to_vec());
});
