#!/usr/bin/env python3
"""Golden scores of coref-hoi's simplified CoNLL scorer for `reprobe_metrics::coref_hoi`.

The oracle is the REAL `metrics.py` of coref-hoi (`../shared/reference/coref-hoi/`, Apache-2.0, imported
from there with sys.path, never copied): `CorefEvaluator.update(predicted, gold, mention_to_predicted,
mention_to_gold)` fed exactly as coref-hoi's `model.update_evaluator` feeds it:
  - gold clusters as tuples of (start, end) tuples, `mention_to_gold = {m: c for c in gold for m in c}`;
  - predicted clusters as tuples, `mention_to_predicted` = the cluster of `mention_to_cluster_id[m]`,
    i.e. the last predicted cluster holding m (coref-hoi's own decoding never puts a span in two).

`metrics.py` imports `linear_assignment` from `sklearn.utils.linear_assignment_`, a module scikit-learn
removed in 0.23. A stand-in module is registered before the import: `linear_assignment(X)` returns
scipy's `linear_sum_assignment(X)` as the (k, 2) array of (row, column) pairs sorted by row that the old
function returned (shape (0, 2) when X has no row or column). Both give an optimal assignment, so the
CEAFe similarity (their sum) is the same; scipy's is what the reference's `CorefHoiF1` port calls.

Cases (each a list of documents; counts are accumulated over the documents of a case):
  hand-made: gold singletons, predicted singletons, a predicted span in two clusters, a gold span in two
  clusters, two identical predicted clusters, a repeated mention inside a cluster, an empty prediction,
  an empty gold, both empty, predicted mentions outside the gold, a gold singleton aligned by CEAFe, a
  CEAFe case where greedy alignment is not optimal, and all of them as one corpus;
  random: 50 seeded documents (random.Random(14)), each alone and all together.
For every case: per document the counts (p_num, p_den, r_num, r_den) of MUC, B3, CEAFe, and for the
corpus the counts and (precision, recall, f1) of each metric (`Evaluator.get_prf`) and the averages
(`CorefEvaluator.get_prf`).

Writes crates/reprobe-metrics/tests/fixtures/coref_hoi/metrics.json.

Run:  /work/venv/bin/python scripts/golden/coref_hoi_metric.py   (from the repository root; needs numpy and
scipy). Versions used for the committed fixture: numpy 2.4.6, scipy 1.17.1, Python 3.11.
"""
import json
import os
import random
import sys
import types

import numpy as np
from scipy.optimize import linear_sum_assignment

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REFERENCE = os.path.join(ROOT, "..", "shared", "reference", "coref-hoi")
OUT = os.path.join(ROOT, "crates", "reprobe-metrics", "tests", "fixtures", "coref_hoi", "metrics.json")


def linear_assignment(X):
    rows, cols = linear_sum_assignment(X)
    return np.stack([np.asarray(rows, dtype=int), np.asarray(cols, dtype=int)], axis=1).reshape(-1, 2)


def install_linear_assignment_shim():
    name = "sklearn.utils.linear_assignment_"
    try:
        import sklearn.utils  # noqa: F401
    except ImportError:
        for parent in ("sklearn", "sklearn.utils"):
            module = types.ModuleType(parent)
            module.__path__ = []
            sys.modules.setdefault(parent, module)
    shim = types.ModuleType(name)
    shim.linear_assignment = linear_assignment
    sys.modules[name] = shim


install_linear_assignment_shim()
if not os.path.isfile(os.path.join(REFERENCE, "metrics.py")):
    sys.exit(f"{REFERENCE}/metrics.py not found: this needs ../shared/reference/coref-hoi")
sys.path.insert(0, REFERENCE)
import metrics  # noqa: E402  (coref-hoi's metrics.py)

assert os.path.samefile(os.path.dirname(metrics.__file__), REFERENCE), metrics.__file__


def as_tuples(clusters):
    return [tuple(tuple(m) for m in c) for c in clusters]


def update(evaluator, gold, predicted):
    """coref-hoi's `update_evaluator`, from clusters instead of antecedents."""
    predicted_clusters = as_tuples(predicted)
    mention_to_cluster_id = {}
    for idx, c in enumerate(predicted_clusters):
        for m in c:
            mention_to_cluster_id[m] = idx
    mention_to_predicted = {m: predicted_clusters[idx] for m, idx in mention_to_cluster_id.items()}
    gold_clusters = as_tuples(gold)
    mention_to_gold = {m: cluster for cluster in gold_clusters for m in cluster}
    evaluator.update(predicted_clusters, gold_clusters, mention_to_predicted, mention_to_gold)


NAMES = ("muc", "bcub", "ceafe")


def counts(evaluator):
    out = {}
    for name, e in zip(NAMES, evaluator.evaluators):
        p_num, p_den, r_num, r_den = e.get_counts()
        out[name] = {"p_num": float(p_num), "p_den": float(p_den), "r_num": float(r_num), "r_den": float(r_den)}
    return out


def run_case(name, documents):
    per_document = []
    total = metrics.CorefEvaluator()
    for doc in documents:
        alone = metrics.CorefEvaluator()
        update(alone, doc["gold"], doc["predicted"])
        per_document.append(counts(alone))
        update(total, doc["gold"], doc["predicted"])
    expected = counts(total)
    for name_, e in zip(NAMES, total.evaluators):
        p, r, f = e.get_prf()
        expected[name_].update({"precision": float(p), "recall": float(r), "f1": float(f)})
    p, r, f = total.get_prf()
    expected.update({"precision": float(p), "recall": float(r), "f1": float(f)})
    return {"name": name, "documents": documents, "per_document": per_document, "expected": expected}


def s(i):
    """A one-subtoken mention."""
    return [i, i]


def hand_cases():
    a, b, c, d, e, f, x, y = (s(i) for i in range(8))
    return [
        ("gold and predicted singletons", [{"gold": [[a, b], [c], [d, [4, 5]]], "predicted": [[a], [b, c], [d, [4, 5]], [f]]}]),
        ("predicted span in two clusters", [{"gold": [[a, b, c], [d, e]], "predicted": [[a, b], [b, c, d], [e, f]]}]),
        ("gold span in two clusters", [{"gold": [[a, b], [b, c, d]], "predicted": [[a, b, c, d]]}]),
        ("two identical predicted clusters", [{"gold": [[a, b], [c, d]], "predicted": [[a, b], [a, b], [c, d]]}]),
        ("repeated mention in a cluster", [{"gold": [[a, a, b], [c, d]], "predicted": [[a, b, b], [c, d, d, e]]}]),
        ("empty prediction", [{"gold": [[a, b], [c, d, e], [f]], "predicted": []}]),
        ("empty gold", [{"gold": [], "predicted": [[a, b], [c, d, e]]}]),
        ("both empty", [{"gold": [], "predicted": []}]),
        ("predicted mentions outside the gold", [{"gold": [[a, b, c]], "predicted": [[a, x, y], [b, c, [10, 12]]]}]),
        ("gold singleton aligned by CEAFe", [{"gold": [[a], [b, c]], "predicted": [[a, d], [b, c]]}]),
        ("gold singletons only", [{"gold": [[a], [b], [[3, 4]]], "predicted": [[a, b]]}]),
        ("greedy CEAFe alignment is not optimal", [{"gold": [[a, b, c], [d]], "predicted": [[a, b, d], [c, x]]}]),
        ("CEAFe sum is maximised", [{
            "gold": [[s(i) for i in range(7)], [s(7), s(8), s(9)]],
            "predicted": [[s(0), s(1), s(2), s(3), s(7), s(8)], [s(4), s(5), s(6), s(9)]],
        }]),
        ("nested and overlapping spans", [{"gold": [[[0, 3], [1, 1], [5, 9]], [[0, 1], [6, 9]]], "predicted": [[[0, 3], [0, 1], [5, 9]], [[1, 1], [6, 9], [6, 8]]]}]),
        ("precision only", [{"gold": [[a, b]], "predicted": [[c, d]]}]),
    ]


def random_documents(rng, count):
    docs = []
    for _ in range(count):
        n = rng.randint(4, 40)
        spans = set()
        while len(spans) < n:
            start = rng.randint(0, 60)
            spans.add((start, start + rng.randint(0, 3)))
        spans = sorted(spans)
        rng.shuffle(spans)
        gold, i = [], 0
        while i < len(spans):
            size = rng.choice([1, 1, 2, 2, 3, 4, 6])
            gold.append([list(m) for m in spans[i:i + size]])
            i += size
        rng.shuffle(gold)
        # Prediction: gold clusters perturbed (mentions dropped, moved, invented), a few merges and splits.
        predicted = []
        for cluster in gold:
            kept = [m for m in cluster if rng.random() > 0.2]
            if rng.random() < 0.3:
                start = rng.randint(0, 60)
                kept.append([start, start + rng.randint(0, 3)])
            if len(kept) >= 4 and rng.random() < 0.3:
                cut = rng.randint(1, len(kept) - 1)
                predicted.append(kept[:cut])
                predicted.append(kept[cut:])
            elif kept:
                predicted.append(kept)
        if len(predicted) >= 2 and rng.random() < 0.3:
            i, j = rng.sample(range(len(predicted)), 2)
            predicted[i] = predicted[i] + predicted[j]
            del predicted[j]
        # Now and then a span in two predicted clusters (not something coref-hoi's decoding does).
        if len(predicted) >= 2 and rng.random() < 0.1:
            i, j = rng.sample(range(len(predicted)), 2)
            predicted[j] = predicted[j] + [predicted[i][0]]
        # coref-hoi's predictions have no singleton; keep a few to exercise the rule.
        predicted = [c for c in predicted if len(c) >= 2 or rng.random() < 0.3]
        rng.shuffle(predicted)
        docs.append({"gold": gold, "predicted": predicted})
    return docs


def main():
    cases = []
    hand = hand_cases()
    for name, docs in hand:
        cases.append(run_case(name, docs))
    cases.append(run_case("every hand-made case as one corpus", [d for _, docs in hand for d in docs]))
    rng = random.Random(14)
    docs = random_documents(rng, 50)
    for i, doc in enumerate(docs):
        cases.append(run_case(f"random document {i}", [doc]))
    cases.append(run_case("50 random documents", docs))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as fh:
        json.dump({
            "source": "coref-hoi metrics.py (lxucs/coref-hoi 5ddfc3b), scripts/golden/coref_hoi_metric.py",
            "cases": cases,
        }, fh, indent=None, separators=(",", ":"))
        fh.write("\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
