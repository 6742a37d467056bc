#!/usr/bin/env bash
# Starts the whole bundle on this machine and shows it working:
#   moto (Secrets Manager, DynamoDB) -> the payments secret and table -> the
#   provider sandbox -> the six functions under `cargo lambda watch` -> a
#   charge created, opened on the hosted page, paid, its signed webhook
#   recorded, and listed; an Idempotency-Key replayed; a DeBox order and
#   transfer, the duplicate refused with -2016, and the balance moving.
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
# Where cargo puts the binaries (CARGO_TARGET_DIR moves it).
TARGET=${CARGO_TARGET_DIR:-target}
SECRET_ID=payments/local
TABLE=payments-local
QBIT_API_KEY=sk_test_local
DEBOX_APP_ID=app_local
DEBOX_API_KEY=debox_key_local
DEBOX_APP_SECRET=debox_secret_local
MERCHANT=merchant1
# Test-only key pair: the sandbox signs webhooks with the private half, the
# secret holds the public half (events/qbit-webhook.json is signed with it).
WEBHOOK_KEY=events/keys/qbit-webhook-test.key.pem
WEBHOOK_PUBLIC_KEY=events/keys/qbit-webhook-test.pub.pem

step "starting moto"
start_moto "$MOTO_PORT"
echo "moto: $MOTO_ENDPOINT"
QBIT_API_KEY=$QBIT_API_KEY DEBOX_APP_ID=$DEBOX_APP_ID DEBOX_API_KEY=$DEBOX_API_KEY \
  DEBOX_APP_SECRET=$DEBOX_APP_SECRET QBIT_WEBHOOK_PUBLIC_KEY_FILE=$WEBHOOK_PUBLIC_KEY \
  .venv/bin/python scripts/seed_local.py "$MOTO_ENDPOINT" "$SECRET_ID" "$TABLE"

step "building the sandbox, the six functions and the demonstration"
cargo build --quiet --bins

step "starting the provider sandbox"
start_in_background "$RUN_DIR/sandbox.log" "$TARGET/debug/sandbox" \
  --addr "127.0.0.1:$SANDBOX_PORT" --qbit-api-key "$QBIT_API_KEY" \
  --debox-app-id "$DEBOX_APP_ID" --debox-api-key "$DEBOX_API_KEY" --debox-app-secret "$DEBOX_APP_SECRET" \
  --debox-merchant "$MERCHANT" --debox-merchant-balance 1000 \
  --qbit-webhook-key "$WEBHOOK_KEY" --qbit-webhook-url "http://127.0.0.1:$LAMBDA_PORT/lambda-url/qbit-webhook"
SANDBOX_URL=$(wait_for_line "$RUN_DIR/sandbox.log" "sandbox listening on " 30)
echo "sandbox: $SANDBOX_URL"

step "starting the functions under cargo lambda watch"
# The demonstration's arguments: where everything runs. `demo env` prints
# the functions' environment, the same list the tests use.
DEMO_ARGS=(--lambda-port "$LAMBDA_PORT" --sandbox "$SANDBOX_URL" --moto "$MOTO_ENDPOINT"
           --table "$TABLE" --secret-id "$SECRET_ID" --merchant "$MERCHANT"
           --events events --scratch "$RUN_DIR")
"$TARGET/debug/demo" env "${DEMO_ARGS[@]}" > "$RUN_DIR/lambda.env"
start_in_background "$RUN_DIR/watch.log" cargo lambda watch --ignore-changes \
  -A 127.0.0.1 -P "$LAMBDA_PORT" --timeout 60 --env-file "$RUN_DIR/lambda.env"
wait_for_port "$LAMBDA_PORT" 300
echo "functions: http://127.0.0.1:$LAMBDA_PORT (logs: $RUN_DIR/watch.log)"

# The story, written once in demo/ (tests/it/binaries.rs tells the same one):
# each step a `cargo lambda invoke` with a file from events/, checked.
"$TARGET/debug/demo" run "${DEMO_ARGS[@]}"

if $CHECK; then
  echo; echo "local run: OK"
  exit 0
fi

cat <<MSG

The bundle is running. Try:
  cargo lambda invoke create-charge -A 127.0.0.1 -P $LAMBDA_PORT --data-file events/create-charge.json
  cargo lambda invoke list-charges  -A 127.0.0.1 -P $LAMBDA_PORT --data-file events/list-charges.json
  cargo lambda invoke vbox-balance  -A 127.0.0.1 -P $LAMBDA_PORT --data-file events/vbox-balance.json
  cargo lambda invoke debox-order   -A 127.0.0.1 -P $LAMBDA_PORT --data-file events/debox-order.json
  cargo lambda invoke qbit-webhook  -A 127.0.0.1 -P $LAMBDA_PORT --data-file events/qbit-webhook.json
  curl -s -X POST $SANDBOX_URL/_sandbox/qbit/charges/<charge id>/pay
  curl -s -X POST http://127.0.0.1:$LAMBDA_PORT/lambda-url/create-charge \\
       -H 'content-type: application/json' \\
       -d '{"amount": 2500, "currency": "USD", "externalOrderId": "order-7"}'
  curl -s "http://127.0.0.1:$LAMBDA_PORT/lambda-url/list-charges?limit=2"
  curl -s $SANDBOX_URL/_sandbox/calls
  curl -s $SANDBOX_URL/_sandbox/debox/balances/$MERCHANT
(PATH needs $PWD/.venv/bin for 'cargo lambda'.) Ctrl-C stops everything.
MSG
wait "${STARTED_PIDS[@]}"
