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

step "building the sandbox and the six functions"
cargo build --quiet --bins

step "starting the provider sandbox"
start_in_background "$RUN_DIR/sandbox.log" target/debug/sandbox \
  --addr "127.0.0.1:$SANDBOX_PORT" --qbit-api-key "$QBIT_API_KEY" \
  --debox-app-id "$DEBOX_APP_ID" --debox-api-key "$DEBOX_API_KEY" --debox-app-secret "$DEBOX_APP_SECRET" \
  --debox-merchant "$MERCHANT" --debox-merchant-balance 1000 \
  --qbit-webhook-key "$WEBHOOK_KEY" --qbit-webhook-url "http://127.0.0.1:$LAMBDA_PORT/lambda-url/qbit-webhook"
SANDBOX_URL=$(wait_for_line "$RUN_DIR/sandbox.log" "sandbox listening on " 30)
echo "sandbox: $SANDBOX_URL"

step "starting the functions under cargo lambda watch"
cat > "$RUN_DIR/lambda.env" <<ENV
PAYMENTS_SECRET_ID=$SECRET_ID
PAYMENTS_TABLE=$TABLE
QBIT_BASE_URL=$SANDBOX_URL
DEBOX_OPEN_BASE_URL=$SANDBOX_URL
DEBOX_APP_BASE_URL=$SANDBOX_URL
DEBOX_MERCHANT_USER_ID=$MERCHANT
AWS_ENDPOINT_URL=$MOTO_ENDPOINT
AWS_ACCESS_KEY_ID=test
AWS_SECRET_ACCESS_KEY=test
AWS_REGION=us-east-1
ENV
start_in_background "$RUN_DIR/watch.log" cargo lambda watch --ignore-changes \
  -A 127.0.0.1 -P "$LAMBDA_PORT" --timeout 60 --env-file "$RUN_DIR/lambda.env"
wait_for_port "$LAMBDA_PORT" 300
echo "functions: http://127.0.0.1:$LAMBDA_PORT (logs: $RUN_DIR/watch.log)"

# invoke FUNCTION EVENT_FILE [STATUS]: print the function's status and JSON
# body; fail unless the status is STATUS (200 by default).
invoke() {
  local out
  out=$(cargo lambda invoke "$1" -A 127.0.0.1 -P "$LAMBDA_PORT" --data-file "$2" --output-format json)
  echo "$out" > "$RUN_DIR/last-$1.json"
  .venv/bin/python - "$RUN_DIR/last-$1.json" "${3:-200}" <<'PY'
import json, sys
answer = json.load(open(sys.argv[1]))
print(f"HTTP {answer['statusCode']}  x-request-id: {answer['headers'].get('x-request-id')}")
print(json.dumps(json.loads(answer["body"]), indent=2))
sys.exit(0 if answer["statusCode"] == int(sys.argv[2]) else 1)
PY
}

step "create-charge  (cargo lambda invoke create-charge --data-file events/create-charge.json)"
invoke create-charge events/create-charge.json

step "open the hosted payment page with the charge's access token"
read -r PAGE TOKEN < <(.venv/bin/python -c '
import json, sys
body = json.loads(json.load(open(sys.argv[1]))["body"])
print(body["charge"]["paymentPageUrl"], body["accessToken"])' "$RUN_DIR/last-create-charge.json")
curl -sf -H "Authorization: Bearer $TOKEN" "$PAGE"; echo

step "the buyer pays in the sandbox: Qbit delivers a signed charge.succeeded to qbit-webhook"
CHARGE_ID=$(.venv/bin/python -c '
import json, sys
print(json.loads(json.load(open(sys.argv[1]))["body"])["charge"]["id"])' "$RUN_DIR/last-create-charge.json")
curl -sf -X POST "$SANDBOX_URL/_sandbox/qbit/charges/$CHARGE_ID/pay" | tee "$RUN_DIR/pay.json"; echo
.venv/bin/python - "$RUN_DIR/pay.json" "$MOTO_ENDPOINT" "$TABLE" "$CHARGE_ID" <<'PY'
import json, sys
import boto3
pay, endpoint, table, charge = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
item = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                    aws_access_key_id="test", aws_secret_access_key="test").get_item(
    TableName=table, Key={"pk": {"S": f"charge#{charge}"}}, ConsistentRead=True).get("Item", {})
status = item.get("status", {}).get("S")
print(f"webhook answered HTTP {pay['webhook_status']}; charge#{charge} in the table: status={status}")
sys.exit(0 if pay["webhook_status"] == 200 and status == "succeeded" else 1)
PY

step "create-charge with an Idempotency-Key, twice: the second is replayed, Qbit called once"
invoke create-charge events/create-charge-idempotent.json
invoke create-charge events/create-charge-idempotent.json
.venv/bin/python -c '
import json, sys
answer = json.load(open(sys.argv[1]))
replayed = answer["headers"].get("idempotent-replayed")
print(f"idempotent-replayed: {replayed}")
sys.exit(0 if replayed == "true" else 1)' "$RUN_DIR/last-create-charge.json"

step "list-charges  (cargo lambda invoke list-charges --data-file events/list-charges.json)"
invoke list-charges events/list-charges.json

step "vbox-balance  (cargo lambda invoke vbox-balance --data-file events/vbox-balance.json)"
invoke vbox-balance events/vbox-balance.json

step "debox-order, merchant pays 10.50 to u1  (events/debox-order.json)"
invoke debox-order events/debox-order.json

step "debox-transfer with the order's token and serial"
.venv/bin/python - "$RUN_DIR/last-debox-order.json" events/debox-transfer.json "$RUN_DIR/debox-transfer.json" <<'PY'
import json, sys
order = json.loads(json.load(open(sys.argv[1]))["body"])
event = json.load(open(sys.argv[2]))
event["body"] = json.dumps({"access_token": order["access_token"], "serial_id": order["serial_id"], "verify_amount": "10.50"})
json.dump(event, open(sys.argv[3], "w"), indent=2)
PY
invoke debox-transfer "$RUN_DIR/debox-transfer.json"

step "the same transfer again: refused with -2016, DeBox not called"
invoke debox-transfer "$RUN_DIR/debox-transfer.json" 409

step "vbox-balance again: 10.50 points fewer"
invoke vbox-balance events/vbox-balance.json

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
