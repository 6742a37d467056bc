#!/usr/bin/env bash
# schemathesis (pinned in scripts/requirements.txt) against openapi.yaml and
# the six functions running locally: requests generated from the document,
# valid and invalid (every phase: examples, coverage, fuzzing), sent through
# scripts/gateway.py (the HTTP API's routing: method and path to function)
# to the functions under `cargo lambda watch`, against the sandbox and moto.
# Checks: no 5xx (not_a_server_error), and every answer as the document
# says: its status listed, its content type, its headers and its body.
# Webhook requests carry schemathesis's own signatures: 401, as they should.
# The gateway keeps every function warm (--keep-warm): under cargo lambda
# watch a function left idle past its --timeout dies (see scripts/gateway.py).
#
#   scripts/schemathesis.sh                     the short run (scripts/test.sh)
#   scripts/schemathesis.sh --max-examples 500  a long run
#   scripts/schemathesis.sh --max-examples 100 --seed 7 [other schemathesis run options]
#
# Reuses a local run already serving on LAMBDA_PORT (scripts/local-run.sh,
# 9000 unless set); otherwise starts one on free ports (scripts/local-run.sh,
# which also checks the demonstration) and stops it at the end. Reports go
# to .local/schemathesis/ (junit.xml, and the run's output).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_DIR=$(realpath -m "${RUN_DIR:-$PWD/.local/schemathesis}")
source scripts/lib.sh

MAX_EXAMPLES=20
SEED=20261122
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --max-examples) MAX_EXAMPLES=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    *) EXTRA+=("$1"); shift ;;
  esac
done

ensure_tools
trap stop_started EXIT
trap 'exit 130' INT TERM

LAMBDA_PORT=${LAMBDA_PORT:-9000}
if (exec 3<>"/dev/tcp/127.0.0.1/$LAMBDA_PORT") 2>/dev/null; then
  step "reusing the local run on 127.0.0.1:$LAMBDA_PORT"
else
  step "starting a local run on free ports (scripts/local-run.sh; log: $RUN_DIR/local-run.log)"
  LAMBDA_PORT=$(free_port)
  start_in_background "$RUN_DIR/local-run.log" env RUN_DIR="$RUN_DIR/local-run" \
    MOTO_PORT=0 SANDBOX_PORT="$(free_port)" LAMBDA_PORT="$LAMBDA_PORT" scripts/local-run.sh
  LOCAL_RUN=${STARTED_PIDS[-1]}
  # Up once its demonstration has passed; a local run that stops failed.
  for _ in $(seq 9000); do
    grep -q "^The bundle is running" "$RUN_DIR/local-run.log" 2>/dev/null && break
    if ! kill -0 "$LOCAL_RUN" 2>/dev/null; then
      echo "the local run stopped before serving:" >&2; tail -30 "$RUN_DIR/local-run.log" >&2; exit 1
    fi
    sleep 0.1
  done
  grep -q "^The bundle is running" "$RUN_DIR/local-run.log" || {
    echo "the local run did not serve within 15 minutes" >&2; tail -30 "$RUN_DIR/local-run.log" >&2; exit 1; }
fi

step "starting the gateway stand-in (scripts/gateway.py)"
start_in_background "$RUN_DIR/gateway.log" .venv/bin/python scripts/gateway.py \
  --functions "http://127.0.0.1:$LAMBDA_PORT" --openapi openapi.yaml --keep-warm 15
GATEWAY=$(wait_for_line "$RUN_DIR/gateway.log" "gateway listening on " 30)
echo "gateway: $GATEWAY -> the functions under cargo lambda watch on 127.0.0.1:$LAMBDA_PORT"

step "schemathesis: up to $MAX_EXAMPLES examples per operation, seed $SEED"
started=$(date +%s)
status=0
# Two workers: the machine has two cores, and moto serves one request at a time.
# Run from $RUN_DIR: schemathesis keeps a cache (.schemathesis/) where it runs.
ROOT=$PWD
(cd "$RUN_DIR" && "$ROOT/.venv/bin/schemathesis" run "$ROOT/openapi.yaml" --url "$GATEWAY" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing --max-examples "$MAX_EXAMPLES" --seed "$SEED" \
  --workers 2 --request-timeout 60 --generation-database none --generation-allow-x00 false --no-color \
  --report junit --report-dir "$RUN_DIR" --report-junit-path "$RUN_DIR/junit.xml" \
  "${EXTRA[@]}") 2>&1 | tee "$RUN_DIR/schemathesis.log" || status=$?
echo "schemathesis: exit $status after $(( $(date +%s) - started )) s (report: $RUN_DIR/junit.xml)"
exit "$status"
