#!/usr/bin/env bash
# The full soaks (RELIABILITY.md has their figures), never part of
# scripts/test.sh, which runs their short variants (tests/it/soak.rs):
#   transfers  10,000 transfer attempts over 8 real release debox-transfer
#              processes, 20% of them reusing a serial, 5% of DeBox calls
#              faulted, an instance SIGKILLed every 100 attempts; then every
#              serial reconciled against DeBox's books, answers and records
#   webhooks   1,000 Qbit deliveries over 8 real release qbit-webhook
#              processes: 30% repeats, out-of-order pairs, foreign charges,
#              an instance SIGKILLed every 100 deliveries
# Builds the release binaries, starts moto, runs the `soak` binary
# (tests/soak.rs; the sandbox runs in it), stops what it started, and
# exits non-zero when a must-be-zero figure is not zero. Loopback only.
#
#   scripts/soak.sh                        both (about 10-20 minutes on 2 cores)
#   scripts/soak.sh transfers --attempts 2000 --instances 4   any `soak` arguments
#   scripts/soak.sh webhooks --deliveries 300
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_DIR="$PWD/.local/soak"
source scripts/lib.sh

ensure_tools
trap stop_started EXIT
TARGET=${CARGO_TARGET_DIR:-target}

step "building the release binaries (debox-transfer, qbit-webhook) and the soak driver"
cargo build --locked --release -p debox-transfer -p qbit-webhook
cargo build --locked -p bundle-tests --bin soak

step "starting moto"
start_moto 0
echo "moto: $MOTO_ENDPOINT"
export MOTO_ENDPOINT

run_soak() {
  local which=$1; shift
  local binary
  case "$which" in
    transfers) binary="$TARGET/release/debox-transfer" ;;
    webhooks) binary="$TARGET/release/qbit-webhook" ;;
    *) echo "soak.sh: transfers or webhooks, not '$which'" >&2; exit 2 ;;
  esac
  step "soak $which $*"
  "$TARGET/debug/soak" "$which" --binary "$binary" --logs "$RUN_DIR/logs" "$@"
}

if [ $# -gt 0 ]; then
  run_soak "$@"
else
  run_soak transfers
  run_soak webhooks
fi
