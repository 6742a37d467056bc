#!/usr/bin/env bash
# Measures the six functions as Lambda runs them, each beside a floor
# measured in the same run, and prints the tables BENCHMARKS.md shows:
#   calls      which AWS and provider calls each makes (init, cold, warm)
#   coldstart  process start to first Runtime API poll, and to first answer
#   warm       p50/p99 of 1,000 requests, and peak RSS after them
#   size       the arm64 bootstrap and zip
# Builds the release binaries (host, for timing; arm64 zips with cargo
# lambda, for size), starts moto, runs the harness (`bench`, which runs the
# provider sandbox in-process), and stops what it started. Never part of
# scripts/test.sh: timings are not pass/fail on a shared machine.
#
#   scripts/bench.sh                       everything (about 5-10 minutes once built)
#   scripts/bench.sh coldstart --starts 50 any `bench` arguments (see bench/src/main.rs)
#   BENCH_SKIP_ARM64=1 scripts/bench.sh    skip the arm64 build (no size table)
#   scripts/bench.sh micro                 the criterion micro-benchmarks only
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_DIR="$PWD/.local/bench"
source scripts/lib.sh

ensure_tools
trap stop_started EXIT
TARGET=${CARGO_TARGET_DIR:-target}
FUNCTIONS=(create-charge list-charges qbit-webhook debox-order debox-transfer vbox-balance)
PACKAGES=()
for f in "${FUNCTIONS[@]}"; do PACKAGES+=(-p "$f"); done

if [ "${1:-}" = "micro" ]; then
  shift
  step "cargo bench -p bench --bench micro"
  exec cargo bench --locked -p bench --bench micro -- "$@"
fi

step "building the release binaries (the six functions, the hello-world and floor, the harness)"
cargo build --locked --release "${PACKAGES[@]}" -p bench

if [ "${BENCH_SKIP_ARM64:-}" = "" ] && [ "${1:-all}" = "all" -o "${1:-}" = "size" ]; then
  step "cargo lambda build --release --arm64 --output-format zip (sizes)"
  cargo lambda build --locked --release --arm64 --output-format zip "${PACKAGES[@]}" \
    -p bench --bin bench-hello --bin bench-floor "${FUNCTIONS[@]/#/--bin=}"
fi

if [ "${1:-all}" != "size" ]; then
  step "starting moto"
  start_moto 0
  echo "moto: $MOTO_ENDPOINT"
fi

step "bench ${*:-all}"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)  commit: $(git rev-parse --short HEAD 2>/dev/null || echo none)$(git diff --quiet 2>/dev/null || echo ' (with uncommitted changes)')"
"$TARGET/release/bench" "${@:-all}"
