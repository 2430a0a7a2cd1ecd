#!/usr/bin/env python3
"""Golden fixtures for reprobe's extractive QA windows and answer decoding (`reprobe_corpus::qa`).

1. Windows (crates/reprobe-corpus/tests/fixtures/qa/windows_minilm.json). The oracle is the Hugging Face fast
   tokenizer of models/all-MiniLM-L6-v2 called as transformers' question-answering example calls it:
   `tokenizer(question, context, truncation="only_second", max_length=L, stride=S,
   return_overflowing_tokens=True, return_offsets_mapping=True)`. Per window the fixture holds `input_ids`,
   `token_type_ids`, the character offsets of the context subtokens (`sequence_ids == 1`; null elsewhere) and
   the target: the window positions of the answer's first and last characters from the tokenizer's own
   `char_to_token(window, char, sequence_index=1)`, or (0, 0) (`[CLS]`) when either is not in the window.
   Questions are real SQuAD 2.0 questions (../shared/data/squad2): those of the three longest dev contexts
   and of train contexts with non-ASCII text, with (L, S) = (384, 128), and short questions with (64, 16)
   for many windows. Answers whose text starts or ends with white space are left out (char_to_token has no
   token for white space); unanswerable questions are kept (target [CLS] everywhere).

2. Decoding (crates/reprobe-corpus/tests/fixtures/qa/decode.json). The oracle is `compute_predictions_logits`
   of transformers' `squad_metrics.py` (the SQuAD 2.0 post-processing of the original BERT `run_squad.py`:
   top `n_best_size` start and end logits per window, spans inside the context with start <= end and at most
   `max_answer_length` subtokens, the null score = min over windows of start[0] + end[0], answer "" when
   null - best start logit - best end logit > `null_score_diff_threshold`), read from the transformers 4.57.1
   wheel as scripts/golden/squad_metric.py reads it (`--wheel`, or pip download). Its features are built
   here: one token per word of a synthetic context "w0 w1 …", `[CLS] q1 q2 q3 [SEP] <part> [SEP]`, parts of
   W words with stride S, every context position in `token_to_orig_map` and `token_is_max_context` (so that
   filter, which run_qa.py does not have, never applies). Its text step (`get_final_text`) needs BERT's
   `BasicTokenizer`, gone from transformers 5: a stub that splits on white space stands in, which is exact for
   these words. Logits are seeded float32 normals, some biased towards a span or towards [CLS]. The fixture
   holds per case the windows (offsets), logits, options, the predicted text and `null_odds` (score_diff).

    /work/venv/bin/python scripts/golden/squad_qa_features.py [--wheel transformers-4.57.1-py3-none-any.whl]
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from squad_metric import VERSION, load_official  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = "/work/shared/data/squad2"
FIXTURES = os.path.join(ROOT, "crates/reprobe-corpus/tests/fixtures/qa")
MODEL = os.path.join(ROOT, "models/all-MiniLM-L6-v2")


def squad(split):
    with open(os.path.join(DATA, f"{split}.json"), encoding="utf-8") as f:
        data = json.load(f)["data"]
    for article in data:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                yield paragraph["context"], qa


def windows_case(tokenizer, context, qa, max_len, stride):
    answer = qa["answers"][0] if qa["answers"] else None
    enc = tokenizer(qa["question"], context, truncation="only_second", max_length=max_len, stride=stride,
                    return_overflowing_tokens=True, return_offsets_mapping=True)
    windows = []
    for i in range(len(enc["input_ids"])):
        seq = enc.sequence_ids(i)
        offsets = [list(o) if s == 1 else None for o, s in zip(enc["offset_mapping"][i], seq)]
        target = [0, 0]
        if answer:
            start = answer["answer_start"]
            end = start + len(answer["text"])
            first = enc.char_to_token(i, start, sequence_index=1)
            last = enc.char_to_token(i, end - 1, sequence_index=1)
            if first is not None and last is not None:
                target = [first, last]
        windows.append({"input_ids": enc["input_ids"][i], "token_type_ids": enc["token_type_ids"][i],
                        "offsets": offsets, "target": target})
    return {
        "id": qa["id"], "question": qa["question"], "context": context,
        "answer": [answer["answer_start"], answer["answer_start"] + len(answer["text"])] if answer else None,
        "max_len": max_len, "stride": stride, "windows": windows,
    }


def make_windows(tokenizer):
    cases = []
    dev = list(squad("dev"))
    longest = sorted({c for c, _ in dev}, key=len, reverse=True)[:3]
    for context in longest:
        picked = [qa for c, qa in dev if c == context][:4]
        cases += [windows_case(tokenizer, context, qa, 384, 128) for qa in picked]
    seen_contexts = 0
    for context, qa in squad("train"):
        if seen_contexts >= 3:
            break
        if context.isascii() or len(context) < 1500:
            continue
        seen_contexts += 1
        cases.append(windows_case(tokenizer, context, qa, 384, 128))
    short = 0
    for context, qa in dev[40:]:
        if short >= 6:
            break
        if len(tokenizer(qa["question"])["input_ids"]) - 2 > 64 - 3 - 32:
            continue
        short += 1
        cases.append(windows_case(tokenizer, context, qa, 64, 16))
    cases = [c for c in cases if c["answer"] is None or
             c["context"][c["answer"][0]:c["answer"][1]].strip() == c["context"][c["answer"][0]:c["answer"][1]]]
    return cases


class WhitespaceBasicTokenizer:
    """Stands in for BERT's BasicTokenizer in `get_final_text` (exact for lower-case words without punctuation)."""

    def __init__(self, do_lower_case=True):
        self.do_lower_case = do_lower_case

    def tokenize(self, text):
        return text.split()


class JoinTokens:
    """The `tokenizer` argument of compute_predictions_logits: whole words, so joining them is the text."""

    @staticmethod
    def convert_tokens_to_string(tokens):
        return " ".join(tokens)


def decode_case(m, rng, name, n_words, part, stride, n_best, max_answer, threshold, bias):
    words = [f"w{i}" for i in range(n_words)]
    context = " ".join(words)
    char_start, pos = [], 0
    for w in words:
        char_start.append(pos)
        pos += len(w) + 1
    parts, s = [], 0
    while True:
        parts.append((s, min(s + part, n_words)))
        if s + part >= n_words:
            break
        s += part - stride
    Example = collections.namedtuple("Example", ["qas_id", "doc_tokens"])
    Feature = collections.namedtuple("Feature", ["example_index", "unique_id", "tokens", "token_to_orig_map",
                                                 "token_is_max_context"])
    Result = collections.namedtuple("Result", ["unique_id", "start_logits", "end_logits"])
    features, results, windows = [], [], []
    for k, (a, b) in enumerate(parts):
        tokens = ["[CLS]", "q1", "q2", "q3", "[SEP]"] + words[a:b] + ["[SEP]"]
        first = 5
        to_orig = {first + i: a + i for i in range(b - a)}
        start = rng.standard_normal(len(tokens)).astype(np.float32)
        end = rng.standard_normal(len(tokens)).astype(np.float32)
        if bias == "span" and k == len(parts) // 2:
            i = first + (b - a) // 3
            start[i] += 4.0
            end[min(i + 2, first + b - a - 1)] += 4.0
        elif bias == "null":
            start[0] += 3.0
            end[0] += 3.0
        elif bias == "question":
            start[1] += 6.0
            end[2] += 6.0
        elif bias == "no-span":
            start[1:3] += 50.0
            end[1:3] += 50.0
        features.append(Feature(0, k, tokens, to_orig, {p: True for p in to_orig}))
        results.append(Result(k, [float(x) for x in start], [float(x) for x in end]))
        offsets = [None] * first + [[char_start[a + i], char_start[a + i] + len(words[a + i])] for i in range(b - a)]
        windows.append({"offsets": offsets + [None], "start": [float(x) for x in start],
                        "end": [float(x) for x in end]})
    with tempfile.TemporaryDirectory() as tmp:
        odds_file = os.path.join(tmp, "null_odds.json")
        preds = m.compute_predictions_logits([Example(name, words)], features, results, n_best, max_answer, False,
                                             None, None, odds_file, False, True, threshold, JoinTokens())
        with open(odds_file) as f:
            odds = json.load(f)
    key = next(iter(preds))
    return {"name": name, "context": context, "n_best": n_best, "max_answer_len": max_answer,
            "threshold": threshold, "windows": windows, "text": preds[key], "null_odds": odds[key]}


def make_decode(m):
    rng = np.random.default_rng(2024)
    cases = []
    settings = [
        ("one-window", 12, 40, 10, 20, 30, 0.0, "none"),
        ("three-windows-span", 60, 30, 10, 20, 30, 0.0, "span"),
        ("three-windows-null", 60, 30, 10, 20, 30, 0.0, "null"),
        ("question-logits-high", 40, 25, 8, 20, 30, 0.0, "question"),
        ("n-best-3", 50, 20, 6, 3, 30, 0.0, "span"),
        ("max-answer-2", 50, 20, 6, 20, 2, 0.0, "span"),
        ("threshold-minus-2", 50, 20, 6, 20, 30, -2.0, "none"),
        ("threshold-plus-2", 50, 20, 6, 20, 30, 2.0, "null"),
        ("many-windows", 120, 16, 4, 20, 30, 0.0, "none"),
        ("no-valid-span", 20, 30, 10, 2, 30, 0.0, "no-span"),
    ]
    for name, n, part, stride, n_best, max_answer, threshold, bias in settings:
        for rep in range(4):
            cases.append(decode_case(m, rng, f"{name}-{rep}", n, part, stride, n_best, max_answer, threshold, bias))
    return cases


def write(name, value):
    os.makedirs(FIXTURES, exist_ok=True)
    path = os.path.join(FIXTURES, name)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    os.replace(path + ".tmp", path)
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", help=f"the transformers {VERSION} wheel (default: pip download it)")
    args = parser.parse_args()
    import tokenizers
    import transformers
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(MODEL)
    assert tokenizer.is_fast
    windows = make_windows(tokenizer)
    write("windows_minilm.json", {
        "tokenizer": "models/all-MiniLM-L6-v2",
        "versions": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__},
        "cases": windows,
    })
    print(f"{len(windows)} questions, {sum(len(c['windows']) for c in windows)} windows")

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel
        if not wheel:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                            f"transformers=={VERSION}", "-d", tmp], check=True)
            wheel = os.path.join(tmp, f"transformers-{VERSION}-py3-none-any.whl")
        m = load_official(wheel)
    m.BasicTokenizer = WhitespaceBasicTokenizer
    decode = make_decode(m)
    write("decode.json", {"oracle": f"transformers {VERSION} squad_metrics.compute_predictions_logits",
                          "cases": decode})
    print(f"{len(decode)} decoding cases; answers: {collections.Counter(c['text'] == '' for c in decode)}")


if __name__ == "__main__":
    main()
