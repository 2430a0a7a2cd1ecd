#!/usr/bin/env python3
"""LEA counts of an independent implementation from PyPI, `coreference-eval` 0.0.2 (MIT; its `corefeval.metrics.lea`,
after e2e-coref's metrics.py), for `crates/reprobe-metrics/tests/lea_oracles.rs`.

That implementation leaves singleton chains out (LEA as in e2e-coref, where no chain has one mention), so the
cases here have none on either side; the singleton rule (one self-link) is checked against CoVal's own unit
tests instead (`tests/fixtures/lea/coval_unittests.tsv`). No mention appears twice on one side.

Cases: a hand-made one (key {a b c} {d e f g}, response {a b} {c d} {f g h i}: recall (3·1/3 + 4·1/6)/7,
precision (2·1 + 2·0 + 4·1/6)/8) and 60 random documents: 2-7 key entities of 2-6 mentions (word spans of
width 1-3, nested ones included), and a response made by moving, dropping and adding mentions and merging and
splitting entities. Per document: recall (num, den) = lea(key, response mentions) and precision (num, den) =
lea(response, key mentions), as `corefeval.metric.Metric.update` computes them; the totals are their sums
(micro average, as the scorer's).

Writes crates/reprobe-metrics/tests/fixtures/lea/coreference_eval.json.
Run:  /work/venv/bin/python scripts/golden/lea_coreference_eval.py   (pip installs coreference-eval==0.0.2 if absent)
"""
import importlib
import json
import os
import random
import subprocess
import sys

try:
    importlib.import_module("corefeval")
except ImportError:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "coreference-eval==0.0.2"])

from corefeval.document import Document  # noqa: E402
from corefeval.metrics import lea  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates", "reprobe-metrics", "tests", "fixtures", "lea", "coreference_eval.json")


def counts(key, response):
    doc = Document(response, key)  # Document(predicted, truth)
    recall_num, recall_den = lea(doc.gold, doc.pred_mentions)
    precision_num, precision_den = lea(doc.pred, doc.gold_mentions)
    return [recall_num, recall_den, precision_num, precision_den]


def random_doc(rng):
    """Key and response clusters of word spans [start, end], no singletons, no repeated span per side."""
    used = set()

    def fresh_span():
        while True:
            start = rng.randrange(0, 200)
            span = (start, start + rng.choice([0, 0, 0, 1, 2]))
            if span not in used:
                used.add(span)
                return span

    key = [[fresh_span() for _ in range(rng.randint(2, 6))] for _ in range(rng.randint(2, 7))]
    response = [list(c) for c in key]
    for _ in range(rng.randint(1, 6)):
        op = rng.choice(["move", "drop", "add", "merge", "split", "new"])
        if op == "move" and len(response) > 1:
            a, b = rng.sample(range(len(response)), 2)
            response[b].append(response[a].pop(rng.randrange(len(response[a]))))
        elif op == "drop":
            c = rng.randrange(len(response))
            response[c].pop(rng.randrange(len(response[c])))
        elif op == "add":
            response[rng.randrange(len(response))].append(fresh_span())
        elif op == "merge" and len(response) > 1:
            a, b = sorted(rng.sample(range(len(response)), 2))
            response[a] += response.pop(b)
        elif op == "split":
            c = rng.randrange(len(response))
            if len(response[c]) >= 4:
                cut = rng.randrange(2, len(response[c]) - 1)
                response.append(response[c][cut:])
                response[c] = response[c][:cut]
        elif op == "new":
            response.append([fresh_span(), fresh_span()])
    response = [c for c in response if len(c) >= 2]
    rng.shuffle(response)
    return key, response


def main():
    letters = {ch: (i, i) for i, ch in enumerate("abcdefghi")}
    spans = lambda word: [letters[ch] for ch in word]  # noqa: E731
    docs = [("split_and_merge", [spans("abc"), spans("defg")], [spans("ab"), spans("cd"), spans("fghi")])]
    rng = random.Random(14)
    for i in range(60):
        key, response = random_doc(rng)
        docs.append((f"random_{i:02d}", key, response))
    cases = []
    totals = [0.0, 0.0, 0.0, 0.0]
    for name, key, response in docs:
        c = counts(key, response)
        totals = [t + x for t, x in zip(totals, c)]
        cases.append({
            "name": name,
            "key": [[list(m) for m in cl] for cl in key],
            "response": [[list(m) for m in cl] for cl in response],
            "lea": c,
        })
    hand = cases[0]["lea"]
    assert abs(hand[0] - (3 / 3 + 4 / 6)) < 1e-12 and hand[1] == 7, hand
    assert abs(hand[2] - (2 + 0 + 4 / 6)) < 1e-12 and hand[3] == 8, hand
    out = {
        "oracle": "coreference-eval 0.0.2 (PyPI, MIT), corefeval.metrics.lea; scripts/golden/lea_coreference_eval.py",
        "cases": cases,
        "totals": totals,
    }
    with open(OUT, "w") as fh:
        json.dump(out, fh, indent=None, separators=(",", ":"))
        fh.write("\n")
    print(f"{len(cases)} documents; totals recall {totals[0]:.6f}/{totals[1]:.0f}, precision {totals[2]:.6f}/{totals[3]:.0f}")


if __name__ == "__main__":
    main()
