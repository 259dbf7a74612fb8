// Independent check of the devnet's IPFS importer: js-ipfs's UnixFS importer
// (ipfs-unixfs-importer, kubo's classic parameters: 256 KiB chunks, a balanced DAG of at most
// 174 links; CIDv0 dag-pb throughout, CIDv1 with raw leaves) computes the CIDs of a 1 MiB
// deterministic file (four chunks); the devnet's `POST /ipfs/add` must give the same, and the
// devnet's gateway must give back the same bytes.
//
// Usage: CONTROL=http://127.0.0.1:26680 node cid.mjs      (without CONTROL: print the CIDs)
import { importer } from "ipfs-unixfs-importer";
import { fixedSize } from "ipfs-unixfs-importer/chunker";
import { balanced } from "ipfs-unixfs-importer/layout";
import { MemoryBlockstore } from "blockstore-core/memory";

// The same bytes as the Rust test `functions_runtime_multi_chunk_cids_match_an_independent_importer`.
const file = new Uint8Array(1024 * 1024);
for (let i = 0; i < file.length; i++) file[i] = (i * 31 + (i >>> 8)) & 0xff;

async function cidOf(version) {
  const options = {
    cidVersion: version,
    rawLeaves: version === 1,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: 262144 }),
    layout: balanced({ maxChildrenPerNode: 174 }),
  };
  let root;
  for await (const entry of importer([{ content: file }], new MemoryBlockstore(), options)) {
    root = entry.cid;
  }
  return root.toString();
}

async function main() {
  const js = { v0: await cidOf(0), v1: await cidOf(1) };
  console.log("ipfs-unixfs-importer", JSON.stringify(js));
  const control = process.env.CONTROL;
  if (!control) {
    console.log("OK");
    return;
  }
  for (const [v, want] of [[0, js.v0], [1, js.v1]]) {
    const r = await fetch(`${control}/ipfs/add?cid-version=${v}`, { method: "POST", body: file });
    if (!r.ok) throw new Error(`devnet ipfs add (v${v}): ${r.status} ${await r.text()}`);
    const { cid } = await r.json();
    console.log(`devnet CIDv${v}`, cid);
    if (cid !== want) throw new Error(`CIDv${v}: devnet ${cid}, ipfs-unixfs-importer ${want}`);
    const back = new Uint8Array(await (await fetch(`${control}/ipfs/${cid}`)).arrayBuffer());
    if (back.length !== file.length || back.some((b, i) => b !== file[i])) {
      throw new Error(`the gateway gave other bytes for ${cid}`);
    }
  }
  console.log("OK");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
