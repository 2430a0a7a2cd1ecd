"""Oracle for `reprobe prepare`: the coref-hoi preprocessing (`preprocess.py`, SPEC §6.2-6.4) re-written
step by step with the slow `transformers.BertTokenizer`, and a compact fixture of its output.

For each input CoNLL file it prepares every document exactly as the reference does (the same
`line.split()`, `int` cluster ids, stacks, set-based cluster merge, segment rule, maps) and writes a JSON
fixture with
  - "totals": documents, segments, subtokens ([CLS]/[SEP] included), mentions, clusters, merged;
  - "documents": per document its key, segment and subtoken counts, and a short SHA-256 (first 16 hex
    digits) of each field in canonical JSON (compact separators, UTF-8, clusters as a sorted list of
    sorted mention lists, since the reference writes Python set order);
  - "full_lines": the smallest document(s) in full, each the exact line the reference writes
    (`json.dumps(document)`), to check byte compatibility and to diff field by field.
With --jsonlines DIR it also writes the full reference output `DIR/<name>.<seg_len>.jsonlines`.

Python environment (no torch needed):
    python3 -m venv /root/venv-prep && /root/venv-prep/bin/pip install transformers==4.57.6
Regenerate the committed fixtures from the repository root with:
    for split in dev train; do
      full=1; [ $split = train ] && full=0      # the smallest dev document in full, none for train
      /root/venv-prep/bin/python scripts/golden/prepare_golden.py --seg-len 384 --full $full \
          --tokenizer ../shared/tokenizers/bert-base-cased --name bert-base-cased \
          ../shared/data/ontogum/$split.english.v4_gold_conll crates/reprobe-corpus/tests/fixtures/prepare
      for corpus in ontogum litbank; do
        /root/venv-prep/bin/python scripts/golden/prepare_golden.py --seg-len 384 --full $full \
            --tokenizer models/all-MiniLM-L6-v2 --name minilm \
            ../shared/data/$corpus/$split.english.v4_gold_conll crates/reprobe-corpus/tests/fixtures/prepare
      done
    done
(models/all-MiniLM-L6-v2 comes from scripts/fetch-minilm.sh.)
"""
import argparse
import collections
import hashlib
import json
import os
import re

from transformers import BertTokenizer

BEGIN = re.compile(r"#begin document \((.*)\); part (\d+)")


def read_parts(path):
    """(doc_key, lines) for each `#begin document` block, as the reference reads the file."""
    parts = []
    with open(path, "r") as f:
        for line in f.readlines():
            m = re.match(BEGIN, line)
            if m:
                parts.append(("{}_{}".format(m.group(1), int(m.group(2))), []))
            elif line.startswith("#end document"):
                continue
            else:
                parts[-1][1].append(line)
    return parts


def normalize(word):
    return word[1:] if word in ("/.", "/?") else word


def segment(n, sentence_end, token_end, seg_len, key):
    """Inclusive (start, end) content ranges; sentence ends first, then word ends (SPEC §6.3)."""
    out = []
    cur = 0
    while cur < n:
        limit = min(cur + seg_len - 1 - 2, n - 1)
        end = limit
        while end >= cur and not sentence_end[end]:
            end -= 1
        if end < cur:
            end = limit
            while end >= cur and not token_end[end]:
                end -= 1
            if end < cur:
                raise SystemExit(f"{key}: no sentence end or token end (the reference fails here)")
        out.append((cur, end))
        cur = end + 1
    return out


def prepare(key, lines, tok, seg_len):
    words, subtokens, subtoken_map, token_end, sentence_end, info = [], [], [], [], [], []
    word_idx = -1
    for line in lines:
        row = line.split()
        if not row:
            sentence_end[-1] = True
            continue
        assert len(row) >= 12, (key, line)
        word_idx += 1
        word = normalize(row[3])
        pieces = tok.tokenize(word)
        words.append(word)
        token_end += [False] * (len(pieces) - 1) + [True]
        for i, piece in enumerate(pieces):
            subtokens.append(piece)
            info.append(row + [len(pieces)] if i == 0 else None)
            sentence_end.append(False)
            subtoken_map.append(word_idx)

    segments, seg_maps, seg_infos = [], [], []
    prev_word = 0
    for start, end in segment(len(subtokens), sentence_end, token_end, seg_len, key):
        segments.append([tok.cls_token] + subtokens[start:end + 1] + [tok.sep_token])
        part_map = subtoken_map[start:end + 1]
        seg_maps.append([prev_word] + part_map + [part_map[-1]])
        seg_infos.append([None] + info[start:end + 1] + [None])
        prev_word = part_map[-1]

    speakers = []
    for seg_info in seg_infos:
        spk = []
        for i, item in enumerate(seg_info):
            if i == 0 or i == len(seg_info) - 1:
                spk.append("[SPL]")
            elif item is not None:
                spk.append(item[9])
            else:
                spk.append(spk[-1])
        speakers.append(spk)

    clusters = collections.defaultdict(list)
    stacks = collections.defaultdict(list)
    flat_info = [item for seg_info in seg_infos for item in seg_info]
    for idx, item in enumerate(flat_info):
        coref = item[-2] if item is not None else "-"
        if coref == "-":
            continue
        last = idx + item[-1] - 1
        for part in coref.split("|"):
            if part[0] == "(":
                if part[-1] == ")":
                    clusters[int(part[1:-1])].append((idx, last))
                else:
                    stacks[int(part[1:])].append(idx)
            else:
                cid = int(part[:-1])
                clusters[cid].append((stacks[cid].pop(), last))

    merged = []
    n_merged = 0
    for cluster in clusters.values():
        target = None
        for mention in cluster:
            for candidate in merged:
                if mention in candidate:
                    target = candidate
                    break
            if target is not None:
                break
        if target is not None:
            n_merged += 1
            target.update(cluster)
        else:
            merged.append(set(cluster))
    merged = [list(c) for c in merged]
    mentions = [m for c in merged for m in c]
    assert len(mentions) == len(set(mentions)), key

    sentence_map = []
    sent, sub = 0, 0
    for seg in segments:
        sentence_map.append(sent)
        for _ in range(len(seg) - 2):
            sentence_map.append(sent)
            sent += int(sentence_end[sub])
            sub += 1
        sentence_map.append(sent)

    doc = {
        "doc_key": key,
        "tokens": words,
        "sentences": segments,
        "speakers": speakers,
        "constituents": [],
        "ner": [],
        "clusters": merged,
        "sentence_map": sentence_map,
        "subtoken_map": [w for m in seg_maps for w in m],
        "pronouns": [],
    }
    return doc, n_merged


def short_hash(value):
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def canonical_clusters(clusters):
    return sorted(sorted([list(m) for m in c]) for c in clusters)


FIELDS = ["tokens", "sentences", "speakers", "sentence_map", "subtoken_map"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("out_dir")
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--name", required=True, help="tokenizer name used in the fixture file name")
    ap.add_argument("--seg-len", type=int, default=384)
    ap.add_argument("--full", type=int, default=1, help="how many of the smallest documents to keep in full")
    ap.add_argument("--jsonlines", help="also write the full output to this folder")
    args = ap.parse_args()

    tok = BertTokenizer.from_pretrained(args.tokenizer)
    corpus = os.path.basename(os.path.dirname(os.path.abspath(args.input)))
    split = os.path.basename(args.input).split(".")[0]
    docs = []
    totals = collections.Counter()
    for key, lines in read_parts(args.input):
        doc, n_merged = prepare(key, lines, tok, args.seg_len)
        docs.append(doc)
        totals["documents"] += 1
        totals["segments"] += len(doc["sentences"])
        totals["subtokens"] += sum(len(s) for s in doc["sentences"])
        totals["mentions"] += sum(len(c) for c in doc["clusters"])
        totals["clusters"] += len(doc["clusters"])
        totals["merged"] += n_merged

    if args.jsonlines:
        os.makedirs(args.jsonlines, exist_ok=True)
        name = os.path.basename(args.input).split(".v4_gold_conll")[0]
        with open(os.path.join(args.jsonlines, f"{name}.{args.seg_len}.jsonlines"), "w") as f:
            for doc in docs:
                f.write(json.dumps(doc))
                f.write("\n")

    entries = []
    for doc in docs:
        hashes = {field: short_hash(doc[field]) for field in FIELDS}
        hashes["clusters"] = short_hash(canonical_clusters(doc["clusters"]))
        entries.append({
            "doc_key": doc["doc_key"],
            "segments": len(doc["sentences"]),
            "subtokens": sum(len(s) for s in doc["sentences"]),
            "hashes": hashes,
        })
    smallest = sorted(docs, key=lambda d: sum(len(s) for s in d["sentences"]))[: args.full]
    fixture = {
        "input": f"{corpus}/{os.path.basename(args.input)}",
        "tokenizer": args.name,
        "seg_len": args.seg_len,
        "totals": dict(totals),
        "documents": entries,
        "full_lines": [json.dumps(doc) for doc in smallest],
    }
    os.makedirs(args.out_dir, exist_ok=True)
    out = os.path.join(args.out_dir, f"{corpus}_{split}.{args.name}.{args.seg_len}.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(out, dict(totals))


if __name__ == "__main__":
    main()
