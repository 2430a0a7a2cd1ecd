#!/usr/bin/env python3
"""Oracle for reprobe's relation-classification inputs (`crates/reprobe-corpus/src/markers.rs` and the
SemEval reader): what a Hugging Face `transformers` tokenizer with the entity markers as added special tokens
makes of every SemEval-2010 Task 8 sentence.

For each sentence the tags are replaced by the markers with spaces around them (`<e1>` -> " [H] ",
`</e1>` -> " [/H] ", `<e2>` -> " [T] ", `</e2>` -> " [/T] ", e1 being the head), and the string is
tokenized by `AutoTokenizer` after `tokenizer.add_tokens(["[/H]", "[/T]", "[H]", "[T]"], special_tokens=True)`
(the reference's sorted marker order), with [CLS]/[SEP], without truncation. Writes

  {"<name>": {"marker_ids": {"[H]": id, ...}, "len": len(tokenizer),
              "digests": {"train": sha256, "test": sha256},   # one line per record: "<id>\\t<ids>\\n"
              "examples": {"<id>": [ids]},                    # the records with tags glued to words, and a few
              "over_128": {"train": n, "test": n}, "longest": {"train": n, "test": n}},
   "versions": {...}}

Run from the repository root (the venv has transformers):
    /work/venv/bin/python scripts/golden/relation_tokens.py ../shared \\
        crates/reprobe-corpus/tests/fixtures/relation_tokens.json \\
        bert-base-cased=../shared/tokenizers/bert-base-cased all-MiniLM-L6-v2=models/all-MiniLM-L6-v2
"""
import hashlib
import json
import os
import re
import sys

import tokenizers
import transformers
from transformers import AutoTokenizer

MARKERS = ["[/H]", "[/T]", "[H]", "[T]"]
TAGS = {"<e1>": " [H] ", "</e1>": " [/H] ", "<e2>": " [T] ", "</e2>": " [/T] "}
# Glued tags (a tag between two word characters) and records with quotes or odd punctuation.
EXAMPLES = ["213", "2740", "4612", "4784", "6373", "8411", "9867", "629", "18", "1"]


def records(path):
    """(id, sentence with tags) of the release format: `id<TAB>"sentence"`, label, comment, blank."""
    with open(path, encoding="ascii", newline="") as f:
        lines = f.read().split("\r\n")
    out = []
    for line in lines:
        m = re.match(r"^(\d+)\t\"(.*)\"$", line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def marked(sentence):
    return re.sub(r"</?e[12]>", lambda m: TAGS[m.group(0)], sentence)


def main():
    shared, out_path, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
    files = {split: records(os.path.join(shared, "data", "semeval2010_task8", f"{split}.txt")) for split in ["train", "test"]}
    assert len(files["train"]) == 8000 and len(files["test"]) == 2717
    result = {"versions": {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__}}
    for spec in specs:
        name, folder = spec.split("=", 1)
        tok = AutoTokenizer.from_pretrained(folder)
        tok.add_tokens(MARKERS, special_tokens=True)
        ids_of = {m: tok.convert_tokens_to_ids(m) for m in MARKERS}
        entry = {"marker_ids": ids_of, "len": len(tok), "digests": {}, "examples": {}, "over_128": {}, "longest": {}}
        for split, recs in files.items():
            h = hashlib.sha256()
            over, longest = 0, 0
            for rid, sentence in recs:
                ids = tok(marked(sentence))["input_ids"]
                for m in MARKERS:
                    assert ids.count(ids_of[m]) == 1, (name, rid, m)
                h.update(f"{rid}\t{' '.join(map(str, ids))}\n".encode())
                over += len(ids) > 128
                longest = max(longest, len(ids))
                if rid in EXAMPLES:
                    entry["examples"][rid] = ids
            entry["digests"][split] = h.hexdigest()
            entry["over_128"][split] = over
            entry["longest"][split] = longest
        result[name] = entry
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
