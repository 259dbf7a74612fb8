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
# `<that dir>/<triple>/fuzz/TARGET <file>`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

secs=${AF_FUZZ_SECONDS:-30}
targets=("$@")
if [ $# -eq 0 ]; then targets=(sdl spec_yaml graphql jsonrpc tx); fi

dir=${AF_FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$root/target}/fuzz}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
triple=$(rustc -vV | sed -n 's/^host: //p')

# --target keeps the flags off build scripts and proc macros, which run on the host.
build_start=$SECONDS
CARGO_TARGET_DIR="$dir" \
RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares" \
  cargo build --profile fuzz -p af-fuzz --target "$triple" --bins
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
  if ! "$dir/$triple/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$artifacts/" "$corpus" "${seeds[@]}" 2>"$dir/$t.log"; then
    echo "FINDING in $t:"; tail -n 40 "$dir/$t.log"; status=1
  fi
  grep -E "^stat::number_of_executed_units|^#[0-9]+ *DONE" "$dir/$t.log" | tail -n 2 || true
done
exit $status
