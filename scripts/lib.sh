# Helpers for scripts/local-run.sh and scripts/test.sh (sourced, not run).
# They install what is missing into .venv, start the stand-ins on loopback
# and stop everything they started when the calling script exits.

RUN_DIR="${RUN_DIR:-$PWD/.local/run}"
mkdir -p "$RUN_DIR"
STARTED_PIDS=()

step() { printf '\n==> %s\n' "$*"; }

# Python tools (moto's server, cargo-lambda) in a project-local virtual
# environment, reinstalled only when scripts/requirements.txt changes.
ensure_tools() {
  command -v cargo >/dev/null || { echo "cargo is required: install Rust with rustup" >&2; exit 1; }
  command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
  if [ ! -x .venv/bin/python ]; then
    step "creating .venv"
    python3 -m venv .venv
  fi
  local stamp=".venv/.installed-$(sha256sum scripts/requirements.txt | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    step "installing moto and cargo-lambda into .venv"
    .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
    touch "$stamp"
  fi
  export PATH="$PWD/.venv/bin:$PATH"
}

# The SAM CLI in .venv-sam, reinstalled only when its requirements change.
ensure_sam() {
  if [ ! -x .venv-sam/bin/python ]; then
    step "creating .venv-sam"
    python3 -m venv .venv-sam
  fi
  local stamp=".venv-sam/.installed-$(sha256sum scripts/requirements-sam.txt | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    step "installing the SAM CLI into .venv-sam"
    .venv-sam/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-sam.txt
    touch "$stamp"
  fi
}

# ensure_cargo_tool SUBCOMMAND CRATE VERSION: `cargo SUBCOMMAND` at exactly
# VERSION, installed into $HOME/.cargo/bin (cargo install --locked) only
# when that version is missing.
ensure_cargo_tool() {
  local subcommand=$1 crate=$2 version=$3
  command -v cargo >/dev/null || { echo "cargo is required: install Rust with rustup" >&2; exit 1; }
  if ! cargo "$subcommand" --version 2>/dev/null | grep -qx "$crate $version"; then
    step "installing $crate $version"
    cargo install --locked "$crate@$version"
  fi
}

# cargo-mutants: mutation testing (scripts/mutants.sh).
ensure_cargo_mutants() { ensure_cargo_tool mutants cargo-mutants 27.1.0; }

# cargo-fuzz: the libFuzzer targets in fuzz/ (scripts/fuzz.sh).
ensure_cargo_fuzz() { ensure_cargo_tool fuzz cargo-fuzz 0.13.2; }

# cargo-deny: the dependency policy in deny.toml (scripts/test.sh). 0.20.2
# needs rustc 1.88 or later (built here with 1.95).
ensure_cargo_deny() { ensure_cargo_tool deny cargo-deny 0.20.2; }

# A free TCP port on 127.0.0.1.
free_port() {
  .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for_line FILE PREFIX SECONDS: print the rest of the first line of FILE
# that starts with PREFIX, once it appears.
wait_for_line() {
  local file=$1 prefix=$2 seconds=$3 line
  for _ in $(seq $((seconds * 10))); do
    line=$(grep -m1 "^$prefix" "$file" 2>/dev/null || true)
    if [ -n "$line" ]; then echo "${line#"$prefix"}"; return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for '$prefix' in $file:" >&2
  tail -20 "$file" >&2
  return 1
}

# wait_for_port PORT SECONDS
wait_for_port() {
  local port=$1 seconds=$2
  for _ in $(seq $((seconds * 10))); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "nothing listened on port $port within ${seconds}s" >&2
  return 1
}

# start_in_background LOG COMMAND...: in its own process group, so that
# stopping it also stops what it started (cargo lambda watch's functions).
start_in_background() {
  local log=$1; shift
  setsid "$@" >"$log" 2>&1 &
  STARTED_PIDS+=($!)
}

# moto (DynamoDB and Secrets Manager), one request at a time; sets MOTO_ENDPOINT.
start_moto() {
  local port=${1:-0}
  start_in_background "$RUN_DIR/moto.log" .venv/bin/python scripts/moto_server.py --port "$port"
  MOTO_ENDPOINT=$(wait_for_line "$RUN_DIR/moto.log" "moto listening on " 60)
  export MOTO_ENDPOINT
}

stop_started() {
  local pid
  for pid in "${STARTED_PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${STARTED_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  STARTED_PIDS=()
}
