"""Oracle for reprobe's tokenizer: what the slow `transformers.BertTokenizer` (the tokenizer of the
reference preprocessing, SPEC §6.2) makes of hard strings, for a cased and an uncased vocabulary.

Writes a JSON file {"cases": [str], "lines": [str], "<name>": {"do_lower_case": bool, "words": [[tok]],
"lines": [[tok]], "line_ids": [[id]]}} for every tokenizer folder given as NAME=DIR. `words` is
`tokenize(case)`; `lines` is `tokenize(line)` and `line_ids` the ids of `[CLS] + tokens + [SEP]`.

Python environment (no torch needed):
    python3 -m venv /root/venv-prep && /root/venv-prep/bin/pip install transformers==4.57.6
Regenerate the committed fixture from the repository root with:
    /root/venv-prep/bin/python scripts/golden/prepare_tokenizer_cases.py \
        crates/reprobe-corpus/tests/fixtures/tokenizer_cases.json \
        bert-base-cased=../shared/tokenizers/bert-base-cased all-MiniLM-L6-v2=models/all-MiniLM-L6-v2
(models/all-MiniLM-L6-v2 comes from scripts/fetch-minilm.sh.)
"""
import json
import sys

from transformers import BertTokenizer

# Authored for this test: accents (composed and decomposed), case mapping corner cases, scripts with
# combining marks, CJK, control and zero-width characters, special tokens, long words.
CASES = [
    "Café", "Cafe\u0301", "naïve", "Zürich", "Σωφρόνιος", "ΟΔΟΣ", "İstanbul", "Straße", "ﬁne", "ﬀ",
    "\u212b", "\u037e", "x\u200by", "a\u00a0b", "\u3000", "樋口一葉", "한국어", "日本語のテキスト",
    "😀", "don't", "U.S.", "[CLS]", "[MASK]", "[mask]", "a[SEP]b", "##", "#hashtag", "¿Qué?", "Ω",
    "µ", "ǅ", "ß", "Ⅻ", "\u0345", "مرحبا", "שָׁלוֹם", "ภาษาไทย", "हिन्दी", "①", "x²", "™", "—",
    "…", "“quoted”", "tab\there", "new\nline", "\x00", "\ufffd", "\u2028", "", " ", "Mr.Smith",
    "e-mail", "$100", "3.14", "http://example.com/a_b?c=d", "a" * 100, "a" * 101, "é" * 101,
    "Mañana", "RÉSUMÉ", "Ångström", "Þór", "Łódź", "Dvořák", "Ⅸth", "Ǆ", "ﬃ", "ŉ", "\u0130",
    "unaffable", "UNAFFABLE", "/.", "/?", "-LRB-", "(", "’s", "'s",
]
LINES = [
    "Hello, world! How are you?",
    "The café’s owner (Mr. Dvořák) paid $3.50 — in 2019.",
    "  spaces\tand\ttabs  ",
    "[CLS] already [SEP] here",
    "樋口一葉 wrote 日記.",
]


def main():
    out_path = sys.argv[1]
    result = {"cases": CASES, "lines": LINES}
    for spec in sys.argv[2:]:
        name, folder = spec.split("=", 1)
        tok = BertTokenizer.from_pretrained(folder)
        lines = [tok.tokenize(line) for line in LINES]
        result[name] = {
            "do_lower_case": tok.do_lower_case,
            "words": [tok.tokenize(case) for case in CASES],
            "lines": lines,
            "line_ids": [tok.convert_tokens_to_ids([tok.cls_token] + t + [tok.sep_token]) for t in lines],
        }
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
