#!/usr/bin/env bash
# Starts the whole bundle on this machine and shows it working:
#   moto (Secrets Manager) -> the payments secret -> the provider sandbox ->
#   the six functions under `cargo lambda watch` -> a charge created,
#   opened on the hosted page, and listed.
# Then keeps running until Ctrl-C, and stops everything it started.
#
#   scripts/local-run.sh          run and keep serving
#   scripts/local-run.sh --check  run the demonstration, then stop (exit 1 if it failed)
#
# Ports: MOTO_PORT (5050), SANDBOX_PORT (8720), LAMBDA_PORT (9000); --check
# picks free ones so it never collides with a run already going.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

CHECK=false
[ "${1:-}" = "--check" ] && CHECK=true

ensure_tools
trap stop_started EXIT
trap 'exit 130' INT TERM

if $CHECK; then
  MOTO_PORT=0; SANDBOX_PORT=$(free_port); LAMBDA_PORT=$(free_port)
else
  MOTO_PORT=${MOTO_PORT:-5050}; SANDBOX_PORT=${SANDBOX_PORT:-8720}; LAMBDA_PORT=${LAMBDA_PORT:-9000}
fi
SECRET_ID=payments/local
QBIT_API_KEY=sk_test_local

step "starting moto"
start_moto "$MOTO_PORT"
echo "moto: $MOTO_ENDPOINT"
.venv/bin/python scripts/seed_local.py "$MOTO_ENDPOINT" "$SECRET_ID" \
  "{\"qbit_api_key\": \"$QBIT_API_KEY\"}"

step "building the sandbox and the six functions"
cargo build --quiet --bins

step "starting the provider sandbox"
start_in_background "$RUN_DIR/sandbox.log" target/debug/sandbox \
  --addr "127.0.0.1:$SANDBOX_PORT" --qbit-api-key "$QBIT_API_KEY"
SANDBOX_URL=$(wait_for_line "$RUN_DIR/sandbox.log" "sandbox listening on " 30)
echo "sandbox: $SANDBOX_URL"

step "starting the functions under cargo lambda watch"
cat > "$RUN_DIR/lambda.env" <<ENV
PAYMENTS_SECRET_ID=$SECRET_ID
QBIT_BASE_URL=$SANDBOX_URL
AWS_ENDPOINT_URL=$MOTO_ENDPOINT
AWS_ACCESS_KEY_ID=test
AWS_SECRET_ACCESS_KEY=test
AWS_REGION=us-east-1
ENV
start_in_background "$RUN_DIR/watch.log" cargo lambda watch --ignore-changes \
  -A 127.0.0.1 -P "$LAMBDA_PORT" --env-file "$RUN_DIR/lambda.env"
wait_for_port "$LAMBDA_PORT" 300
echo "functions: http://127.0.0.1:$LAMBDA_PORT (logs: $RUN_DIR/watch.log)"

# invoke FUNCTION EVENT_FILE: print the function's status and JSON body;
# fail unless the status is 200.
invoke() {
  local out
  out=$(cargo lambda invoke "$1" -A 127.0.0.1 -P "$LAMBDA_PORT" --data-file "events/$2" --output-format json)
  echo "$out" > "$RUN_DIR/last-$1.json"
  .venv/bin/python - "$RUN_DIR/last-$1.json" <<'PY'
import json, sys
answer = json.load(open(sys.argv[1]))
print(f"HTTP {answer['statusCode']}  x-request-id: {answer['headers'].get('x-request-id')}")
print(json.dumps(json.loads(answer["body"]), indent=2))
sys.exit(0 if answer["statusCode"] == 200 else 1)
PY
}

step "create-charge  (cargo lambda invoke create-charge --data-file events/create-charge.json)"
invoke create-charge create-charge.json

step "open the hosted payment page with the charge's access token"
read -r PAGE TOKEN < <(.venv/bin/python -c '
import json, sys
body = json.loads(json.load(open(sys.argv[1]))["body"])
print(body["charge"]["paymentPageUrl"], body["accessToken"])' "$RUN_DIR/last-create-charge.json")
curl -sf -H "Authorization: Bearer $TOKEN" "$PAGE"; echo

step "list-charges  (cargo lambda invoke list-charges --data-file events/list-charges.json)"
invoke list-charges list-charges.json

step "calls the sandbox received"
curl -sf "$SANDBOX_URL/_sandbox/calls"; echo

if $CHECK; then
  echo; echo "local run: OK"
  exit 0
fi

cat <<MSG

The bundle is running. Try:
  cargo lambda invoke create-charge -A 127.0.0.1 -P $LAMBDA_PORT --data-file events/create-charge.json
  cargo lambda invoke list-charges  -A 127.0.0.1 -P $LAMBDA_PORT --data-file events/list-charges.json
  curl -s -X POST http://127.0.0.1:$LAMBDA_PORT/lambda-url/create-charge \\
       -H 'content-type: application/json' \\
       -d '{"amount": 2500, "currency": "USD", "externalOrderId": "order-7"}'
  curl -s "http://127.0.0.1:$LAMBDA_PORT/lambda-url/list-charges?limit=2"
  curl -s $SANDBOX_URL/_sandbox/calls
(PATH needs $PWD/.venv/bin for 'cargo lambda'.) Ctrl-C stops everything.
MSG
wait "${STARTED_PIDS[@]}"
