#!/usr/bin/env bash
# Run the fuzz targets in fuzz/ (cargo fuzz, libFuzzer), one after another.
#
#   scripts/fuzz.sh [--seconds N] [target ...]
#
# Each named target (default: all of `cargo fuzz list`) runs N seconds
# (default 60), starting from its committed seeds (fuzz/seeds/<target>) and
# its working corpus (fuzz/corpus/<target>, git-ignored, kept and grown
# between runs). A crash stops the script; its input is in
# fuzz/artifacts/<target>/ (git-ignored): replay it with
# `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none <target> <file>`,
# then turn it into a unit test before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

seconds=60
targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --seconds=*) seconds=${1#*=}; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
case $seconds in ''|*[!0-9]*) echo "--seconds takes a whole number" >&2; exit 2 ;; esac

ensure_cargo_fuzz
cd fuzz
# cargo fuzz needs a few unstable compiler flags: the stable toolchain allows
# them with RUSTC_BOOTSTRAP. No sanitizer: our code is safe Rust, and
# AddressSanitizer's runtime is nightly's; libFuzzer still finds panics,
# overflows (debug assertions are on) and timeouts.
export RUSTC_BOOTSTRAP=1
FLAGS=(--sanitizer none)
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi

step "building ${targets[*]}"
cargo fuzz build "${FLAGS[@]}"

summary=()
for target in "${targets[@]}"; do
  [ -d "seeds/$target" ] || { echo "no such target: $target (see fuzz/seeds/)" >&2; exit 2; }
  mkdir -p "corpus/$target" "artifacts/$target"
  step "fuzzing $target for ${seconds}s"
  log="artifacts/$target/last-run.log"
  # -close_fd_mask=1: the functions' metric lines go to stdout; keep them out.
  set +e
  cargo fuzz run "${FLAGS[@]}" "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -timeout=30 -close_fd_mask=1 -print_final_stats=1 2>&1 | tee "$log" |
    grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|Done |stat::number_of_executed_units|==[0-9]+== ERROR|.*panicked)'
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then
    echo "$target: crashed; see $log and fuzz/artifacts/$target/" >&2
    exit 1
  fi
  runs=$(grep -m1 -oE '^stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
  corpus=$(find "corpus/$target" -type f | wc -l)
  summary+=("$target: ${seconds}s, $runs runs, corpus $corpus files, no crash")
done

step "summary"
printf '%s\n' "${summary[@]}"
