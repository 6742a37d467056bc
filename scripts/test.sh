#!/usr/bin/env bash
# Runs every test, on a fresh machine too: installs what is missing, starts
# moto, then checks formatting and lints, checks openapi.yaml and the SAM
# template offline,
# runs the unit and integration
# tests (the handlers and the real binaries against the sandbox and moto,
# over real HTTP) and the local run's demonstration, and stops all it started.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_DIR="$PWD/.local/test"
source scripts/lib.sh

ensure_tools
ensure_sam
ensure_cargo_deny
trap stop_started EXIT

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "cargo deny: licenses, banned crates (no openssl, native-tls or ring), crates.io only (deny.toml)"
# Offline: advisories need RustSec's database from the network (run by hand).
cargo deny --locked --offline check --hide-inclusion-graph bans licenses sources

step "openapi.yaml: a valid OpenAPI 3.1 document (every answer the tests get is checked against it)"
.venv/bin/openapi-spec-validator openapi.yaml

step "template.yaml: sam validate --lint, cfn-lint, the SAM transform run here then cfn-lint, and the checks against the code"
# Offline: no credentials, telemetry off; a region only names the partition.
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
  AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 .venv-sam/bin/sam validate --lint
.venv/bin/cfn-lint template.yaml
.venv/bin/python scripts/check_template.py template.yaml
.venv/bin/python scripts/test_template.py

step "starting moto"
start_moto 0
echo "moto: $MOTO_ENDPOINT"

step "building the binaries (cargo lambda watch runs them in the tests)"
cargo build --locked --workspace --bins

step "cargo test"
cargo test --locked --workspace

step "the local run (scripts/local-run.sh --check)"
scripts/local-run.sh --check

step "schemathesis: generated requests against openapi.yaml and a local run (short; scripts/schemathesis.sh)"
scripts/schemathesis.sh
