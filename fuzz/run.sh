#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer's coverage instrumentation and runs each one.
#
#   fuzz/run.sh [TARGET...]        (default: every target)
#   AF_FUZZ_SECONDS=N              time per target (default 30)
#
# Stable Rust is enough: the instrumentation is plain `-C` codegen flags (what cargo-fuzz
# passes, without the sanitizer, which needs nightly and guards `unsafe` code this project
# forbids). The build has its own target dir, `$CARGO_TARGET_DIR/fuzz` (or `target/fuzz`),
# kept between runs; the corpus grows in `<that dir>/corpus/TARGET`, seeded from
# `fuzz/seeds/TARGET`, the SDL fixtures and the examples. A crash is written to
# `<that dir>/artifacts/TARGET/` and fails the script; replay one with
# `<that dir>/<triple>/fuzz/TARGET <file>` (`$CARGO_TARGET_DIR/debug/TARGET` after --quick).
#
#   fuzz/run.sh --quick [TARGET...]   (CI) only this workspace's crates are instrumented
#                                     (fuzz/rustc-wrap.sh); the dependencies are the test
#                                     build's own artifacts in `$CARGO_TARGET_DIR` (or
#                                     `target`), so the build takes a minute, not a cold
#                                     build's twenty. Coverage guidance then stops at our
#                                     code's edge (the YAML and protobuf crates run, unguided).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

quick=0
if [ "${1:-}" = "--quick" ]; then quick=1; shift; fi
secs=${AF_FUZZ_SECONDS:-30}
targets=("$@")
if [ $# -eq 0 ]; then targets=(sdl spec_yaml graphql jsonrpc tx); fi

base=${CARGO_TARGET_DIR:-$root/target}
dir=${AF_FUZZ_TARGET_DIR:-$base/fuzz}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
triple=$(rustc -vV | sed -n 's/^host: //p')

build_start=$SECONDS
if [ $quick = 1 ]; then
  CARGO_TARGET_DIR="$base" RUSTC_WRAPPER="$root/fuzz/rustc-wrap.sh" \
    cargo build -p af-fuzz --bins
  bin=$(cd "$base" && pwd)/debug
else
  # --target keeps the flags off build scripts and proc macros, which run on the host.
  CARGO_TARGET_DIR="$dir" \
  RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares" \
    cargo build --profile fuzz -p af-fuzz --target "$triple" --bins
  bin=$dir/$triple/fuzz
fi
echo "fuzz build: $((SECONDS - build_start)) s"

shared=$root/../shared/akash/fixtures
status=0
for t in "${targets[@]}"; do
  corpus=$dir/corpus/$t
  artifacts=$dir/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  seeds=()
  [ -d "fuzz/seeds/$t" ] && seeds+=("fuzz/seeds/$t")
  case $t in
    sdl) [ -d "$shared" ] && seeds+=("$shared") ;;
    spec_yaml) seeds+=(examples) ;;
  esac
  echo "fuzzing $t for ${secs}s"
  if ! "$bin/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$artifacts/" "$corpus" "${seeds[@]}" 2>"$dir/$t.log"; then
    echo "FINDING in $t:"; tail -n 40 "$dir/$t.log"; status=1
  fi
  grep -E "^stat::number_of_executed_units|^#[0-9]+ *DONE" "$dir/$t.log" | tail -n 2 || true
done
exit $status
