#!/usr/bin/env python3
"""Golden traces of the optimisers of SPEC §3.6 for the Rust `optim` module.

PyTorch itself is the oracle: `torch.optim.AdamW` for the encoders group (two param groups: weight decay
0.01, and 0 for names containing `bias` or `LayerNorm.weight`), `torch.optim.AdamW` for the aggregate
group (same rule), `torch.optim.Adam` (weight decay 0) for the task group, each with its `LambdaLR`
(coref-hoi's lambdas: warm-up then linear decay for the AdamW groups, linear decay for the task group) and
`torch.nn.utils.clip_grad_norm_(params, 1.0)` per optimiser before its step, as the reference's training
step does. A fourth optimiser, `torch.optim.Adam` with an L2 weight decay of 0.05 and a constant rate,
covers the non-decoupled decay.

Six steps with fixed gradients (some large enough to be clipped, some not); at step 2 one task parameter
has no gradient (PyTorch skips it and does not advance its step count). float32, as training runs.

Writes crates/reprobe-models/tests/fixtures/optim/optim.safetensors (init.<name>, grad.<t>.<name>,
param.<t>.<name> after step t) and optim.json (settings, the lr each group used at each step, the total
gradient norm each group measured, which gradients are missing).

Run:  /root/venv-golden/bin/python scripts/golden/optim_golden.py
(needs torch and safetensors; missing ones are installed from PyPI with pip.)
"""
import importlib
import json
import os
import subprocess
import sys


def ensure(module, package):
    try:
        return importlib.import_module(module)
    except ImportError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", package])
        return importlib.import_module(module)


torch = ensure("torch", "torch")
ensure("safetensors", "safetensors")
from safetensors.torch import save_file  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, "crates", "reprobe-models", "tests", "fixtures", "optim")

SHAPES = {
    "encoders.t.encoder.layer.0.attention.self.query.weight": (4, 3),
    "encoders.t.encoder.layer.0.attention.self.query.bias": (4,),
    "encoders.t.embeddings.LayerNorm.weight": (3,),
    "encoders.t.embeddings.LayerNorm.bias": (3,),
    "aggregate.query.weight": (2, 3),
    "aggregate.query.bias": (2,),
    "head.coarse_bilinear.weight": (3, 5),
    "head.coarse_bilinear.bias": (3,),
    "head.emb_genre.weight": (7, 4),
}
EXTRA = {"extra.l2.weight": (2, 2)}
SETTINGS = dict(
    bert_learning_rate=1e-2, task_learning_rate=5e-3, aggregate_learning_rate=2e-2, adam_eps=1e-6,
    adam_weight_decay=0.01, adam_beta1=0.9, adam_beta2=0.999, warmup_ratio=0.3, gradient_clip_val=1.0,
)
TOTAL_STEPS = 10
STEPS = 6
EXTRA_LR, EXTRA_WD = 3e-3, 0.05
MISSING = {2: ["head.coarse_bilinear.bias"]}
# Gradient scale per step: steps 0, 3, 5 are clipped (norms well above 1), the others are not.
SCALES = [3.0, 0.05, 0.2, 5.0, 0.1, 2.0]


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    names = list(SHAPES) + list(EXTRA)
    shapes = {**SHAPES, **EXTRA}
    params = {n: torch.nn.Parameter(torch.randn(shapes[n], generator=gen)) for n in names}
    init = {f"init.{n}": p.detach().clone() for n, p in params.items()}
    grads = {t: {n: torch.randn(shapes[n], generator=gen) * SCALES[t] / 3.0 for n in names} for t in range(STEPS)}

    s = SETTINGS
    no_decay = lambda n: "bias" in n or "LayerNorm.weight" in n  # noqa: E731
    warmup = int(TOTAL_STEPS * s["warmup_ratio"])

    def lr_warm(t):
        if t < warmup:
            return float(t) / float(max(1, warmup))
        return max(0.0, float(TOTAL_STEPS - t) / float(max(1, TOTAL_STEPS - warmup)))

    def lr_task(t):
        return max(0.0, float(TOTAL_STEPS - t) / float(max(1, TOTAL_STEPS)))

    def adamw(prefix, lr):
        group = [n for n in SHAPES if n.startswith(prefix)]
        opt = torch.optim.AdamW([
            {"params": [params[n] for n in group if not no_decay(n)], "weight_decay": s["adam_weight_decay"]},
            {"params": [params[n] for n in group if no_decay(n)], "weight_decay": 0.0},
        ], lr=lr, eps=s["adam_eps"], betas=(s["adam_beta1"], s["adam_beta2"]))
        return group, opt, torch.optim.lr_scheduler.LambdaLR(opt, lr_warm)

    groups = {
        "encoders": adamw("encoders.", s["bert_learning_rate"]),
        "aggregate": adamw("aggregate.", s["aggregate_learning_rate"]),
    }
    task = [n for n in SHAPES if n.startswith("head.")]
    opt = torch.optim.Adam([params[n] for n in task], lr=s["task_learning_rate"], eps=s["adam_eps"],
                           betas=(s["adam_beta1"], s["adam_beta2"]), weight_decay=0)
    groups["task"] = (task, opt, torch.optim.lr_scheduler.LambdaLR(opt, lr_task))
    extra = list(EXTRA)
    opt = torch.optim.Adam([params[n] for n in extra], lr=EXTRA_LR, eps=s["adam_eps"], weight_decay=EXTRA_WD)
    groups["extra"] = (extra, opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1.0))

    tensors = dict(init)
    lrs = {g: [] for g in groups}
    norms = {g: [] for g in groups}
    for t in range(STEPS):
        for n, p in params.items():
            p.grad = None if n in MISSING.get(t, []) else grads[t][n].clone()
            if p.grad is not None:
                tensors[f"grad.{t}.{n}"] = grads[t][n].clone()
        for g, (members, opt, sched) in groups.items():
            lrs[g].append(sched.get_last_lr()[0])
            if g != "extra":
                with_grad = [params[n] for n in members if params[n].grad is not None]
                norms[g].append(float(torch.nn.utils.clip_grad_norm_(with_grad, s["gradient_clip_val"])))
            opt.step()
            sched.step()
        for n, p in params.items():
            tensors[f"param.{t}.{n}"] = p.detach().clone()

    os.makedirs(OUT_DIR, exist_ok=True)
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(OUT_DIR, "optim.safetensors"))
    record = {
        "settings": s, "total_steps": TOTAL_STEPS, "steps": STEPS, "extra": {"lr": EXTRA_LR, "weight_decay": EXTRA_WD},
        "missing": {str(k): v for k, v in MISSING.items()}, "lrs": lrs, "norms": norms,
        "groups": {g: members for g, (members, _, _) in groups.items()},
    }
    with open(os.path.join(OUT_DIR, "optim.json"), "w") as fh:
        json.dump(record, fh, indent=1)
    print("lrs", json.dumps(lrs))
    print("norms", json.dumps(norms))


if __name__ == "__main__":
    main()
