"""Oracle for reprobe's source-task encodings (`crates/reprobe-corpus/src/sequence.rs`): what the Hugging Face
fast tokenizer (PyPI `tokenizers`, the Rust crate's Python binding) makes of MRPC pairs and WNUT-17 sentences.

Writes one JSON file:
  {"pairs": [{"line", "text_a", "text_b"}], "max_lens": [int],
   "sentences": [{"file", "index", "words"}],
   "<name>": {
     "pairs": [[{"input_ids", "token_type_ids"} for each max_len] for each pair],    # pair, truncation=True
     "singles": [{"input_ids", "token_type_ids"} for each pair's text_a at max_len 16],
     "sentences": [{"input_ids", "first"}],   # is_split_into_words; first[i] = word_ids()[i] on a word's
                                              # first subtoken, null elsewhere
     "digests": {"mrpc/<split>@<max_len>": sha256, "wnut17/<split>": sha256}}}
for every tokenizer folder given as NAME=DIR (tokenizer.json, else vocab.txt with tokenizer_config.json's
do_lower_case). A digest covers a whole file: sha256 over one line per example,
"<ids joined by spaces>\\t<token_type_ids or first (-1 for null) joined by spaces>\\n".

Truncation is the fast tokenizer's `LongestFirst` (what `truncation=True` means for a fast tokenizer).

Python environment (no torch needed; numpy is needed by `tokenizers` for pre-split input):
    python3 -m venv /tmp/venv-tok && /tmp/venv-tok/bin/pip install tokenizers==0.22.1 numpy
Regenerate the committed fixture from the repository root with:
    /tmp/venv-tok/bin/python scripts/golden/source_task_tokens.py ../shared \\
        crates/reprobe-corpus/tests/fixtures/source_task_tokens.json \\
        bert-base-cased=../shared/tokenizers/bert-base-cased all-MiniLM-L6-v2=models/all-MiniLM-L6-v2
(models/all-MiniLM-L6-v2 comes from scripts/fetch-minilm.sh.)
"""
import hashlib
import json
import os
import sys

from tokenizers import BertWordPieceTokenizer, Tokenizer

# MRPC dev rows (1-based file lines, header = line 1) authored for the test: the first rows, rows with
# non-ASCII text or unbalanced quotes, and the longest pair (truncated at every max_len below).
PAIR_LINES = [2, 3, 4]
MAX_LENS = [128, 48, 25, 24, 9, 3]
# WNUT-17 sentences (0-based index in the file): the first ones, sentences with emoji, and dev 403, whose
# U+FE0F words have no subtoken with an uncased tokenizer (accent stripping removes the mark).
SENTENCES = [("train", 0), ("train", 1), ("dev", 0), ("dev", 403), ("dev", 883)]


def load(folder):
    path = os.path.join(folder, "tokenizer.json")
    if os.path.isfile(path):
        tok = Tokenizer.from_file(path)
    else:
        config_path = os.path.join(folder, "tokenizer_config.json")
        lower = True
        if os.path.isfile(config_path):
            with open(config_path, encoding="utf-8") as f:
                lower = json.load(f).get("do_lower_case", True)
        tok = BertWordPieceTokenizer(os.path.join(folder, "vocab.txt"), lowercase=lower)
    tok.no_truncation()
    tok.no_padding()
    return tok


def read_mrpc(path):
    with open(path, encoding="utf-8-sig") as f:
        lines = f.read().split("\n")
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if line:
            fields = line.split("\t")
            rows.append({"line": number, "text_a": fields[3], "text_b": fields[4]})
    return rows


def read_wnut(path):
    sentences, words = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                if words:
                    sentences.append(words)
                    words = []
                continue
            words.append(line.split()[0])
    if words:
        sentences.append(words)
    return sentences


def encode_pair(tok, a, b, max_len):
    if max_len is None:
        tok.no_truncation()
    else:
        tok.enable_truncation(max_length=max_len)
    enc = tok.encode(a, b)
    tok.no_truncation()
    return {"input_ids": enc.ids, "token_type_ids": enc.type_ids}


def encode_words(tok, words):
    enc = tok.encode(words, is_pretokenized=True)
    first, seen = [], set()
    for word in enc.word_ids:
        if word is None or word in seen:
            first.append(None)
        else:
            seen.add(word)
            first.append(word)
    return {"input_ids": enc.ids, "first": first}


def digest(rows):
    h = hashlib.sha256()
    for ids, other in rows:
        line = " ".join(map(str, ids)) + "\t" + " ".join(str(-1 if v is None else v) for v in other) + "\n"
        h.update(line.encode("utf-8"))
    return h.hexdigest()


def main():
    shared, out_path = sys.argv[1], sys.argv[2]
    mrpc = {split: read_mrpc(os.path.join(shared, "data/mrpc", f"{split}.tsv")) for split in ("train", "dev")}
    wnut = {split: read_wnut(os.path.join(shared, "data/wnut17", f"{split}.conll")) for split in ("train", "dev")}
    dev = mrpc["dev"]
    longest = max(dev, key=lambda r: len(r["text_a"]) + len(r["text_b"]))
    non_ascii = next(r for r in dev if not (r["text_a"] + r["text_b"]).isascii())
    quoted = next(r for r in dev if r["text_a"].count('"') % 2 == 1)
    b_longer = next(r for r in dev if len(r["text_b"]) > len(r["text_a"]) + 20 and r is not longest)
    pairs = []
    for row in [r for r in dev if r["line"] in PAIR_LINES] + [non_ascii, quoted, b_longer, longest]:
        if row not in pairs:
            pairs.append(row)
    sentences = [{"file": f, "index": i, "words": wnut[f][i]} for f, i in SENTENCES]
    result = {"pairs": pairs, "max_lens": MAX_LENS, "sentences": sentences}
    for spec in sys.argv[3:]:
        name, folder = spec.split("=", 1)
        tok = load(folder)
        digests = {}
        for split, rows in mrpc.items():
            for max_len in (128, 48):
                encs = [encode_pair(tok, r["text_a"], r["text_b"], max_len) for r in rows]
                digests[f"mrpc/{split}@{max_len}"] = digest((e["input_ids"], e["token_type_ids"]) for e in encs)
        for split, sents in wnut.items():
            encs = [encode_words(tok, words) for words in sents]
            digests[f"wnut17/{split}"] = digest((e["input_ids"], e["first"]) for e in encs)
        result[name] = {
            "pairs": [[encode_pair(tok, r["text_a"], r["text_b"], m) for m in MAX_LENS] for r in pairs],
            "singles": [encode_pair(tok, r["text_a"], None, 16) for r in pairs],
            "sentences": [encode_words(tok, s["words"]) for s in sentences],
            "digests": digests,
        }
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
