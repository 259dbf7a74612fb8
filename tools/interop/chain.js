// Independent check: cosmjs + chain-sdk protobuf types against the af-operator devnet
// (connect, account, balances, Simulate, a signed MsgCreateDeployment, getTx, a Deployment
// query decoded with chain-sdk types, close, getBlock).
BigInt.prototype.toJSON = function () { return this.toString(); };
// Usage: RPC=http://127.0.0.1:26657 MNEMONIC="..." node chain.js
const { StargateClient, SigningStargateClient, GasPrice, QueryClient, createProtobufRpcClient } = require("@cosmjs/stargate");
const { DirectSecp256k1HdWallet, Registry } = require("@cosmjs/proto-signing");
const { Comet38Client, connectComet } = require("@cosmjs/tendermint-rpc");
const { defaultRegistryTypes } = require("@cosmjs/stargate");
const d = require("./node_modules/@akashnetwork/chain-sdk/dist/cjs/generated/protos/index.akash.v1beta4.cjs");
const fs = require("fs");

async function main() {
  const rpc = process.env.RPC, mnemonic = process.env.MNEMONIC;
  const ro = await StargateClient.connect(rpc);
  console.log("chain id", await ro.getChainId(), "height", await ro.getHeight());
  const wallet = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic, { prefix: "akash" });
  const [acct] = await wallet.getAccounts();
  console.log("address", acct.address);
  console.log("account", JSON.stringify(await ro.getAccount(acct.address)));
  console.log("balances", JSON.stringify(await ro.getAllBalances(acct.address)));
  console.log("balance uakt", JSON.stringify(await ro.getBalance(acct.address, "uakt")));
  const registry = new Registry(defaultRegistryTypes);
  registry.register("/akash.deployment.v1beta4.MsgCreateDeployment", d.MsgCreateDeployment);
  registry.register("/akash.deployment.v1beta4.MsgCloseDeployment", d.MsgCloseDeployment);
  const client = await SigningStargateClient.connectWithSigner(rpc, wallet, { registry, gasPrice: GasPrice.fromString("0.025uakt"), broadcastPollIntervalMs: 200 });
  const dseq = BigInt(Date.now());
  const hash = Buffer.from(process.env.HASH || "de0067e6bb7241da6dc6bf75990001106c0e989cd33cfe6421087c4b93f15b4a", "hex");
  const enc = (s) => new TextEncoder().encode(s);
  const msg = {
    typeUrl: "/akash.deployment.v1beta4.MsgCreateDeployment",
    value: d.MsgCreateDeployment.fromPartial({
      id: { owner: acct.address, dseq },
      groups: [{
        name: "dc",
        requirements: { signedBy: { allOf: [], anyOf: [] }, attributes: [] },
        resources: [{
          resource: {
            id: 1,
            cpu: { units: { val: enc("500") }, attributes: [] },
            memory: { quantity: { val: enc("536870912") }, attributes: [] },
            storage: [{ name: "default", quantity: { val: enc("1073741824") }, attributes: [] }],
            gpu: { units: { val: enc("0") }, attributes: [] },
            endpoints: [{ kind: 0, sequenceNumber: 0 }],
          },
          count: 1,
          price: { denom: "uact", amount: "1000" },
        }],
      }],
      hash,
      deposit: { amount: { denom: "uact", amount: "500000" }, sources: [1] },
    }),
  };
  const sim = await client.simulate(acct.address, [msg], "");
  console.log("simulate gas", sim);
  const res = await client.signAndBroadcast(acct.address, [msg], "auto", "cosmjs check");
  console.log("create deployment code", res.code, "height", res.height, "gasUsed", res.gasUsed, "events", res.events.map((e) => e.type).join(","));
  if (res.code !== 0) throw new Error(res.rawLog);
  const tx = await ro.getTx(res.transactionHash);
  console.log("getTx", tx && tx.height);
  // query the deployment with the chain-sdk types through abci_query
  const comet = await connectComet(rpc);
  const qc = new QueryClient(comet);
  const prpc = createProtobufRpcClient(qc);
  const bytes = await prpc.request("akash.deployment.v1beta4.Query", "Deployment",
    d.QueryDeploymentRequest.encode(d.QueryDeploymentRequest.fromPartial({ id: { owner: acct.address, dseq } })).finish());
  const dep = d.QueryDeploymentResponse.decode(bytes);
  console.log("deployment state", dep.deployment.state, "groups", dep.groups.length, "escrow", JSON.stringify(dep.escrowAccount.state.funds));
  const close = await client.signAndBroadcast(acct.address, [{ typeUrl: "/akash.deployment.v1beta4.MsgCloseDeployment", value: d.MsgCloseDeployment.fromPartial({ id: { owner: acct.address, dseq } }) }], "auto");
  console.log("close code", close.code);
  const block = await ro.getBlock();
  console.log("block", block.header.height, block.header.chainId);
  console.log("OK");
}
main().catch((e) => { console.error("FAILED", e); process.exit(1); });
