#!/usr/bin/env python3
"""Hugging Face `transformers` baseline for reprobe's source tasks (NER on WNUT-17, paraphrase on MRPC).

Fine-tunes `models/all-MiniLM-L6-v2` with `AutoModelForTokenClassification` / `AutoModelForSequenceClassification`
and a hand-written PyTorch loop whose optimisation mirrors reprobe's `crates/reprobe-models/src/optim`
(SPEC §3.6):

| group | parameters | optimiser | lr | weight decay | schedule (LambdaLR, factor of 0-based step t) |
|---|---|---|---|---|---|
| encoders | `bert.*` (embeddings, layers, pooler: unlike reprobe, whose pooler `head.pooler.dense.*` is in the task group; the README's MRPC numbers were made this way; `hf_finetune_re.py` passes `task_prefixes` to match reprobe) | torch.optim.AdamW | `--lr` (bert_learning_rate) | 0.01; 0 for names containing `bias` or `LayerNorm.weight` | t/W for t < W, then max(0, (T−t)/max(1, T−W)), W = int(0.1·T) |
| task | everything else (`classifier.*`) | torch.optim.Adam | `--task-lr` (task_learning_rate, default = `--lr`) | 0 | max(0, (T−t)/max(1, T)) |

Both: betas (0.9, 0.999), eps 1e-6, single-tensor implementation (`foreach=False`). One step = zero grads →
backward → per group: `clip_grad_norm_(group params, 1.0)` then `step` → both schedules step. T = epochs ·
ceil(n_train / batch_size) optimiser steps (the last batch of an epoch may be smaller). Dropout is the
model config's (0.1) plus HF's classifier dropout (config.classifier_dropout or hidden_dropout_prob = 0.1).

Data: /work/shared/data/wnut17/{train,dev}.conll (token TAB tag, IOB2) and /work/shared/data/mrpc/{train,dev}.tsv
(GLUE TSV with BOM; split on TAB only).

NER: labels `O`, then `B-X`, `I-X` for the sorted types of the training data; label on each word's first
subtoken, −100 elsewhere; sentences longer than max_length subtokens are split into word windows (counted in
the output). Dev: seqeval entity-level micro P/R/F1 (default mode) on word-level predictions (first
subtoken's argmax) and the token-level micro F1 over words whose gold tag is not `O` (= accuracy on them).
MRPC: `[CLS] a [SEP] b [SEP]` with token type ids, truncation=True, max_length; dev accuracy and F1 of class 1.

Run:
  nice -n 19 /work/venv/bin/python scripts/golden/hf_finetune.py --task mrpc --seed 1 --out /work/runs/hf_baseline/mrpc_seed1.json
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
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_MODEL = os.path.join(ROOT, "models", "all-MiniLM-L6-v2")
DATA = "/work/shared/data"


def log(msg):
    print(f"[{datetime.datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)


# ----------------------------------------------------------------------------------------------- data


def read_conll(path):
    """Sentences as (words, tags); blank lines separate sentences; token TAB tag."""
    sents, words, tags = [], [], []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                if words:
                    sents.append((words, tags))
                    words, tags = [], []
                continue
            parts = line.split("\t")
            if len(parts) != 2:
                raise ValueError(f"{path}:{lineno}: expected `token<TAB>tag`, got {line!r}")
            words.append(parts[0])
            tags.append(parts[1])
    if words:
        sents.append((words, tags))
    return sents


def read_mrpc(path):
    """(label, sentence1, sentence2) rows; the header is checked; TAB split without CSV quoting."""
    rows = []
    with open(path, encoding="utf-8-sig") as f:
        header = f.readline().rstrip("\r\n").split("\t")
        if header != ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"]:
            raise ValueError(f"{path}: unexpected header {header}")
        for lineno, line in enumerate(f, 2):
            line = line.rstrip("\r\n")
            if not line:
                continue
            parts = line.split("\t")
            if len(parts) != 5:
                raise ValueError(f"{path}:{lineno}: {len(parts)} fields, expected 5")
            rows.append((int(parts[0]), parts[3], parts[4]))
    return rows


def ner_label_list(train_sents):
    types = sorted({t[2:] for _, tags in train_sents for t in tags if t != "O"})
    labels = ["O"]
    for ty in types:
        labels += [f"B-{ty}", f"I-{ty}"]
    return labels


def ner_encode(tokenizer, sents, label2id, max_length):
    """Features, one per window: input_ids, attention_mask, token_type_ids, labels, and (sentence, word index)
    of each first subtoken. Sentences over max_length subtokens are split into consecutive word windows."""
    budget = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    feats = []
    n_long = 0
    n_windows_extra = 0
    n_empty_words = 0
    for si, (words, tags) in enumerate(sents):
        # subtoken count per word (words that tokenise to nothing get no label position)
        enc = tokenizer(words, is_split_into_words=True, add_special_tokens=False)
        counts = [0] * len(words)
        for w in enc.word_ids():
            if w is not None:
                counts[w] += 1
        n_empty_words += sum(1 for c in counts if c == 0)
        if sum(counts) <= budget:
            windows = [(0, len(words))]
        else:
            n_long += 1
            windows, start, used = [], 0, 0
            for wi, c in enumerate(counts):
                if c > budget:
                    raise ValueError(f"sentence {si}: word {words[wi]!r} alone has {c} subtokens")
                if used + c > budget:
                    windows.append((start, wi))
                    start, used = wi, 0
                used += c
            windows.append((start, len(words)))
            n_windows_extra += len(windows) - 1
        for a, b in windows:
            enc = tokenizer(words[a:b], is_split_into_words=True, truncation=True, max_length=max_length)
            labels, positions, prev = [], [], None
            for pos, w in enumerate(enc.word_ids()):
                if w is None or w == prev:
                    labels.append(-100)
                else:
                    labels.append(label2id[tags[a + w]])
                    positions.append((pos, si, a + w))
                prev = w
            assert len(enc["input_ids"]) <= max_length
            feats.append(
                {
                    "input_ids": enc["input_ids"],
                    "token_type_ids": enc.get("token_type_ids", [0] * len(enc["input_ids"])),
                    "attention_mask": enc["attention_mask"],
                    "labels": labels,
                    "positions": positions,
                }
            )
    stats = {
        "sentences": len(sents),
        "sentences_over_max_length": n_long,
        "extra_windows": n_windows_extra,
        "words_without_subtokens": n_empty_words,
        "features": len(feats),
    }
    return feats, stats


def mrpc_encode(tokenizer, rows, max_length):
    feats, n_trunc = [], 0
    for label, a, b in rows:
        full = tokenizer(a, b)
        if len(full["input_ids"]) > max_length:
            n_trunc += 1
        enc = tokenizer(a, b, truncation=True, max_length=max_length)
        feats.append(
            {
                "input_ids": enc["input_ids"],
                "token_type_ids": enc["token_type_ids"],
                "attention_mask": enc["attention_mask"],
                "labels": label,
            }
        )
    return feats, {"pairs": len(rows), "pairs_truncated": n_trunc}


def collate(feats, pad_id, token_level):
    n = max(len(f["input_ids"]) for f in feats)
    ids = torch.full((len(feats), n), pad_id, dtype=torch.long)
    tt = torch.zeros((len(feats), n), dtype=torch.long)
    am = torch.zeros((len(feats), n), dtype=torch.long)
    if token_level:
        labels = torch.full((len(feats), n), -100, dtype=torch.long)
    else:
        labels = torch.tensor([f["labels"] for f in feats], dtype=torch.long)
    for i, f in enumerate(feats):
        k = len(f["input_ids"])
        ids[i, :k] = torch.tensor(f["input_ids"])
        tt[i, :k] = torch.tensor(f["token_type_ids"])
        am[i, :k] = torch.tensor(f["attention_mask"])
        if token_level:
            labels[i, :k] = torch.tensor(f["labels"])
    return {"input_ids": ids, "token_type_ids": tt, "attention_mask": am, "labels": labels}


# ------------------------------------------------------------------------------------------ optimiser


def is_weight_decay_exempt(name):
    """reprobe's rule (optim/mod.rs): names containing `bias` or `LayerNorm.weight`."""
    return "bias" in name or "LayerNorm.weight" in name


def build_optimizers(model, bert_lr, task_lr, total_steps, warmup_ratio=0.1, weight_decay=0.01, eps=1e-6,
                     task_prefixes=()):
    """The two optimisers of the table above. Parameters whose names start with one of `task_prefixes` (e.g.
    "bert.pooler." to treat the pooler as reprobe does: `head.pooler.dense.*`, in the task group) join the task
    group even though they are under `bert.`."""
    enc_decay, enc_nodecay, task = [], [], []
    names = {"encoders_decay": [], "encoders_no_decay": [], "task": []}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name.startswith("bert.") and not name.startswith(tuple(task_prefixes)):
            if is_weight_decay_exempt(name):
                enc_nodecay.append(p)
                names["encoders_no_decay"].append(name)
            else:
                enc_decay.append(p)
                names["encoders_decay"].append(name)
        else:
            task.append(p)
            names["task"].append(name)
    # sanity: every LayerNorm weight of the model must be exempt (the rule is by name)
    for mname, mod in model.named_modules():
        if isinstance(mod, torch.nn.LayerNorm):
            assert f"{mname}.weight" in names["encoders_no_decay"], f"{mname}.weight is not exempt from decay"
    assert names["task"], "no task parameters"
    enc_opt = torch.optim.AdamW(
        [
            {"params": enc_decay, "weight_decay": weight_decay},
            {"params": enc_nodecay, "weight_decay": 0.0},
        ],
        lr=bert_lr,
        betas=(0.9, 0.999),
        eps=eps,
        foreach=False,
    )
    task_opt = torch.optim.Adam(task, lr=task_lr, betas=(0.9, 0.999), eps=eps, weight_decay=0.0, foreach=False)
    W = int(total_steps * warmup_ratio)
    T = total_steps

    def warmup_linear(t):
        if t < W:
            return t / max(1, W)
        return max(0.0, (T - t) / max(1.0, float(T - W)))

    def linear(t):
        return max(0.0, (T - t) / max(1, T))

    enc_sched = torch.optim.lr_scheduler.LambdaLR(enc_opt, warmup_linear)
    task_sched = torch.optim.lr_scheduler.LambdaLR(task_opt, linear)
    groups = [
        ("encoders", enc_opt, enc_sched, enc_decay + enc_nodecay),
        ("task", task_opt, task_sched, task),
    ]
    return groups, names, W


# ------------------------------------------------------------------------------------------- metrics


@torch.no_grad()
def evaluate_ner(model, feats, sents, id2label, batch_size, pad_id):
    from seqeval.metrics import f1_score, precision_score, recall_score

    model.eval()
    preds = [["O"] * len(words) for words, _ in sents]
    for i in range(0, len(feats), batch_size):
        chunk = feats[i : i + batch_size]
        batch = collate(chunk, pad_id, True)
        batch.pop("labels")
        logits = model(**batch).logits
        am = logits.argmax(-1)
        for j, f in enumerate(chunk):
            for pos, si, wi in f["positions"]:
                preds[si][wi] = id2label[int(am[j, pos])]
    gold = [tags for _, tags in sents]
    ent = sum(1 for g in gold for t in g if t != "O")
    ok = sum(1 for g, p in zip(gold, preds) for tg, tp in zip(g, p) if tg != "O" and tg == tp)
    return {
        "entity_precision": float(precision_score(gold, preds)),
        "entity_recall": float(recall_score(gold, preds)),
        "entity_f1": float(f1_score(gold, preds)),
        "token_f1_non_O": ok / max(1, ent),
        "gold_non_O_tokens": ent,
    }


@torch.no_grad()
def evaluate_mrpc(model, feats, batch_size, pad_id):
    from sklearn.metrics import accuracy_score, f1_score

    model.eval()
    preds, gold = [], []
    for i in range(0, len(feats), batch_size):
        batch = collate(feats[i : i + batch_size], pad_id, False)
        gold += batch.pop("labels").tolist()
        preds += model(**batch).logits.argmax(-1).tolist()
    return {
        "accuracy": float(accuracy_score(gold, preds)),
        "f1": float(f1_score(gold, preds, pos_label=1)),
        "predicted_positive": sum(preds),
        "n": len(gold),
    }


# ---------------------------------------------------------------------------------------------- main


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", choices=["ner", "mrpc"], required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=5e-5, help="bert_learning_rate (encoders group, AdamW)")
    ap.add_argument("--task-lr", type=float, default=None, help="task_learning_rate (head, Adam); default = --lr")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--eval-batch-size", type=int, default=64)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--limit", type=int, default=0, help="debug: use only the first N training examples")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    task_lr = args.lr if args.task_lr is None else args.task_lr

    import transformers
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoModelForTokenClassification, AutoTokenizer

    started = datetime.datetime.now().astimezone()
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    log(f"task={args.task} seed={args.seed} torch={torch.__version__} transformers={transformers.__version__} "
        f"threads={torch.get_num_threads()} cpu={cpu_model()}")

    tokenizer = AutoTokenizer.from_pretrained(args.model, use_fast=True)
    assert tokenizer.is_fast
    pad_id = tokenizer.pad_token_id

    if args.task == "ner":
        train_sents = read_conll(os.path.join(DATA, "wnut17", "train.conll"))
        dev_sents = read_conll(os.path.join(DATA, "wnut17", "dev.conll"))
        labels = ner_label_list(train_sents)
        label2id = {l: i for i, l in enumerate(labels)}
        for _, tags in dev_sents:
            for t in tags:
                assert t in label2id, f"dev tag {t} not in the training label set"
        if args.limit:
            train_sents = train_sents[: args.limit]
        train_feats, train_stats = ner_encode(tokenizer, train_sents, label2id, args.max_length)
        dev_feats, dev_stats = ner_encode(tokenizer, dev_sents, label2id, args.max_length)
        config = AutoConfig.from_pretrained(
            args.model, num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id
        )
        torch.manual_seed(args.seed)
        model = AutoModelForTokenClassification.from_pretrained(args.model, config=config)

        def evaluate():
            return evaluate_ner(model, dev_feats, dev_sents, labels, args.eval_batch_size, pad_id)

        token_level = True
    else:
        train_rows = read_mrpc(os.path.join(DATA, "mrpc", "train.tsv"))
        dev_rows = read_mrpc(os.path.join(DATA, "mrpc", "dev.tsv"))
        labels = ["0", "1"]
        if args.limit:
            train_rows = train_rows[: args.limit]
        train_feats, train_stats = mrpc_encode(tokenizer, train_rows, args.max_length)
        dev_feats, dev_stats = mrpc_encode(tokenizer, dev_rows, args.max_length)
        config = AutoConfig.from_pretrained(args.model, num_labels=2)
        torch.manual_seed(args.seed)
        model = AutoModelForSequenceClassification.from_pretrained(args.model, config=config)

        def evaluate():
            return evaluate_mrpc(model, dev_feats, args.eval_batch_size, pad_id)

        token_level = False
    log(f"train {train_stats}; dev {dev_stats}; labels {labels}")

    n = len(train_feats)
    steps_per_epoch = math.ceil(n / args.batch_size)
    total_steps = args.epochs * steps_per_epoch
    groups, group_names, warmup_steps = build_optimizers(model, args.lr, task_lr, total_steps)
    log(f"{n} training examples, {steps_per_epoch} steps/epoch, T={total_steps}, W={warmup_steps}; "
        f"encoders {len(group_names['encoders_decay'])}+{len(group_names['encoders_no_decay'])} tensors, "
        f"task {group_names['task']}")

    gen = torch.Generator().manual_seed(args.seed)
    epochs = []
    lr_trace = {name: [] for name, *_ in groups}
    clip_counts = {name: 0 for name, *_ in groups}
    step = 0
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=gen).tolist()
        losses, n_tokens = [], 0
        t0 = time.perf_counter()
        c0 = time.process_time()
        for b in range(steps_per_epoch):
            idx = order[b * args.batch_size : (b + 1) * args.batch_size]
            batch = collate([train_feats[i] for i in idx], pad_id, token_level)
            n_tokens += int(batch["attention_mask"].sum())
            for _, opt, _, _ in groups:
                opt.zero_grad(set_to_none=True)
            loss = model(**batch).loss
            loss.backward()
            for name, opt, _, params in groups:
                if step in (0, warmup_steps, total_steps - 1):
                    lr_trace[name].append((step, opt.param_groups[0]["lr"]))
                norm = torch.nn.utils.clip_grad_norm_(params, 1.0)
                if float(norm) > 1.0:
                    clip_counts[name] += 1
                opt.step()
            for _, _, sched, _ in groups:
                sched.step()
            step += 1
            losses.append(loss.item())
            if (b + 1) % 20 == 0:
                log(f"epoch {epoch} step {b + 1}/{steps_per_epoch} loss {np.mean(losses[-20:]):.4f} "
                    f"({(time.perf_counter() - t0) / (b + 1):.2f} s/step)")
        train_seconds = time.perf_counter() - t0
        train_cpu_seconds = time.process_time() - c0
        e0 = time.perf_counter()
        dev = evaluate()
        eval_seconds = time.perf_counter() - e0
        rec = {
            "epoch": epoch,
            "train_loss": float(np.mean(losses)),
            "dev": dev,
            "train_seconds": train_seconds,
            "train_cpu_seconds": train_cpu_seconds,
            "train_examples_per_second": n / train_seconds,
            "train_tokens": n_tokens,
            "eval_seconds": eval_seconds,
        }
        epochs.append(rec)
        log(f"epoch {epoch}: loss {rec['train_loss']:.4f}, {train_seconds:.1f} s train "
            f"({rec['train_examples_per_second']:.1f} ex/s), dev {dev}")

    ended = datetime.datetime.now().astimezone()
    out = {
        "task": args.task,
        "seed": args.seed,
        "hyperparameters": {
            "model": os.path.relpath(args.model, ROOT) if args.model.startswith(ROOT) else args.model,
            "epochs": args.epochs,
            "bert_learning_rate": args.lr,
            "task_learning_rate": task_lr,
            "batch_size": args.batch_size,
            "max_length": args.max_length,
            "threads": args.threads,
            "limit": args.limit,
            "hidden_dropout_prob": config.hidden_dropout_prob,
            "attention_probs_dropout_prob": config.attention_probs_dropout_prob,
            "classifier_dropout": getattr(config, "classifier_dropout", None) or config.hidden_dropout_prob,
        },
        "optimizer": {
            "encoders": "torch.optim.AdamW(betas=(0.9,0.999), eps=1e-6, weight_decay=0.01 | 0 for names with "
            "'bias'/'LayerNorm.weight'), LambdaLR warm-up int(0.1*T) then linear decay to 0",
            "task": "torch.optim.Adam(betas=(0.9,0.999), eps=1e-6, weight_decay=0), LambdaLR linear decay (T-t)/T",
            "clipping": "clip_grad_norm_(group params, 1.0) per group before its step",
            "total_steps": total_steps,
            "warmup_steps": warmup_steps,
            "steps_per_epoch": steps_per_epoch,
            "groups": {k: len(v) for k, v in group_names.items()},
            "task_params": group_names["task"],
            "lr_trace": lr_trace,
            "steps_clipped": clip_counts,
        },
        "labels": labels,
        "data": {"train": train_stats, "dev": dev_stats},
        "epochs": epochs,
        "final_dev": epochs[-1]["dev"] if epochs else None,
        "mean_train_seconds_per_epoch": float(np.mean([e["train_seconds"] for e in epochs])) if epochs else None,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": __import__("tokenizers").__version__,
            "seqeval": _version("seqeval"),
            "scikit-learn": _version("scikit-learn"),
        },
        "cpu": cpu_model(),
        "torch_num_threads": torch.get_num_threads(),
        "started": started.isoformat(timespec="seconds"),
        "ended": ended.isoformat(timespec="seconds"),
        "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=2)
    os.replace(tmp, args.out)
    log(f"wrote {args.out}; final dev {out['final_dev']}")


def _version(dist):
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:
        return None


if __name__ == "__main__":
    main()
