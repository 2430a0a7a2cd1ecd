#!/usr/bin/env python3
"""Writes the hand-made fixtures of `reprobe view` (crates/reprobe/tests/fixtures/view/).

Coreference (key.conll, pred.conll), document view_fixture_a, clusters as inclusive word spans:
  key   John {0-1, 3, 11, 18, 24}, Mary {3-5, 9, 22}, Oslo {7, 13-14, 20}, dog {24-25, 27}
  pred  {0-1, 3, 11}, {3-5, 9, 22, 24-25, 27}, {7, 16, 20}, {18, 24}
so, by hand: 13-14 missed, 16 spurious, 24-25 a wrong link (only Mary before it), John split in two,
Mary and dog merged; nested mentions 3 in 3-5 and 24 in 24-25. Document view_fixture_b is predicted
exactly. NER (ner_key.bio, ner_pred.bio): one sentence with each kind of error, one without.
"""
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "crates/reprobe/tests/fixtures/view"

DOCS = {
    "view_fixture_a": (
        ["John Carter met his sister Mary in Oslo .", "She told him that the city was cold .",
         "He left Oslo with her and his dog .", "It barked ."],
        [[(0, 1), (3, 3), (11, 11), (18, 18), (24, 24)], [(3, 5), (9, 9), (22, 22)],
         [(7, 7), (13, 14), (20, 20)], [(24, 25), (27, 27)]],
        [[(0, 1), (3, 3), (11, 11)], [(3, 5), (9, 9), (22, 22), (24, 25), (27, 27)],
         [(7, 7), (16, 16), (20, 20)], [(18, 18), (24, 24)]],
    ),
    "view_fixture_b": (
        ["The cat saw the dog .", "It ran ."],
        [[(0, 1), (6, 6)]],
        [[(0, 1), (6, 6)]],
    ),
}


def brackets(n_words, clusters):
    """The last CoNLL column of every word: `(N`, `N)`, `(N)` joined by `|`, or `-`."""
    opens = [[] for _ in range(n_words)]
    closes = [[] for _ in range(n_words)]
    singles = [[] for _ in range(n_words)]
    for cid, cluster in enumerate(clusters):
        for s, e in cluster:
            if s == e:
                singles[s].append(f"({cid})")
            else:
                opens[s].append(f"({cid}")
                closes[e].append(f"{cid})")
    return ["|".join(o + x + c) or "-" for o, x, c in zip(opens, singles, closes)]


def conll(side):
    lines = []
    for name, (sentences, key, pred) in DOCS.items():
        clusters = key if side == "key" else pred
        words = [w for s in sentences for w in s.split()]
        cells = brackets(len(words), clusters)
        lines.append(f"#begin document ({name}); part 000")
        i = 0
        for sentence in sentences:
            for j, word in enumerate(sentence.split()):
                lines.append(f"{name}\t0\t{j}\t{word}\t-\t-\t-\t-\t-\t-\t*\t{cells[i]}")
                i += 1
            lines.append("")
        lines.append("#end document")
    return "\n".join(lines) + "\n"


NER_WORDS = [["Alice", "visited", "Paris", "and", "Berlin", "with", "Bob", "Smith", "."],
             ["Google", "hired", "Carol", "."]]
NER_KEY = [["B-PER", "O", "B-LOC", "O", "B-LOC", "O", "B-PER", "I-PER", "O"],
           ["B-ORG", "O", "B-PER", "O"]]
# PER right, Paris as ORG (wrong type), Berlin missed, "with" spurious, Bob without Smith (boundary).
NER_PRED = [["B-PER", "O", "B-ORG", "O", "O", "B-MISC", "B-PER", "O", "O"],
            ["B-ORG", "O", "B-PER", "O"]]


def columns(tags):
    return "\n\n".join("\n".join(f"{w}\t{t}" for w, t in zip(ws, ts))
                       for ws, ts in zip(NER_WORDS, tags)) + "\n"


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "key.conll").write_text(conll("key"))
    (OUT / "pred.conll").write_text(conll("pred"))
    (OUT / "ner_key.bio").write_text(columns(NER_KEY))
    (OUT / "ner_pred.bio").write_text(columns(NER_PRED))
