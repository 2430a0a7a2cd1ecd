#!/usr/bin/env python3
"""Golden values for `reprobe report --baseline` (crates/reprobe/src/report/significance.rs).

Oracles, each a library's or the reference's own code:
  - Welch's t-test: `scipy.stats.ttest_ind(other, base, equal_var=False)` (t, df, two-sided p) on hand-made
    and random per-seed values, and on the per-seed CoNLL F1 of the bootstrap cases below.
  - Per-document counts and F1: coref-hoi's own `metrics.py` (`../shared/reference/coref-hoi`, imported the
    way scripts/golden/coref_hoi_metric.py imports it): each document is scored alone by a
    `metrics.CorefEvaluator` (its MUC, B3, CEAFe p_num/p_den/r_num/r_den), each run's corpus F1 by one fed all
    documents, and a resample's F1 of summed counts by `metrics.f1`.
  - The paired bootstrap given the resampled indices: a committed index matrix (numpy's PCG64, seed 16,
    1000 resamples x 24 documents); per resample, each setting's per-document counts (summed over its seeds,
    seed order) are summed over the drawn documents in draw order, CoNLL F1 = (F1_MUC + F1_B3 + F1_CEAFe) / 3
    by `metrics.f1`, the difference other - base; the 95 % interval is `np.percentile(deltas, [2.5, 97.5])`.
    The Rust side, given the same indices, must give the same endpoints exactly.
  - With its own indices the Rust bootstrap (10,000 resamples) is compared, within Monte-Carlo error, with
    `scipy.stats.bootstrap` (percentile method, 10,000 resamples over the document indices, same statistic).

Predictions: gold clusters of coref-hoi-style random documents (`coref_hoi_metric.random_documents`,
random.Random(15)), perturbed per setting and seed (mentions dropped with the setting's rate, spurious mentions
added, clusters split and merged), random.Random(1000 * setting + seed).

Writes crates/reprobe/tests/fixtures/significance/{welch.json,bootstrap.json}.

Run:  /work/venv/bin/python scripts/golden/significance_scipy.py   (from the repository root; needs numpy and
scipy). Versions used for the committed fixtures: numpy 2.4.6, scipy 1.17.1, Python 3.11.
"""
import json
import os
import random
import sys

import numpy as np
import scipy
import scipy.stats

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "crates", "reprobe", "tests", "fixtures", "significance")
sys.path.insert(0, HERE)
import coref_hoi_metric as hoi  # noqa: E402  (imports coref-hoi's metrics.py)

metrics = hoi.metrics
NAMES = hoi.NAMES  # muc, bcub, ceafe
DOCUMENTS = 24
RESAMPLES = 1000


def welch(base, other):
    res = scipy.stats.ttest_ind(other, base, equal_var=False)
    return {"t": float(res.statistic), "df": float(res.df), "p": float(res.pvalue)}


def welch_cases():
    cases = [
        ("three seeds each, other better", [0.5632, 0.5701, 0.5588], [0.5750, 0.5699, 0.5812]),
        ("three seeds each, other worse", [0.6010, 0.6123, 0.6080], [0.5931, 0.6002, 0.5890]),
        ("3 vs 5 seeds", [0.412, 0.405, 0.420], [0.430, 0.425, 0.441, 0.418, 0.436]),
        ("2 vs 2 seeds", [0.70, 0.72], [0.73, 0.78]),
        ("overlapping, p near 1", [0.50, 0.60, 0.55], [0.52, 0.58, 0.551]),
        ("clear gap, tiny p", [0.5000, 0.5001, 0.4999, 0.5002], [0.6000, 0.6001, 0.5999, 0.6002]),
        ("baseline without variance", [0.5, 0.5, 0.5], [0.52, 0.55, 0.51]),
        ("unequal variances", [0.61, 0.61, 0.62, 0.60], [0.50, 0.70, 0.65, 0.55, 0.72, 0.48]),
    ]
    rng = np.random.default_rng(15)
    for i in range(10):
        n_base, n_other = rng.integers(2, 7, size=2)
        base = (0.55 + 0.02 * rng.standard_normal(n_base)).round(6).tolist()
        other = (0.56 + rng.uniform(0.005, 0.04) * rng.standard_normal(n_other)).round(6).tolist()
        cases.append((f"random {i}", base, other))
    return [{"name": n, "base": b, "other": o, "expected": welch(b, o)} for n, b, o in cases]


def perturb(gold, rng, drop):
    """A prediction: gold mentions dropped with rate `drop`, spurious ones added, clusters split and merged."""
    predicted = []
    for cluster in gold:
        kept = [list(m) for m in cluster if rng.random() > drop]
        if rng.random() < drop:
            start = rng.randint(0, 60)
            kept.append([start, start + rng.randint(0, 3)])
        if len(kept) >= 4 and rng.random() < drop:
            cut = rng.randint(1, len(kept) - 1)
            predicted += [kept[:cut], kept[cut:]]
        elif len(kept) >= 2:
            predicted.append(kept)
    if len(predicted) >= 2 and rng.random() < drop:
        i, j = rng.sample(range(len(predicted)), 2)
        predicted[i] = predicted[i] + predicted[j]
        del predicted[j]
    # One span per predicted cluster at most (as coref-hoi's decoding): drop repeats, keep the first.
    seen, out = set(), []
    for cluster in predicted:
        c = [m for m in cluster if tuple(m) not in seen]
        seen.update(tuple(m) for m in c)
        if len(c) >= 2:
            out.append(c)
    return out


def document_counts(gold, predicted):
    e = metrics.CorefEvaluator()
    hoi.update(e, gold, predicted)
    return hoi.counts(e)


def run_f1(golds, predictions):
    e = metrics.CorefEvaluator()
    for g, p in zip(golds, predictions):
        hoi.update(e, g, p)
    return float(e.get_f1())


def add(total, doc):
    return {n: {k: total[n][k] + doc[n][k] for k in ("p_num", "p_den", "r_num", "r_den")} for n in NAMES}


ZERO = {n: {"p_num": 0.0, "p_den": 0.0, "r_num": 0.0, "r_den": 0.0} for n in NAMES}


def conll_f1(c):
    f = [metrics.f1(c[n]["p_num"], c[n]["p_den"], c[n]["r_num"], c[n]["r_den"]) for n in NAMES]
    return (f[0] + f[1] + f[2]) / 3


def pooled(runs):
    """Per document, the counts of the runs summed in run order (from zero, as the Rust side)."""
    out = []
    for d in range(DOCUMENTS):
        total = ZERO
        for run in runs:
            total = add(total, run[d])
        out.append(total)
    return out


def sum_at(docs, indices):
    total = ZERO
    for i in indices:
        total = add(total, docs[int(i)])
    return total


def setting(golds, index, seeds, drop):
    runs, f1s = [], []
    for seed in seeds:
        rng = random.Random(1000 * index + seed)
        predictions = [perturb(g, rng, drop) for g in golds]
        runs.append([document_counts(g, p) for g, p in zip(golds, predictions)])
        f1s.append(run_f1(golds, predictions))
    return {"seeds": list(seeds), "drop": drop, "val_f1": f1s, "documents": runs}


def bootstrap_case(name, settings, base, other, indices):
    pb, po = pooled(settings[base]["documents"]), pooled(settings[other]["documents"])
    deltas = np.array([conll_f1(sum_at(po, row)) - conll_f1(sum_at(pb, row)) for row in indices])
    low, high = np.percentile(deltas, [2.5, 97.5])
    everything = range(DOCUMENTS)
    pooled_delta = conll_f1(sum_at(po, everything)) - conll_f1(sum_at(pb, everything))
    sp = scipy.stats.bootstrap(
        (np.arange(DOCUMENTS),),
        lambda idx: conll_f1(sum_at(po, idx)) - conll_f1(sum_at(pb, idx)),
        vectorized=False,
        n_resamples=10000,
        method="percentile",
        confidence_level=0.95,
        rng=np.random.default_rng(17),
    )
    return {
        "name": name,
        "base": base,
        "other": other,
        "expected": {
            "ci_low": float(low),
            "ci_high": float(high),
            "pooled_delta": float(pooled_delta),
            "welch": welch(settings[base]["val_f1"], settings[other]["val_f1"]),
            "scipy_bootstrap_ci": [float(sp.confidence_interval.low), float(sp.confidence_interval.high)],
        },
    }


def bootstrap_cases():
    golds = [d["gold"] for d in hoi.random_documents(random.Random(15), DOCUMENTS)]
    indices = np.random.default_rng(16).integers(0, DOCUMENTS, size=(RESAMPLES, DOCUMENTS))
    settings = {
        "drop 0.30": setting(golds, 1, [1, 2, 3], 0.30),
        "drop 0.20": setting(golds, 2, [1, 2, 3], 0.20),
        "drop 0.08": setting(golds, 3, [1, 2], 0.08),
    }
    cases = [
        bootstrap_case("3 seeds each, drop 0.30 vs 0.20", settings, "drop 0.30", "drop 0.20", indices),
        bootstrap_case("3 vs 2 seeds, drop 0.30 vs 0.08", settings, "drop 0.30", "drop 0.08", indices),
        bootstrap_case("a setting against itself", settings, "drop 0.30", "drop 0.30", indices),
    ]
    return {"documents": DOCUMENTS, "settings": settings, "indices": indices.tolist(), "cases": cases}


def write(name, value):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    with open(path, "w") as fh:
        json.dump(value, fh, separators=(",", ":"))
        fh.write("\n")
    print(f"wrote {path}")


def main():
    source = f"scripts/golden/significance_scipy.py (numpy {np.__version__}, scipy {scipy.__version__})"
    write("welch.json", {"source": source, "cases": welch_cases()})
    write("bootstrap.json", {"source": source, **bootstrap_cases()})


if __name__ == "__main__":
    main()
