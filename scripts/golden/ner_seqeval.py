#!/usr/bin/env python3
"""Golden NER scores for `reprobe_metrics::ner`, from the real `seqeval` and scikit-learn.

Entity level: seqeval (default mode, not strict; IOB2 input) is the oracle. For every case it gives
  - micro precision / recall / F1: `precision_score`, `recall_score`, `f1_score` (average='micro');
  - per type precision / recall / F1 and support: `classification_report(..., output_dict=True)`;
  - tp / fp / fn per type: from `seqeval.metrics.sequence_labeling.get_entities`, the function seqeval's
    own counting uses, on the sentences joined with an `O` between them exactly as seqeval joins them
    (checked against the report: support = tp + fn, and P = tp / (tp + fp) to the last bit).
Zero divisions use seqeval's default `zero_division="warn"`, which returns 0 (warnings are silenced).

Token level (the reference's NER `val/f1`, SPEC §1.5/§5): torchmetrics
`F1Score(task="multiclass", average="micro", ignore_index=<O>)`. torchmetrics needs torch, which is not
installed here, so scikit-learn stands in: torchmetrics' micro update (`_multiclass_stat_scores_update`,
average == "micro") keeps the tokens whose target is not `ignore_index`, then counts tp = matches and
fp = fn = mismatches, so F1 = 2tp / (2tp + fp + fn) = accuracy on the kept tokens. scikit-learn's
`f1_score(average="micro")` on the same kept tokens, over all labels (the predicted `O` included, as
torchmetrics counts a predicted 0 as a false positive of class 0), is that same number; the script asserts
it equals `accuracy_score`. (`f1_score(labels=<non-O>)` would NOT be the same: it stops counting a
predicted `O` as a false positive.) No kept token: 0.0, torchmetrics' `zero_division=0` (sklearn raises).

Cases: hand-made awkward ones (an `I-` after `O`, a type switch inside a run, an entity at the end of a
sentence, empty sentences, `I-` at sentence start, `B-X B-X`, a sentence of only `O`, predictions with no
entity, the same span in two sentences, nothing anywhere), a seeded random corpus (300 sentences, 4 types,
ill-formed sequences included), and WNUT-17 dev gold (`../shared/data/wnut17/dev.conll`, token TAB tag)
against a deterministic perturbation of itself (below). The fixture holds the tag sequences, so the Rust
test needs nothing outside the crate.

WNUT-17 perturbation, over gold entities numbered k = 1, 2, ... in corpus order:
  k % 7 == 0   the entity's type becomes the next type in sorted order (cyclic);
  else k % 11 == 0   its `B-` becomes `O` (a longer entity then starts one token later, as an `I-`);
  else k % 17 == 0   it grows by one token when the next token is `O`;
and in every sentence whose index i % 13 == 0, the first `O` token becomes `B-<types[i % n_types]>`
(a spurious entity, or an `I-` continuation of it when the next token is an `I-` of that type).

Writes crates/reprobe-metrics/tests/fixtures/ner/seqeval.json: {"versions", "cases": [{"name", "gold",
"pred", "micro", "per_type", "token"}]}; a sentence is its tags joined by one space ("" for an empty one);
score objects are {"precision", "recall", "f1", "tp", "fp", "fn"}; "token" is {"ignore", "correct",
"counted", "f1"}.

Run:  python3 scripts/golden/ner_seqeval.py   (from the repository root; needs seqeval, scikit-learn and
numpy: missing ones are installed from PyPI with pip, so a virtual environment is the place to run it).
Versions used for the committed fixture: seqeval 1.2.2, scikit-learn 1.9.1, numpy 2.4.6, Python 3.11.
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
ensure("seqeval", "seqeval")
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score  # noqa: E402
from seqeval.metrics.sequence_labeling import get_entities  # noqa: E402
from sklearn.metrics import accuracy_score  # noqa: E402
from sklearn.metrics import f1_score as sk_f1_score  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates/reprobe-metrics/tests/fixtures/ner/seqeval.json")
WNUT = os.path.join(ROOT, "..", "shared", "data", "wnut17", "dev.conll")

warnings.filterwarnings("ignore")


def entity_sets(sentences):
    """{type: {(start, end)}} over the sentences joined seqeval's way (an `O` between sentences)."""
    sets = {}
    for kind, start, end in get_entities([list(s) for s in sentences]):
        sets.setdefault(kind, set()).add((start, end))
    return sets


def counts(gold, pred):
    """tp/fp/fn per type from seqeval's get_entities."""
    g, p = entity_sets(gold), entity_sets(pred)
    out = {}
    for kind in sorted(set(g) | set(p)):
        gk, pk = g.get(kind, set()), p.get(kind, set())
        out[kind] = {"tp": len(gk & pk), "fp": len(pk - gk), "fn": len(gk - pk)}
    return out


def scores(precision, recall, f1, c):
    return {"precision": float(precision), "recall": float(recall), "f1": float(f1), **c}


def entity_scores(gold, pred):
    per_counts = counts(gold, pred)
    report = classification_report(gold, pred, output_dict=True) if per_counts else {}
    per_type = {}
    for kind, c in per_counts.items():
        row = report[kind]
        assert row["support"] == c["tp"] + c["fn"], (kind, row, c)
        per_type[kind] = scores(row["precision"], row["recall"], row["f1-score"], c)
        pred_n = c["tp"] + c["fp"]
        assert row["precision"] == (c["tp"] / pred_n if pred_n else 0.0), (kind, row, c)
    micro_c = {k: sum(c[k] for c in per_counts.values()) for k in ("tp", "fp", "fn")}
    micro = scores(precision_score(gold, pred), recall_score(gold, pred), f1_score(gold, pred), micro_c)
    if report:
        r = report["micro avg"]
        assert (r["precision"], r["recall"], r["f1-score"]) == (
            micro["precision"], micro["recall"], micro["f1"]), (r, micro)
    return micro, per_type


def token_score(gold, pred, ignore="O"):
    g = [t for sg, sp in zip(gold, pred) for t, _ in zip(sg, sp) if t != ignore]
    p = [u for sg, sp in zip(gold, pred) for t, u in zip(sg, sp) if t != ignore]
    correct = sum(a == b for a, b in zip(g, p))
    if not g:
        f1 = 0.0  # torchmetrics' zero_division=0
    else:
        f1 = float(sk_f1_score(g, p, average="micro"))
        assert f1 == float(accuracy_score(g, p)), (f1, accuracy_score(g, p))
    return {"ignore": ignore, "correct": correct, "counted": len(g), "f1": f1}


def case(name, gold, pred):
    gold = [s.split() if isinstance(s, str) else list(s) for s in gold]
    pred = [s.split() if isinstance(s, str) else list(s) for s in pred]
    assert len(gold) == len(pred) and all(len(a) == len(b) for a, b in zip(gold, pred)), name
    micro, per_type = entity_scores(gold, pred)
    return {
        "name": name,
        "gold": [" ".join(s) for s in gold],
        "pred": [" ".join(s) for s in pred],
        "micro": micro,
        "per_type": per_type,
        "token": token_score(gold, pred),
    }


def hand_cases():
    return [
        case("i_after_o", ["O I-PER I-PER O", "B-LOC O I-LOC"], ["O B-PER I-PER O", "B-LOC O I-LOC"]),
        case("type_switch_in_run", ["B-PER I-PER I-PER O"], ["B-PER I-LOC I-LOC O"]),
        case("type_switch_gold_side", ["B-PER I-LOC O B-ORG I-ORG"], ["B-PER B-LOC O B-ORG I-MISC"]),
        case("entity_at_sentence_end", ["O O B-LOC I-LOC", "B-PER"], ["O O B-LOC I-LOC", "O"]),
        case("empty_sentences", ["", "B-PER O", "", ""], ["", "B-PER O", "", ""]),
        case("i_at_sentence_start", ["I-ORG I-ORG O", "I-PER"], ["B-ORG I-ORG O", "I-PER"]),
        case("consecutive_b", ["B-X B-X O B-X I-X"], ["B-X I-X O B-X B-X"]),
        case("all_o_sentence", ["O O O", "B-PER O"], ["O B-PER O", "B-PER O"]),
        case("no_predicted_entity", ["B-PER I-PER O B-LOC", "B-ORG"], ["O O O O", "O"]),
        case("no_gold_entity", ["O O O", "O"], ["B-PER O O", "I-LOC"]),
        case("nothing_anywhere", ["O O", "", "O"], ["O O", "", "O"]),
        case("same_span_other_sentence", ["B-PER O", "O O"], ["O O", "B-PER O"]),
        case("perfect", ["B-PER I-PER O B-LOC", "B-ORG I-ORG I-ORG"], ["B-PER I-PER O B-LOC", "B-ORG I-ORG I-ORG"]),
        case("iobes_read_by_default_mode", ["S-PER B-LOC E-LOC O", "B-ORG I-ORG E-ORG S-ORG"],
             ["S-PER B-LOC I-LOC E-LOC", "B-ORG E-ORG E-ORG S-ORG"]),
        case("bare_prefixes", ["B I O B", "B- I-X"], ["B O O I", "B I-X"]),
    ]


def random_tag(rng, types):
    return rng.choice(["B-", "I-"]) + rng.choice(types)


def random_gold(rng, types, length):
    tags, prev = [], "O"
    for _ in range(length):
        r = rng.random()
        if prev != "O" and r < 0.45:
            tag = "I-" + prev[2:]
        elif r < 0.75:
            tag = "O"
        else:
            tag = random_tag(rng, types)
        tags.append(tag)
        prev = tag
    return tags


def random_pred(rng, types, gold):
    if rng.random() < 0.05:
        return ["O"] * len(gold)
    return [("O" if rng.random() < 0.4 else random_tag(rng, types)) if rng.random() < 0.15 else t for t in gold]


def random_case():
    rng = random.Random(20250101)
    types = ["PER", "LOC", "ORG", "MISC"]
    gold, pred = [], []
    for _ in range(300):
        g = random_gold(rng, types, rng.randint(0, 25))
        gold.append(g)
        pred.append(random_pred(rng, types, g))
    return case("random_300", gold, pred)


def read_conll(path):
    sentences, current = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if current:
                    sentences.append(current)
                current = []
                continue
            current.append(line.split("\t")[-1])
    if current:
        sentences.append(current)
    return sentences


def perturb(gold):
    types = sorted({t[2:] for s in gold for t in s if t != "O"})
    pred = [list(s) for s in gold]
    k = 0
    for i, sentence in enumerate(gold):
        for kind, start, end in get_entities(sentence):
            k += 1
            if k % 7 == 0:
                new = types[(types.index(kind) + 1) % len(types)]
                for j in range(start, end + 1):
                    pred[i][j] = pred[i][j][:2] + new
            elif k % 11 == 0:
                pred[i][start] = "O"
            elif k % 17 == 0 and end + 1 < len(sentence) and sentence[end + 1] == "O":
                pred[i][end + 1] = "I-" + kind
        if i % 13 == 0 and "O" in pred[i]:
            pred[i][pred[i].index("O")] = "B-" + types[i % len(types)]
    return pred


def wnut_case():
    if not os.path.exists(WNUT):
        sys.exit(f"{WNUT} not found: the WNUT-17 case needs ../shared/data/wnut17/dev.conll")
    gold = read_conll(WNUT)
    return case("wnut17_dev_perturbed", gold, perturb(gold))


def main():
    cases = hand_cases() + [random_case(), wnut_case()]
    versions = {p: importlib.metadata.version(p) for p in ("seqeval", "scikit-learn", "numpy")}
    versions["python"] = sys.version.split()[0]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"generator": "scripts/golden/ner_seqeval.py", "versions": versions, "cases": cases}, f,
                  indent=1)
        f.write("\n")
    for c in cases:
        m = c["micro"]
        print(f"{c['name']:32} P {m['precision']:.4f} R {m['recall']:.4f} F1 {m['f1']:.4f} "
              f"tp {m['tp']} fp {m['fp']} fn {m['fn']}  token F1 {c['token']['f1']:.4f}")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
