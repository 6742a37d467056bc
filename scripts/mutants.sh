#!/usr/bin/env bash
# Mutation testing of the money paths with cargo-mutants: every mutant of
# amounts, DeBox's answers, the transfer flow, idempotency keys, charges and
# webhook recording must be caught by a test, or be explained in
# RELIABILITY.md. Not in CI: too long (each mutant rebuilds the shared
# crate's tests, ~12 s on 2 shared cores; the store pass rebuilds the
# integration tests, ~2 min a mutant).
#
#   bash scripts/mutants.sh unit [FILE...]   the shared crate's unit tests
#                                            against the mutants of FILEs
#                                            (default: every money-path file
#                                            but the stores; ~250 mutants,
#                                            ~50 min)
#   bash scripts/mutants.sh store [REGEX]    the stores (*/dynamo.rs) and the
#                                            DeBox client against the
#                                            integration tests on moto; REGEX
#                                            selects mutants by name (default:
#                                            all of them, ~90 mutants, hours)
#
# Arguments after `--` go to cargo mutants (`-- --list` to see the mutants,
# `-- --iterate` to test only what the last run of that pass did not
# catch). Settings and the mutants excluded, each with its reason:
# .cargo/mutants.toml. Results:
# .local/mutants/<pass>/mutants.out/{caught,missed,timeout,unviable}.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_DIR="$PWD/.local/mutants"
source scripts/lib.sh

# The money paths whose logic the unit tests reach.
UNIT_FILES=(
  shared/src/debox/amount.rs
  shared/src/debox/decimal.rs
  shared/src/debox/answer.rs
  shared/src/transfer/flow.rs
  shared/src/transfer/types.rs
  shared/src/budget.rs
  shared/src/charge/key.rs
  shared/src/charge/idempotent.rs
  shared/src/charge/create.rs
  shared/src/webhook/matching.rs
  shared/src/webhook/receive.rs
  shared/src/qbit/webhook.rs
  shared/src/qbit/types.rs
  shared/src/debox/sign.rs
  shared/src/table.rs
)
# The stores, whose conditions only DynamoDB (moto) evaluates, and the
# DeBox client, which only the sandbox answers.
STORE_FILES=(
  shared/src/transfer/dynamo.rs
  shared/src/charge/dynamo.rs
  shared/src/webhook/dynamo.rs
  shared/src/debox/client.rs
)
# The integration tests that drive them (`create_charge` names both of its
# modules).
STORE_TESTS=(debox_transfer:: create_charge qbit_webhook:: admin:: debox_order:: mutants_kill::)

pass=${1:-unit}
shift || true
extra=()
selected=()
while [ $# -gt 0 ]; do
  case $1 in
    --) shift; extra=("$@"); break ;;
    *) selected+=("$1"); shift ;;
  esac
done

ensure_cargo_mutants
# One build directory kept between runs: the tree is copied without
# target/, and a fresh one would rebuild every dependency each run.
export CARGO_TARGET_DIR="${MUTANTS_TARGET_DIR:-$RUN_DIR/target}"

# The tree as it is now, without what is built, installed or generated
# (fuzz corpora change while a fuzzer runs, and cargo mutants copies the
# tree it is given).
snapshot() {
  rm -rf "$RUN_DIR/src"
  mkdir -p "$RUN_DIR/src"
  tar --exclude=./target --exclude=./.venv --exclude=./.venv-sam --exclude=./.local \
    --exclude=./.git --exclude=./.aws-sam --exclude=./fuzz/target --exclude=./fuzz/corpus \
    --exclude=./fuzz/artifacts --exclude=./.hypothesis --exclude=./.schemathesis \
    -cf - . | tar -xf - -C "$RUN_DIR/src"
}

# One job: the machine is shared; nice keeps the rest responsive.
run_mutants() {
  local out=$1 status=0; shift
  mkdir -p "$out"
  step "cargo mutants $*"
  local start=$SECONDS
  # cargo-mutants itself (not `cargo mutants`, which would reset $CARGO).
  nice -n 10 cargo-mutants mutants -d "$RUN_DIR/src" --jobs 1 --output "$out" "$@" || status=$?
  echo "took $((SECONDS - start)) s; results in $out/mutants.out"
  return "$status"
}

snapshot
case $pass in
  unit)
    files=("${selected[@]:-${UNIT_FILES[@]}}")
    args=()
    for f in "${files[@]}"; do args+=(-f "$f"); done
    run_mutants "$RUN_DIR/unit" -p shared "${args[@]}" "${extra[@]}" -- --lib
    ;;
  store)
    ensure_tools
    trap stop_started EXIT
    start_moto 0
    echo "moto: $MOTO_ENDPOINT"
    args=()
    for f in "${STORE_FILES[@]}"; do args+=(-f "$f"); done
    if [ ${#selected[@]} -gt 0 ]; then args+=(-F "${selected[0]}"); fi
    # The admin tests run the payments-admin binary, which `cargo test`
    # does not build: cargo mutants gets a cargo that builds it (with the
    # mutant, since it links the stores) before each test run. Otherwise
    # every mutant would "fail" the admin tests, caught or not.
    wrapper="$RUN_DIR/cargo-with-admin.sh"
    cat >"$wrapper" <<EOF
#!/usr/bin/env bash
if [ "\$1" = test ]; then
  "$(command -v cargo)" build --package=payments-admin --bin payments-admin || exit \$?
fi
exec "$(command -v cargo)" "\$@"
EOF
    chmod +x "$wrapper"
    # cargo mutants' baseline runs the mutated package's own tests (where
    # there is no `it`): skipped, with the limits set here instead. The
    # unmutated tree passes these tests in scripts/test.sh.
    CARGO="$wrapper" run_mutants "$RUN_DIR/store" -p shared "${args[@]}" --test-package bundle-tests \
      --baseline skip --timeout 300 --build-timeout 1800 \
      "${extra[@]}" -- --test it -- "${STORE_TESTS[@]}"
    ;;
  *)
    echo "usage: bash scripts/mutants.sh unit|store [...]" >&2
    exit 2
    ;;
esac
