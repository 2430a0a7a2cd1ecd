#!/usr/bin/env python3
"""Loads a model folder written by reprobe's `export_hf` with transformers and prints its outputs as JSON.

    python scripts/golden/export_roundtrip.py DIR INPUTS.json [--out OUT.json]

DIR is loaded with the Auto class of its `architectures[0]` (BertModel -> AutoModel,
BertForTokenClassification -> AutoModelForTokenClassification, BertForSequenceClassification ->
AutoModelForSequenceClassification, BertForQuestionAnswering -> AutoModelForQuestionAnswering) and
`output_loading_info=True`; any missing, unexpected or mismatched key (or error message) is reported on
stderr and the script exits with status 1. The model then runs in eval mode on
INPUTS.json = {"input_ids": [[...]], "attention_mask": [[...]], "token_type_ids": [[...]] (optional, zeros)}.

With --text TEXT (repeatable) the folder's tokenizer (AutoTokenizer) also encodes TEXT: "tokenized" (ids with
[CLS]/[SEP]) and "tokenizer_len" (len(tokenizer)) in the output.

Output JSON: {"architecture", "logits" (the task logits, or BertModel's last_hidden_state; for
BertForQuestionAnswering start and end logits stacked, [B, T, 2]), "pooler_output" (BertModel only),
"id2label" (task models), "torch", "transformers"}.

Used by crates/reprobe-models/tests/export_roundtrip.rs (which finds Python through $REPROBE_PYTHON or a python3
that imports transformers), e.g. with /work/venv/bin/python.
"""
import argparse
import json
import sys

import torch
import transformers
from transformers import (AutoConfig, AutoModel, AutoModelForQuestionAnswering,
                          AutoModelForSequenceClassification, AutoModelForTokenClassification)

CLASSES = {
    "BertModel": AutoModel,
    "BertForTokenClassification": AutoModelForTokenClassification,
    "BertForSequenceClassification": AutoModelForSequenceClassification,
    "BertForQuestionAnswering": AutoModelForQuestionAnswering,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("inputs")
    parser.add_argument("--out")
    parser.add_argument("--text", action="append", default=[],
                        help="also tokenize TEXT with the folder's tokenizer (AutoTokenizer): \"tokenized\" in the output")
    args = parser.parse_args()

    torch.set_num_threads(1)
    config = AutoConfig.from_pretrained(args.dir)
    arch = (config.architectures or ["BertModel"])[0]
    if arch not in CLASSES:
        sys.exit(f"{args.dir}: unexpected architecture {arch}")
    model, info = CLASSES[arch].from_pretrained(args.dir, output_loading_info=True)
    problems = {key: sorted(map(str, value)) for key, value in info.items() if value}
    if problems:
        print(f"{args.dir}: loading problems: {json.dumps(problems)}", file=sys.stderr)
        sys.exit(1)
    model.eval()

    with open(args.inputs) as f:
        inputs = json.load(f)
    input_ids = torch.tensor(inputs["input_ids"], dtype=torch.long)
    attention_mask = torch.tensor(inputs["attention_mask"], dtype=torch.long)
    token_type_ids = torch.tensor(inputs.get("token_type_ids") or torch.zeros_like(input_ids).tolist(),
                                  dtype=torch.long)
    with torch.no_grad():
        out = model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)

    result = {"architecture": arch, "torch": torch.__version__, "transformers": transformers.__version__}
    if arch == "BertModel":
        result["logits"] = out.last_hidden_state.tolist()
        result["pooler_output"] = out.pooler_output.tolist()
    elif arch == "BertForQuestionAnswering":
        result["logits"] = torch.stack([out.start_logits, out.end_logits], dim=-1).tolist()
    else:
        result["logits"] = out.logits.tolist()
        result["id2label"] = {str(k): v for k, v in model.config.id2label.items()}
    if args.text:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.dir)
        result["tokenized"] = [tokenizer(t)["input_ids"] for t in args.text]
        result["tokenizer_len"] = len(tokenizer)
    text = json.dumps(result)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
