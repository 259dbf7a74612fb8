#!/usr/bin/env bash
# The independent-client checks (cosmjs + Akash's chain-sdk, js-ipfs's UnixFS importer)
# against a fresh devnet: installs the npm packages when package.json changed, starts
# `af-operator devnet` on free ports in the background (stopped on exit), runs chain.js,
# tenant.js and cid.mjs, fails if any does.
#
#   tools/interop/run.sh [PATH/TO/af-operator]     (default: target/debug/af-operator)
#   tools/interop/run.sh --install-only            (Node.js and the npm packages, no checks)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
install_only=""
if [ "${1:-}" = "--install-only" ]; then
  install_only=1
else
  bin="${1:-${CARGO_TARGET_DIR:-$root/target}/debug/af-operator}"
  [ -x "$bin" ] || { echo "interop: no af-operator binary at $bin (build it first)" >&2; exit 1; }
  # Absolute: the script runs from its own folder below.
  bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
fi

# Node.js and npm: Debian's packages when missing (quick when present).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "interop: installing Node.js and npm (apt-get)"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
fi

# The npm packages, once per package.json.
cd "$here"
stamp="node_modules/.af-interop-stamp"
want="$(sha256sum package.json | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "interop: npm install"
  npm install --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
if [ -n "$install_only" ]; then
  echo "interop: npm packages in place ($(ls node_modules | wc -l) top-level entries)"
  exit 0
fi

# A devnet on ephemeral ports; its start-up lines give the URLs and the test mnemonic.
log="$(mktemp)"
"$bin" devnet --rpc-listen 127.0.0.1:0 --control-listen 127.0.0.1:0 --providers 3 \
  --block-time 300ms >"$log" 2>&1 &
devnet=$!
trap 'kill "$devnet" 2>/dev/null; wait "$devnet" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 100); do
  grep -q '^test mnemonic:' "$log" && break
  kill -0 "$devnet" 2>/dev/null || { cat "$log" >&2; echo "interop: the devnet exited" >&2; exit 1; }
  sleep 0.1
done
RPC="$(sed -n 's/^rpc: *//p' "$log")"
CONTROL="$(sed -n 's/^control: *//p' "$log")"
MNEMONIC="$(sed -n 's/^test mnemonic: *//p' "$log")"
[ -n "$RPC" ] && [ -n "$MNEMONIC" ] || { cat "$log" >&2; echo "interop: the devnet did not start" >&2; exit 1; }
export RPC MNEMONIC CONTROL

status=0
for check in chain.js tenant.js cid.mjs; do
  out="$(mktemp)"
  if node "$check" >"$out" 2>&1 && [ "$(tail -n1 "$out")" = "OK" ]; then
    echo "interop: $check OK"
  else
    cat "$out" >&2
    echo "interop: $check FAILED" >&2
    status=1
  fi
  rm -f "$out"
done
exit "$status"
