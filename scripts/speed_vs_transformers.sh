#!/usr/bin/env bash
# Training speed of the source tasks, reprobe against Hugging Face transformers on the same machine in one
# run: tuned all-MiniLM-L6-v2, batch 32, max length 128, MRPC and WNUT-17. reprobe: `reprobe bench` (12 timed
# steps after 2 warm-up steps); transformers: scripts/golden/hf_finetune.py on the first 448 training
# examples (14 steps, one epoch, its examples/s). The sides run back to back, ROUNDS times (default 1); with
# BASELINE=/path/to/an/older/reprobe that binary is timed too, between the two. Each rate is printed as
# "wall (cpu)": examples per wall-clock second, and per CPU second of the process (user + system, all threads),
# which other work on a busy machine disturbs less. Best on an idle machine; the load average is printed
# with every round.
#
#   PYTHON=/path/to/venv/bin/python [ROUNDS=2] [BASELINE=old-reprobe] bash scripts/speed_vs_transformers.sh [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-2}
PY=${PYTHON:-python3}
BIN=${REPROBE:-target/release/reprobe}
ROUNDS=${ROUNDS:-1}
BASELINE=${BASELINE:-}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores), threads $THREADS"

# "wall (cpu)" examples/s of `reprobe bench` with binary $1 on config $2
reprobe_rate() {
  RAYON_NUM_THREADS=$THREADS "$1" bench "$2" --train-docs 12 --warmup 2 --eval-docs 4 --format json 2>/dev/null |
    tail -1 | "$PY" -c 'import json,sys; d=json.load(sys.stdin)
print("%.2f (%.2f)" % (d["train_examples_per_s"], d.get("train_examples_per_cpu_s", float("nan"))))'
}

for round in $(seq "$ROUNDS"); do
  for task in mrpc ner; do
    case $task in
      mrpc) cfg=configs/pair/mrpc_minilm.toml ;;
      ner) cfg=configs/ner/wnut17_minilm.toml ;;
    esac
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    line="$task (round $round, load average $load): reprobe $(reprobe_rate "$BIN" "$cfg")"
    if [ -n "$BASELINE" ]; then
      line="$line, baseline $(reprobe_rate "$BASELINE" "$cfg")"
    fi
    "$PY" scripts/golden/hf_finetune.py --task $task --seed 1 --epochs 1 --limit 448 --threads "$THREADS" \
      --out "$out/$task.json" > "$out/$task.log" 2>&1
    h=$("$PY" -c 'import json,sys; e=json.load(open(sys.argv[1]))["epochs"][0]; r=e["train_examples_per_second"]
print("%.2f (%.2f)" % (r, r * e["train_seconds"] / e["train_cpu_seconds"]))' "$out/$task.json")
    echo "$line, transformers $h examples/s"
  done
done
