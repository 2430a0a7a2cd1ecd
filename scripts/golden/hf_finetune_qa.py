#!/usr/bin/env python3
"""Hugging Face `transformers` baseline for reprobe's extractive QA (SQuAD 2.0), the counterpart of
configs/qa/squad2_minilm.toml.

Fine-tunes models/all-MiniLM-L6-v2 with `AutoModelForQuestionAnswering` on ../shared/data/squad2/train.json and
scores ../shared/data/squad2/dev.json with the official SQuAD 2.0 logic (transformers 4.57.1's
`squad_metrics.squad_evaluate`, read from the wheel as scripts/golden/squad_metric.py reads it).

Optimisation is hf_finetune.py's (it mirrors reprobe's `optim`): encoders (`bert.*`) AdamW with weight decay 0.01
(0 for biases and LayerNorm weights), 10 % linear warm-up then linear decay; the head (`qa_outputs.*`) Adam with
linear decay; betas (0.9, 0.999), eps 1e-6, per-group gradient clipping at 1.0; T = epochs · ceil(windows / batch)
steps; windows shuffled each epoch (torch.randperm seeded by --seed).

Windows: `tokenizer(question, context, truncation="only_second", max_length=L, stride=S,
return_overflowing_tokens=True, return_offsets_mapping=True)`, as transformers' question-answering example
builds them; a batch is padded to its longest window (the example's `--pad_to_max_length False`). Target of a
window: the last context subtoken starting at or before the answer's first character and the first one ending at
or after its last character, when the window holds the whole answer (first answer of the question); else [CLS].

Decoding (per question, over its windows): the 20 highest start and end logits of each window, spans of context
subtokens with start <= end and at most 30 subtokens, score start + end; the null score is the smallest
start[0] + end[0] over the windows; the answer is "" when null - best score > 0.

Run (a few hundred questions to check the script; the full comparison takes hours on 2 cores):
  nice -n 19 /work/venv/bin/python scripts/golden/hf_finetune_qa.py --seed 1 --limit-train 300 --limit-dev 300 \\
      --out /work/runs/hf_baseline/squad2_check.json
"""
import argparse
import datetime
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_finetune import build_optimizers, cpu_model, log  # noqa: E402
from squad_metric import VERSION, load_official  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_MODEL = os.path.join(ROOT, "models", "all-MiniLM-L6-v2")
DATA = "/work/shared/data/squad2"
OFFICIAL_KEYS = ["exact", "f1", "total", "HasAns_exact", "HasAns_f1", "HasAns_total", "NoAns_exact", "NoAns_f1",
                 "NoAns_total"]


def read_squad(path, limit):
    """Questions in file order: (id, question, context, answers [(text, start)])."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)["data"]
    out, seen = [], set()
    for article in data:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                if qa["id"] in seen:
                    raise ValueError(f"{path}: question {qa['id']} appears twice")
                seen.add(qa["id"])
                out.append((qa["id"], qa["question"], paragraph["context"],
                            [(a["text"], a["answer_start"]) for a in qa["answers"]]))
    return out[:limit] if limit else out


def encode(tokenizer, questions, max_length, stride):
    """Windows: input ids, segment ids, the context offsets (None elsewhere), the target, the question index."""
    windows = []
    for qi, (_, question, context, answers) in enumerate(questions):
        enc = tokenizer(question, context, truncation="only_second", max_length=max_length, stride=stride,
                        return_overflowing_tokens=True, return_offsets_mapping=True)
        for w in range(len(enc["input_ids"])):
            seq = enc.sequence_ids(w)
            offsets = [tuple(o) if s == 1 else None for o, s in zip(enc["offset_mapping"][w], seq)]
            context_positions = [i for i, o in enumerate(offsets) if o is not None]
            target = (0, 0)
            if answers and context_positions:
                text, start = answers[0]
                end = start + len(text)
                first, last = context_positions[0], context_positions[-1]
                if offsets[first][0] <= start and offsets[last][1] >= end:
                    s = max(i for i in context_positions if offsets[i][0] <= start)
                    e = min(i for i in context_positions if offsets[i][1] >= end)
                    target = (s, e)
            windows.append({"input_ids": enc["input_ids"][w], "token_type_ids": enc["token_type_ids"][w],
                            "offsets": offsets, "target": target, "question": qi})
    return windows


def collate(windows, pad_id, with_targets):
    n = max(len(w["input_ids"]) for w in windows)
    ids = torch.full((len(windows), n), pad_id, dtype=torch.long)
    types = torch.zeros((len(windows), n), dtype=torch.long)
    mask = torch.zeros((len(windows), n), dtype=torch.long)
    for i, w in enumerate(windows):
        k = len(w["input_ids"])
        ids[i, :k] = torch.tensor(w["input_ids"])
        types[i, :k] = torch.tensor(w["token_type_ids"])
        mask[i, :k] = 1
    batch = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask}
    if with_targets:
        batch["start_positions"] = torch.tensor([w["target"][0] for w in windows])
        batch["end_positions"] = torch.tensor([w["target"][1] for w in windows])
    return batch


def decode(context, scored, n_best=20, max_answer=30, threshold=0.0):
    """The answer of one question from its windows [(start logits, end logits, offsets)] (module doc)."""
    null = min(float(s[0] + e[0]) for s, e, _ in scored)
    best = None
    for start, end, offsets in scored:
        top_s = np.argsort(-start[: len(offsets)], kind="stable")[:n_best]
        top_e = np.argsort(-end[: len(offsets)], kind="stable")[:n_best]
        for s in top_s:
            for e in top_e:
                if offsets[s] is None or offsets[e] is None or e < s or e - s + 1 > max_answer:
                    continue
                score = float(start[s] + end[e])
                if best is None or score > best[0]:
                    best = (score, offsets[s][0], offsets[e][1])
    if best is None or null - best[0] > threshold:
        return ""
    return context[best[1]:best[2]]


@torch.no_grad()
def evaluate(model, questions, windows, batch_size, pad_id, official):
    model.eval()
    by_question = [[] for _ in questions]
    for i in range(0, len(windows), batch_size):
        chunk = windows[i:i + batch_size]
        out = model(**collate(chunk, pad_id, False))
        for j, w in enumerate(chunk):
            by_question[w["question"]].append((out.start_logits[j].numpy(), out.end_logits[j].numpy(), w["offsets"]))
    preds = {q[0]: decode(q[2], scored) for q, scored in zip(questions, by_question)}

    class Example:
        def __init__(self, qid, answers):
            self.qas_id = qid
            self.answers = [{"text": t} for t, _ in answers]

    evaluation = official.squad_evaluate([Example(q[0], q[3]) for q in questions], preds)
    return {k: evaluation[k] for k in OFFICIAL_KEYS if k in evaluation}, preds


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--lr", type=float, default=3e-5, help="bert_learning_rate (encoders group, AdamW)")
    ap.add_argument("--task-lr", type=float, default=None, help="task_learning_rate (head, Adam); default = --lr")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--eval-batch-size", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=384)
    ap.add_argument("--stride", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--limit-train", type=int, default=0, help="the first N training questions (0: all)")
    ap.add_argument("--limit-dev", type=int, default=0, help="the first N dev questions (0: all)")
    ap.add_argument("--wheel", help=f"the transformers {VERSION} wheel for the official metric (default: pip download)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    task_lr = args.lr if args.task_lr is None else args.task_lr

    import transformers
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel
        if not wheel:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                            f"transformers=={VERSION}", "-d", tmp], check=True)
            wheel = os.path.join(tmp, f"transformers-{VERSION}-py3-none-any.whl")
        official = load_official(wheel)

    started = datetime.datetime.now().astimezone()
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    log(f"seed={args.seed} torch={torch.__version__} transformers={transformers.__version__} "
        f"threads={torch.get_num_threads()} cpu={cpu_model()}")
    tokenizer = AutoTokenizer.from_pretrained(args.model, use_fast=True)
    assert tokenizer.is_fast
    pad_id = tokenizer.pad_token_id
    train_q = read_squad(os.path.join(DATA, "train.json"), args.limit_train)
    dev_q = read_squad(os.path.join(DATA, "dev.json"), args.limit_dev)
    train_w = encode(tokenizer, train_q, args.max_length, args.stride)
    dev_w = encode(tokenizer, dev_q, args.max_length, args.stride)
    stats = {"train_questions": len(train_q), "train_windows": len(train_w), "dev_questions": len(dev_q),
             "dev_windows": len(dev_w)}
    log(str(stats))
    torch.manual_seed(args.seed)
    model = AutoModelForQuestionAnswering.from_pretrained(args.model)

    n = len(train_w)
    steps_per_epoch = math.ceil(n / args.batch_size)
    total_steps = args.epochs * steps_per_epoch
    groups, group_names, warmup_steps = build_optimizers(model, args.lr, task_lr, total_steps)
    log(f"{n} windows, {steps_per_epoch} steps/epoch, T={total_steps}, W={warmup_steps}; task {group_names['task']}")

    gen = torch.Generator().manual_seed(args.seed)
    epochs = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=gen).tolist()
        losses = []
        t0 = time.perf_counter()
        for b in range(steps_per_epoch):
            batch = collate([train_w[i] for i in order[b * args.batch_size:(b + 1) * args.batch_size]], pad_id, True)
            for _, opt, _, _ in groups:
                opt.zero_grad(set_to_none=True)
            loss = model(**batch).loss
            loss.backward()
            for _, opt, _, params in groups:
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
            for _, _, sched, _ in groups:
                sched.step()
            losses.append(loss.item())
            if (b + 1) % 20 == 0:
                log(f"epoch {epoch} step {b + 1}/{steps_per_epoch} loss {np.mean(losses[-20:]):.4f} "
                    f"({(time.perf_counter() - t0) / (b + 1):.2f} s/step)")
        train_seconds = time.perf_counter() - t0
        e0 = time.perf_counter()
        dev, preds = evaluate(model, dev_q, dev_w, args.eval_batch_size, pad_id, official)
        rec = {"epoch": epoch, "train_loss": float(np.mean(losses)), "dev": dev, "train_seconds": train_seconds,
               "train_windows_per_second": n / train_seconds, "eval_seconds": time.perf_counter() - e0}
        epochs.append(rec)
        log(f"epoch {epoch}: loss {rec['train_loss']:.4f}, {train_seconds:.1f} s train, dev {dev}")

    out = {
        "task": "squad2",
        "seed": args.seed,
        "hyperparameters": {"model": os.path.relpath(args.model, ROOT) if args.model.startswith(ROOT) else args.model,
                            "epochs": args.epochs, "bert_learning_rate": args.lr, "task_learning_rate": task_lr,
                            "batch_size": args.batch_size, "max_length": args.max_length, "stride": args.stride,
                            "n_best_size": 20, "max_answer_length": 30, "null_score_diff_threshold": 0.0,
                            "limit_train": args.limit_train, "limit_dev": args.limit_dev, "threads": args.threads},
        "data": stats,
        "epochs": epochs,
        "final_dev": epochs[-1]["dev"] if epochs else None,
        "predictions": preds if epochs else None,
        "metric": f"transformers {VERSION} squad_metrics.squad_evaluate",
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__},
        "cpu": cpu_model(),
        "started": started.isoformat(timespec="seconds"),
        "ended": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".tmp", "w") as f:
        json.dump(out, f, indent=1)
    os.replace(args.out + ".tmp", args.out)
    log(f"wrote {args.out}; final dev {out['final_dev']}")


if __name__ == "__main__":
    main()
