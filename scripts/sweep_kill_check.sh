#!/usr/bin/env bash
# Kill-and-resume check of a sweep at full scale (issue 6): runs the same 3-seed sweep twice, once straight
# through and once SIGKILLed as soon as its first job has finished and then restarted, and checks that every
# job's result.json (less its wall time) is the same in both. CI runs the same check on the tiny corpus
# (crates/reprobe/tests/train_cli.rs); this one is for real data and weights and takes about an hour on 2 cores
# with OntoGUM and MiniLM.
#
#   bash scripts/sweep_kill_check.sh OUT_DIR [CONFIG] [override ...]
#   bash scripts/sweep_kill_check.sh /tmp/killcheck configs/coref/ontogum_minilm_frozen.toml cache.dir=/tmp/cache
#
# OUT_DIR gets straight/ and killed/ (two sweep folders) and killed/report/ (tables and plots).
set -euo pipefail
out=${1:?usage: sweep_kill_check.sh OUT_DIR [CONFIG] [override ...]}
config=${2:+$(realpath -m "$2")}
shift $(($# >= 2 ? 2 : 1))
out=$(realpath -m "$out")
cd "$(dirname "$0")/.."
config=${config:-configs/coref/ontogum_minilm_frozen.toml}
reprobe=./target/release/reprobe
cargo build --release -p reprobe

sweep_args=(train "$config" seed=1,2,3 train.max_epochs=2 "$@" --multirun --jobs 2)
finished() { ls "$1"/job-*/result.json 2>/dev/null | wc -l; }
results() { # one line per job: its result.json without the wall time
    for f in "$1"/job-*/result.json; do jq -cS 'del(.train_time_s)' "$f"; done
}

mkdir -p "$out"
echo "== straight sweep -> $out/straight"
start=$(date +%s)
"$reprobe" "${sweep_args[@]}" --sweep-dir "$out/straight"
echo "straight sweep: $(($(date +%s) - start)) s"

echo "== killed sweep -> $out/killed"
start=$(date +%s)
"$reprobe" "${sweep_args[@]}" --sweep-dir "$out/killed" &
pid=$!
until [ "$(finished "$out/killed")" -ge 1 ]; do
    kill -0 "$pid" 2>/dev/null || { echo "the sweep ended before it could be killed" >&2; exit 1; }
    sleep 2
done
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
done_at_kill=$(finished "$out/killed")
echo "SIGKILL after $(($(date +%s) - start)) s with $done_at_kill of 3 jobs finished"
[ "$done_at_kill" -lt 3 ] || { echo "all jobs had finished: nothing was interrupted" >&2; exit 1; }
sleep 2 # job processes die with the sweep (PR_SET_PDEATHSIG)
"$reprobe" "${sweep_args[@]}" --sweep-dir "$out/killed"
echo "killed sweep, both parts: $(($(date +%s) - start)) s"

if diff <(results "$out/straight") <(results "$out/killed"); then
    echo "OK: the 3 per-job results of the killed and restarted sweep equal the straight sweep's"
else
    echo "MISMATCH between $out/straight and $out/killed (diff above)" >&2
    exit 1
fi
grep -q ' ± ' "$out/killed/summary.md" || { echo "summary.md has no mean ± std" >&2; exit 1; }
cat "$out/killed/summary.md"
"$reprobe" report "$out/killed"
