#!/usr/bin/env bash
# RUSTC_WRAPPER of `fuzz/run.sh --quick`: libFuzzer's coverage instrumentation (and
# `--cfg fuzzing`, opt-level 1) for this workspace's crates and the fuzz targets only; every
# dependency is compiled as the test build compiles it, so its artifacts are shared and only
# our crates are built again (the `fuzzing` feature keeps their instrumented copy apart).
rustc=$1
shift
name=""
prev=""
for a in "$@"; do
  if [ "$prev" = "--crate-name" ]; then name=$a; break; fi
  prev=$a
done
case "$name" in
  af_operator | af_akash | af_devnet | spec_yaml | sdl | graphql | jsonrpc | tx)
    exec "$rustc" "$@" --cfg fuzzing -Copt-level=1 -Cpasses=sancov-module \
      -Cllvm-args=-sanitizer-coverage-level=4 \
      -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
      -Cllvm-args=-sanitizer-coverage-pc-table \
      -Cllvm-args=-sanitizer-coverage-trace-compares ;;
esac
exec "$rustc" "$@"
