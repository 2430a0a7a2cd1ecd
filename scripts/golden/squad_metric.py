#!/usr/bin/env python3
"""Golden SQuAD 2.0 scores for `reprobe_metrics::squad`, from the official evaluation logic as transformers ships it.

The oracle is `transformers/data/metrics/squad_metrics.py` (a copy of the official `evaluate-v2.0.py`:
`normalize_answer`, `compute_exact`, `compute_f1`, `get_raw_scores`, `apply_no_ans_threshold`,
`make_eval_dict`, `squad_evaluate`). transformers 5 dropped that module, so the script reads it from the
transformers 4.57.1 wheel (PyPI, sha256 b10d05da8fa67dc41644dbbf9bc45a44cb86ae33da6f9295f5fbf5b7890bd267):
`--wheel PATH`, or it runs `pip download --no-deps transformers==4.57.1` into a temporary folder. The module's
two package-relative imports (`BasicTokenizer`, `logging`, used only by the answer post-processing that is not
called here) are replaced by stubs; nothing else of its text is changed, and the script checks the two lines
before replacing them.

Cases:
- `pairs`: hand-made (gold, prediction) pairs with the awkward cases: ASCII and non-ASCII punctuation, articles
  (inside words, alone, all of the answer, capitalised), Unicode lower case (accents, final sigma, dotted
  capital I, sharp s), combining marks, Python white space (tabs, newlines, no-break space, ideographic space,
  the U+001C–U+001F separators), repeated tokens, empty strings. Each with `normalize_answer` of both,
  `compute_exact`, `compute_f1`.
- `sets`: `squad_evaluate` over question sets (`qas_id`, gold `answers`; an unanswerable question has none)
  with predictions: the hand-made questions (multiple golds with duplicates, golds that normalise to nothing,
  unanswerable questions answered and not); only answerable ones; only unanswerable ones; the same with
  no-answer probabilities and `no_answer_probability_threshold` 0.5 (`apply_no_ans_threshold`); and the first
  1,000 questions of ../shared/data/squad2/dev.json (the real gold answers) against a deterministic
  perturbation (question k: k%6 = 0 "", 1 its first gold, 2 the first gold without its first word, 3 "The " +
  the first gold + ".", 4 the first 25 characters of the context, 5 its first plausible answer or the
  first gold upper-cased). Each set holds the official dictionary (the 9 keys) and the raw per-question exact
  and F1 scores.

Writes crates/reprobe-metrics/tests/fixtures/squad/official.json.

    /work/venv/bin/python scripts/golden/squad_metric.py [--wheel transformers-4.57.1-py3-none-any.whl]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import types
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "crates/reprobe-metrics/tests/fixtures/squad/official.json")
DEV = "/work/shared/data/squad2/dev.json"
VERSION = "4.57.1"
MODULE = "transformers/data/metrics/squad_metrics.py"
OFFICIAL_KEYS = ["exact", "f1", "total", "HasAns_exact", "HasAns_f1", "HasAns_total", "NoAns_exact", "NoAns_f1",
                 "NoAns_total"]


def load_official(wheel):
    with zipfile.ZipFile(wheel) as z:
        source = z.read(MODULE).decode("utf-8")
    stubs = {
        "from ...models.bert import BasicTokenizer\n": "BasicTokenizer = None  # stub: unused by the scores\n",
        "from ...utils import logging\n": "import logging  # stub: the standard library's getLogger suffices\n"
                                          "logging.get_logger = logging.getLogger\n",
    }
    for line, stub in stubs.items():
        if source.count(line) != 1:
            sys.exit(f"{wheel}: {MODULE} does not hold the line {line!r} once; the stubs need updating")
        source = source.replace(line, stub)
    module = types.ModuleType("squad_metrics")
    exec(compile(source, f"{wheel}/{MODULE}", "exec"), module.__dict__)
    return module


class Example:
    """What `squad_evaluate` reads of a `SquadExample`: `qas_id` and `answers` (dicts with `text`)."""

    def __init__(self, qas_id, answers):
        self.qas_id = qas_id
        self.answers = [{"text": a} for a in answers]


PAIRS = [
    ("Normans.", "normans"),
    ("the Eiffel Tower", "Eiffel Tower"),
    ("The", ""),
    ("a an the", "A"),
    ("theatre", "atre"),
    ("An apple a day", "apple day"),
    ("Frédéric Chopin", "FRÉDÉRIC chopin"),
    ("ΟΔΟΣ", "οδος"),
    ("İstanbul", "i̇stanbul"),
    ("STRASSE", "straße"),
    ("\u201cBeyoncé\u201d", "Beyoncé"),
    ("1990\u20132000", "1990 2000"),
    ("the\u2013a", "\u2013"),
    ("a\u0301 house", "house"),
    ("e\u0301te\u0301", "été"),
    ("1,000", "1000"),
    ("U.S.", "us"),
    ("rock 'n' roll", "rock n roll"),
    ("  in\tthe  late\n1990s ", "late 1990s"),
    ("x\u001fy", "x y"),
    ("new\u00a0york\u3000city", "new york city"),
    ("new york new york", "new york"),
    ("x x y", "x y y"),
    ("the_a", "thea"),
    ("", ""),
    ("", "something"),
    ("something", ""),
    ("$5.00 (approx.)", "5 00 approx"),
    ("Ming dynasty", "the Ming"),
    ("東京", "東京"),
]

HAND_QUESTIONS = [
    ("q-multi", ["France", "France", "in France", "the country of France"], "country of france"),
    ("q-partial", ["in the late 1990s", "late 1990s"], "the 1990s"),
    ("q-article-gold", ["The", "the"], ""),
    ("q-article-gold-answered", ["an"], "something"),
    ("q-unans-empty", [], ""),
    ("q-unans-answered", [], "Paris"),
    ("q-unicode", ["Frédéric Chopin"], "frederic chopin"),
    ("q-punct", ["\u201cHalo\u201d", "Halo"], "\u2018Halo\u2019"),
    ("q-empty-pred", ["Warsaw"], ""),
    ("q-repeat", ["new york new york"], "new york york york"),
    ("q-unans-empty-2", [], ""),
    ("q-zero", ["Vienna"], "Prague"),
]

NA_PROBS = {
    "q-multi": 0.1,
    "q-partial": 0.7,
    "q-article-gold": 0.9,
    "q-article-gold-answered": 0.5,
    "q-unans-empty": 0.2,
    "q-unans-answered": 0.95,
    "q-unicode": 0.0,
    "q-punct": 0.51,
    "q-empty-pred": 0.6,
    "q-repeat": 0.3,
    "q-unans-empty-2": 0.4,
    "q-zero": 0.8,
}


def dev_questions(limit=1000):
    with open(DEV, encoding="utf-8") as f:
        data = json.load(f)["data"]
    out = []
    for article in data:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                k = len(out)
                golds = [a["text"] for a in qa["answers"]]
                first = golds[0] if golds else ""
                plausible = [a["text"] for a in qa.get("plausible_answers", [])]
                kind = k % 6
                if kind == 0:
                    pred = ""
                elif kind == 1:
                    pred = first
                elif kind == 2:
                    pred = " ".join(first.split()[1:])
                elif kind == 3:
                    pred = f"The {first}." if first else "The."
                elif kind == 4:
                    pred = paragraph["context"][:25]
                else:
                    pred = plausible[0] if plausible else first.upper()
                out.append((qa["id"], golds, pred))
                if len(out) == limit:
                    return out
    return out


def evaluate_set(m, name, questions, na_probs=None, threshold=1.0):
    examples = [Example(qid, golds) for qid, golds, _ in questions]
    preds = {qid: pred for qid, _, pred in questions}
    evaluation = m.squad_evaluate(examples, preds, no_answer_probs=na_probs, no_answer_probability_threshold=threshold)
    exact, f1 = m.get_raw_scores(examples, preds)
    if na_probs is not None:
        has_ans = {e.qas_id: bool(e.answers) for e in examples}
        exact = m.apply_no_ans_threshold(exact, na_probs, has_ans, threshold)
        f1 = m.apply_no_ans_threshold(f1, na_probs, has_ans, threshold)
    return {
        "name": name,
        "questions": [
            {"id": qid, "answers": golds, "prediction": pred,
             **({"na_prob": na_probs[qid]} if na_probs is not None else {})}
            for qid, golds, pred in questions
        ],
        "threshold": threshold if na_probs is not None else None,
        "expected": {k: evaluation[k] for k in OFFICIAL_KEYS if k in evaluation},
        "exact_raw": {k: float(v) for k, v in exact.items()},
        "f1_raw": {k: float(v) for k, v in f1.items()},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", help=f"the transformers {VERSION} wheel (default: pip download it)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel
        if not wheel:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                            f"transformers=={VERSION}", "-d", tmp], check=True)
            wheel = os.path.join(tmp, f"transformers-{VERSION}-py3-none-any.whl")
        m = load_official(wheel)

    pairs = [
        {"gold": g, "prediction": p, "normalized_gold": m.normalize_answer(g),
         "normalized_prediction": m.normalize_answer(p), "exact": m.compute_exact(g, p),
         "f1": float(m.compute_f1(g, p))}
        for g, p in PAIRS
    ]
    hand = HAND_QUESTIONS
    sets = [
        evaluate_set(m, "hand", hand),
        evaluate_set(m, "hand-answerable", [q for q in hand if q[1]]),
        evaluate_set(m, "hand-unanswerable", [q for q in hand if not q[1]]),
        evaluate_set(m, "hand-na-threshold-0.5", hand, na_probs=NA_PROBS, threshold=0.5),
        evaluate_set(m, "dev-1000-perturbed", dev_questions()),
    ]
    out = {
        "oracle": f"transformers {VERSION} {MODULE}",
        "python": sys.version.split()[0],
        "pairs": pairs,
        "sets": sets,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT + ".tmp", "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    os.replace(OUT + ".tmp", OUT)
    for s in sets:
        print(s["name"], s["expected"])
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
