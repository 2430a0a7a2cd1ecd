#!/usr/bin/env python3
"""Golden classification scores for `reprobe_metrics::classification`, from scikit-learn.

For every case (gold and predicted labels, all strings) scikit-learn gives:
  - accuracy: `accuracy_score`;
  - per label (every label in gold or prediction, sorted): `precision_recall_fscore_support(labels=…,
    average=None)`, and tp / fp / fn from `multilabel_confusion_matrix(labels=…)`;
  - positive class: `precision_score` / `recall_score` / `f1_score(pos_label=…)` with average='binary' when
    the case has at most two labels, else the per-label row of that class (what pos_label means there);
  - macro over a chosen label list (which may name a label never seen): `precision_recall_fscore_support(
    labels=…, average='macro')`;
  - micro over every label but a negative one: `precision_recall_fscore_support(labels=<all but it>,
    average='micro')` (TACRED's definition; precision 0 when nothing non-negative is predicted);
  - "tacred": the same pooled counts with the official TACRED scorer's conventions (precision 1 when
    nothing non-negative is predicted); scikit-learn has no such option, so this is the scorer's own
    arithmetic (`score` in `tacred/utils/scorer.py`, Zhang et al. 2017) written out below, not an oracle.
Zero divisions use scikit-learn's default `zero_division="warn"`, which returns 0 (warnings silenced).

Cases: binary (MRPC-like, "0"/"1"), a seeded random multiclass set (6 labels, 400 examples) with a
negative class, a set where a class of the macro list never occurs and another occurs only in the
predictions, all-negative predictions, and a SemEval-like macro over a subset of labels.

Writes crates/reprobe-metrics/tests/fixtures/classification/sklearn.json.

Run:  python3 scripts/golden/classification_sklearn.py   (from the repository root; needs scikit-learn
and numpy: missing ones are installed from PyPI with pip, so a virtual environment is the place to run it).
Versions used for the committed fixture: scikit-learn 1.9.1, numpy 2.4.6, Python 3.11.
"""
import importlib
import importlib.metadata
import json
import os
import random
import subprocess
import sys
import warnings


def ensure(module, package):
    try:
        return importlib.import_module(module)
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", package])
        return importlib.import_module(module)


ensure("numpy", "numpy")
ensure("sklearn", "scikit-learn")
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    f1_score,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates/reprobe-metrics/tests/fixtures/classification/sklearn.json")

warnings.filterwarnings("ignore")


def prf(p, r, f, tp, fp, fn):
    return {"precision": float(p), "recall": float(r), "f1": float(f), "tp": int(tp), "fp": int(fp), "fn": int(fn)}


def per_label(gold, pred, labels):
    p, r, f, _ = precision_recall_fscore_support(gold, pred, labels=labels, average=None)
    mcm = multilabel_confusion_matrix(gold, pred, labels=labels)
    return {label: prf(p[i], r[i], f[i], mcm[i][1][1], mcm[i][0][1], mcm[i][1][0]) for i, label in enumerate(labels)}


def positive(gold, pred, label, rows):
    row = rows[label]
    if len(set(gold) | set(pred)) <= 2:
        p = precision_score(gold, pred, pos_label=label)
        r = recall_score(gold, pred, pos_label=label)
        f = f1_score(gold, pred, pos_label=label)
        return prf(p, r, f, row["tp"], row["fp"], row["fn"])
    return row


def macro(gold, pred, labels):
    p, r, f, _ = precision_recall_fscore_support(gold, pred, labels=labels, average="macro")
    return {"labels": labels, "precision": float(p), "recall": float(r), "f1": float(f)}


def micro_excluding(gold, pred, negative, all_labels):
    labels = [label for label in all_labels if label != negative]
    p, r, f, _ = precision_recall_fscore_support(gold, pred, labels=labels, average="micro")
    tp = sum(g == q and g != negative for g, q in zip(gold, pred))
    guessed = sum(q != negative for q in pred)
    gold_n = sum(g != negative for g in gold)
    return prf(p, r, f, tp, guessed - tp, gold_n - tp)


def tacred(gold, pred, negative):
    """The official TACRED scorer's micro scores, written out (not an oracle: see the module doc)."""
    correct = sum(g == q and g != negative for g, q in zip(gold, pred))
    guessed = sum(q != negative for q in pred)
    gold_n = sum(g != negative for g in gold)
    prec = correct / guessed if guessed > 0 else 1.0
    rec = correct / gold_n if gold_n > 0 else 0.0
    f1 = 2.0 * prec * rec / (prec + rec) if prec + rec > 0.0 else 0.0
    return prf(prec, rec, f1, correct, guessed - correct, gold_n - correct)


def case(name, gold, pred, positive_label, negative, macro_labels):
    assert len(gold) == len(pred)
    labels = sorted(set(gold) | set(pred))
    rows = per_label(gold, pred, labels)
    return {
        "name": name,
        "gold": gold,
        "pred": pred,
        "accuracy": float(accuracy_score(gold, pred)),
        "per_label": rows,
        "positive": {"label": positive_label, **positive(gold, pred, positive_label, rows)},
        "macro": macro(gold, pred, macro_labels),
        "micro_excluding": {"negative": negative, **micro_excluding(gold, pred, negative, labels)},
        "tacred": {"negative": negative, **tacred(gold, pred, negative)},
    }


def cases():
    rng = random.Random(20250102)
    out = []

    gold = [rng.choice("01") for _ in range(120)]
    pred = [g if rng.random() < 0.8 else rng.choice("01") for g in gold]
    out.append(case("binary_mrpc_like", gold, pred, "1", "0", ["0", "1"]))

    names = ["no_relation", "per:title", "org:founded", "per:age", "org:members", "per:origin"]
    gold = [rng.choice(names[:1] * 4 + names[1:]) for _ in range(400)]
    pred = [g if rng.random() < 0.6 else rng.choice(names) for g in gold]
    out.append(case("multiclass_random", gold, pred, "per:title", "no_relation", names[1:]))

    gold = ["a", "b", "a", "c", "b", "a", "c", "c"]
    pred = ["a", "b", "b", "c", "d", "a", "a", "c"]
    out.append(case("empty_and_pred_only_class", gold, pred, "d", "a", ["a", "b", "c", "d", "e"]))

    gold = ["no_relation", "r1", "r2", "no_relation", "r1"]
    pred = ["no_relation"] * 5
    out.append(case("all_negative_predictions", gold, pred, "r1", "no_relation", ["r1", "r2"]))

    gold = ["Other", "Cause-Effect", "Other", "Other", "Component-Whole"]
    pred = ["Other", "Other", "Cause-Effect", "Other", "Other"]
    out.append(case("no_correct_positive", gold, pred, "Cause-Effect", "Other",
                    ["Cause-Effect", "Component-Whole"]))

    semeval = ["Other", "Cause-Effect", "Component-Whole", "Entity-Destination", "Message-Topic"]
    gold = [rng.choice(semeval) for _ in range(250)]
    pred = [g if rng.random() < 0.7 else rng.choice(semeval) for g in gold]
    out.append(case("semeval_like_macro_subset", gold, pred, "Cause-Effect", "Other", semeval[1:]))
    return out


def main():
    all_cases = cases()
    versions = {p: importlib.metadata.version(p) for p in ("scikit-learn", "numpy")}
    versions["python"] = sys.version.split()[0]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"generator": "scripts/golden/classification_sklearn.py", "versions": versions,
                   "cases": all_cases}, f, indent=1)
        f.write("\n")
    for c in all_cases:
        print(f"{c['name']:28} acc {c['accuracy']:.4f} macro F1 {c['macro']['f1']:.4f} "
              f"micro F1 {c['micro_excluding']['f1']:.4f} pos F1 {c['positive']['f1']:.4f}")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
