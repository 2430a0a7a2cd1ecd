#!/usr/bin/env bash
# Training speed of the source tasks, reprobe against Hugging Face transformers on the same machine in one
# run: tuned all-MiniLM-L6-v2, batch 32, max length 128, MRPC and WNUT-17. reprobe: `reprobe bench` (12 timed
# steps after 2 warm-up steps); transformers: scripts/golden/hf_finetune.py on the first 448 training
# examples (14 steps, one epoch, its examples/s). Run it on an otherwise idle machine.
#
#   PYTHON=/path/to/venv/bin/python bash scripts/speed_vs_transformers.sh [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-2}
PY=${PYTHON:-python3}
BIN=${REPROBE:-target/release/reprobe}
out=$(mktemp -d)
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores), threads $THREADS"
for task in mrpc ner; do
  case $task in
    mrpc) cfg=configs/pair/mrpc_minilm.toml ;;
    ner) cfg=configs/ner/wnut17_minilm.toml ;;
  esac
  r=$(RAYON_NUM_THREADS=$THREADS "$BIN" bench "$cfg" --train-docs 12 --warmup 2 --eval-docs 4 --format json 2>/dev/null | tail -1)
  "$PY" scripts/golden/hf_finetune.py --task $task --seed 1 --epochs 1 --limit 448 --threads "$THREADS" \
    --out "$out/$task.json" > "$out/$task.log" 2>&1
  h=$("$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['epochs'][0]['train_examples_per_second'])" "$out/$task.json")
  echo "$task: reprobe $(echo "$r" | "$PY" -c 'import json,sys; print(round(json.load(sys.stdin)["train_examples_per_s"], 2))') examples/s, transformers $(printf '%.2f' "$h") examples/s"
done
rm -rf "$out"
