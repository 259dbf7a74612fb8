// Independent check 2: full tenant flow with cosmjs + chain-sdk (types, SDL, JWT, certs)
// against the af-operator devnet and its simulated providers.
// Usage: RPC=http://127.0.0.1:26657 MNEMONIC="..." node tenant.js
BigInt.prototype.toJSON = function () { return this.toString(); };
const { SigningStargateClient, GasPrice, QueryClient, createProtobufRpcClient, defaultRegistryTypes } = require("@cosmjs/stargate");
const { DirectSecp256k1HdWallet, Registry } = require("@cosmjs/proto-signing");
const { Secp256k1HdWallet } = require("@cosmjs/amino");
const { connectComet } = require("@cosmjs/tendermint-rpc");
const sdk = require("@akashnetwork/chain-sdk");
const b4 = require("./node_modules/@akashnetwork/chain-sdk/dist/cjs/generated/protos/index.akash.v1beta4.cjs");
const b5 = require("./node_modules/@akashnetwork/chain-sdk/dist/cjs/generated/protos/index.akash.v1beta5.cjs");
const v1 = require("./node_modules/@akashnetwork/chain-sdk/dist/cjs/generated/protos/index.akash.v1.cjs");
const https = require("https");
const fs = require("fs");

function req(method, url, body, opts) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const r = https.request({ method, hostname: u.hostname, port: u.port, path: u.pathname, rejectUnauthorized: false,
      headers: { "Content-Type": "application/json", ...(opts.headers || {}) }, cert: opts.cert, key: opts.key, servername: opts.servername }, (res) => {
      let data = ""; res.on("data", (c) => (data += c)); res.on("end", () => resolve({ status: res.statusCode, body: data }));
    });
    r.on("error", reject); if (body) r.write(body); r.end();
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const rpc = process.env.RPC, mnemonic = process.env.MNEMONIC;
  const wallet = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic, { prefix: "akash" });
  const [acct] = await wallet.getAccounts();
  const owner = acct.address;
  const registry = new Registry(defaultRegistryTypes);
  registry.register("/akash.deployment.v1beta4.MsgCreateDeployment", b4.MsgCreateDeployment);
  registry.register("/akash.deployment.v1beta4.MsgCloseDeployment", b4.MsgCloseDeployment);
  registry.register("/akash.market.v1beta5.MsgCreateLease", b5.MsgCreateLease);
  registry.register("/akash.escrow.v1.MsgAccountDeposit", v1.MsgAccountDeposit);
  registry.register("/akash.cert.v1.MsgCreateCertificate", v1.MsgCreateCertificate);
  const client = await SigningStargateClient.connectWithSigner(rpc, wallet, { registry, gasPrice: GasPrice.fromString("0.025uakt"), broadcastPollIntervalMs: 200 });
  const comet = await connectComet(rpc);
  const prpc = createProtobufRpcClient(new QueryClient(comet));
  const q = async (svc, method, T, R, v) => R.decode(await prpc.request(svc, method, T.encode(T.fromPartial(v)).finish()));

  const sdl = sdk.SDL.fromString(fs.readFileSync("sdl.yaml", "utf8"));
  const manifest = sdl.manifestSortedJSON();
  const hash = Buffer.from(await sdl.manifestVersion());
  const enc = (s) => new TextEncoder().encode(s);
  const dseq = BigInt(Date.now());
  const create = {
    typeUrl: "/akash.deployment.v1beta4.MsgCreateDeployment",
    value: b4.MsgCreateDeployment.fromPartial({
      id: { owner, dseq },
      groups: [{ name: "dc", requirements: { signedBy: { allOf: [], anyOf: [] }, attributes: [] },
        resources: [{ resource: { id: 1, cpu: { units: { val: enc("500") }, attributes: [] }, memory: { quantity: { val: enc("536870912") }, attributes: [] },
          storage: [{ name: "default", quantity: { val: enc("1073741824") }, attributes: [] }], gpu: { units: { val: enc("0") }, attributes: [] },
          endpoints: [{ kind: 0, sequenceNumber: 0 }] }, count: 1, price: { denom: "uact", amount: "1000" } }] }],
      hash, deposit: { amount: { denom: "uact", amount: "5000000" }, sources: [1] },
    }),
  };
  let res = await client.signAndBroadcast(owner, [create], "auto");
  if (res.code !== 0) throw new Error("create: " + res.rawLog);
  console.log("deployment", dseq, "height", res.height);
  let bids = [];
  for (let i = 0; i < 100 && bids.length === 0; i++) {
    const r = await q("akash.market.v1beta5.Query", "Bids", b5.QueryBidsRequest, b5.QueryBidsResponse, { filters: { owner, dseq, state: "open" } });
    bids = r.bids; if (!bids.length) await sleep(200);
  }
  if (!bids.length) throw new Error("no bids");
  console.log("bids", bids.map((b) => `${b.bid.id.provider}/${b.bid.id.bseq} ${b.bid.price.amount}${b.bid.price.denom}`).join(", "));
  const best = bids[0].bid;
  res = await client.signAndBroadcast(owner, [{ typeUrl: "/akash.market.v1beta5.MsgCreateLease", value: b5.MsgCreateLease.fromPartial({ bidId: best.id }) }], "auto");
  if (res.code !== 0) throw new Error("lease: " + res.rawLog);
  console.log("lease events", res.events.map((e) => e.type).join(","));
  const prov = await q("akash.provider.v1beta4.Query", "Provider", b4.QueryProviderRequest, b4.QueryProviderResponse, { owner: best.id.provider });
  const host = prov.provider.hostUri;
  console.log("provider", host);
  // JWT from chain-sdk's JwtTokenManager with an amino wallet (ES256KADR36)
  const amino = await Secp256k1HdWallet.fromMnemonic(mnemonic, { prefix: "akash" });
  const token = await new sdk.JwtTokenManager(amino).generateToken({ version: "v1", iss: owner, leases: { access: "full" } });
  let r = await req("PUT", `${host}/deployment/${dseq}/manifest`, manifest, { headers: { Authorization: `Bearer ${token}` } });
  console.log("PUT manifest (jwt)", r.status, r.body);
  if (r.status !== 200) throw new Error("manifest refused");
  const lid = `${dseq}/${best.id.gseq}/${best.id.oseq}`;
  r = await req("GET", `${host}/lease/${lid}/status`, null, { headers: { Authorization: `Bearer ${token}` } });
  console.log("status (jwt)", r.status, r.body);
  const st = JSON.parse(r.body);
  // mTLS with a chain-sdk certificate published with cosmjs
  const cert = await sdk.certificateManager.generatePEM(owner);
  res = await client.signAndBroadcast(owner, [{ typeUrl: "/akash.cert.v1.MsgCreateCertificate",
    value: v1.MsgCreateCertificate.fromPartial({ owner, cert: enc(cert.cert), pubkey: enc(cert.publicKey) }) }], "auto");
  if (res.code !== 0) throw new Error("cert: " + res.rawLog);
  r = await req("GET", `${host}/lease/${lid}/status`, null, { cert: cert.cert, key: cert.privateKey, servername: "" });
  console.log("status (mTLS)", r.status);
  if (r.status !== 200) throw new Error("mTLS refused: " + r.body);
  // tampered manifest
  r = await req("PUT", `${host}/deployment/${dseq}/manifest`, manifest.replace("nginx:1.25", "nginx:evil"), { cert: cert.cert, key: cert.privateKey, servername: "" });
  console.log("tampered manifest", r.status, r.body);
  if (r.status !== 422) throw new Error("tampered manifest accepted");
  res = await client.signAndBroadcast(owner, [{ typeUrl: "/akash.escrow.v1.MsgAccountDeposit", value: v1.MsgAccountDeposit.fromPartial({ signer: owner,
    id: { scope: 1, xid: `${owner}/${dseq}` }, deposit: { amount: { denom: "uact", amount: "1000000" }, sources: [1] } }) }], "auto");
  console.log("deposit", res.code, res.rawLog || "");
  res = await client.signAndBroadcast(owner, [{ typeUrl: "/akash.deployment.v1beta4.MsgCloseDeployment", value: b4.MsgCloseDeployment.fromPartial({ id: { owner, dseq } }) }], "auto");
  console.log("close", res.code);
  const dep = await q("akash.deployment.v1beta4.Query", "Deployment", b4.QueryDeploymentRequest, b4.QueryDeploymentResponse, { id: { owner, dseq } });
  console.log("deployment state", dep.deployment.state, "escrow state", dep.escrowAccount.state.state);
  console.log("OK");
}
main().catch((e) => { console.error("FAILED", e); process.exit(1); });
