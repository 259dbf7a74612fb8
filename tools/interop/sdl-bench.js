// The chain-sdk (TypeScript) side of the SDL conversion comparison: the same work as
// `cargo bench --bench sdl` (parse + validate, groups, sorted manifest JSON, manifest
// version) over the same fixture SDLs (chain-sdk's v2.0 and v2.1 inputs and the TS golden
// one), less those this chain-sdk version refuses (it names them). Prints microseconds per
// SDL.
//
//   node sdl-bench.js [SECONDS]        (after `npm install` here; default 5 s of timing)
const fs = require("fs");
const path = require("path");
const sdk = require("@akashnetwork/chain-sdk");

const base = path.join(__dirname, "../../../shared/akash/fixtures");
const all = [];
for (const v of ["v2.0", "v2.1"]) {
  const dir = path.join(base, "chain-sdk/input", v);
  for (const name of fs.readdirSync(dir).sort()) {
    const f = path.join(dir, name, "input.yaml");
    if (fs.existsSync(f)) all.push([`${v}/${name}`, fs.readFileSync(f, "utf8")]);
  }
}
all.push(["ts-golden/basic", fs.readFileSync(path.join(base, "ts-golden/basic.yaml"), "utf8")]);
const sdls = [];
for (const [name, text] of all) {
  try {
    sdk.SDL.fromString(text);
    sdls.push(text);
  } catch (e) {
    console.log(`chain-sdk refuses ${name}: ${e.message}`);
  }
}

async function convertAll() {
  for (const text of sdls) {
    const sdl = sdk.SDL.fromString(text);
    sdl.groups();
    sdl.manifestSortedJSON();
    await sdl.manifestVersion();
  }
}

(async () => {
  const seconds = Number(process.argv[2] || 5);
  // Warm up (JIT), then time whole passes over the fixtures.
  const warm = Date.now() + 1000;
  while (Date.now() < warm) await convertAll();
  let passes = 0;
  const start = process.hrtime.bigint();
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    await convertAll();
    passes++;
  }
  const ns = Number(process.hrtime.bigint() - start);
  const perSdl = ns / 1000 / (passes * sdls.length);
  console.log(`chain-sdk: ${sdls.length} SDLs, ${passes} passes, ${perSdl.toFixed(1)} µs per SDL`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
