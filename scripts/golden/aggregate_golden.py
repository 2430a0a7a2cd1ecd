#!/usr/bin/env python3
"""Golden outputs of the reference encoder-stack aggregation (SPEC §2.2 and §2.3), bugs included.

Re-implements, from SPEC §2.2-§2.3, the forward of `TransformerMultiModel` (without the BERT encoders:
their hidden states are fixed random tensors) and the `AttentionBasedAggregator`, mean, sum and
`ConcatAggregator`, literally: the projection flags of SPEC §9.6, the string `query_idx` of §9.7, the
interleaved flatten and the `hidden_states[-n:]` indexing of §9.8, no padding mask and padded cosine
means of §9.9. Everything is float64, so the Rust side (run in f64) must agree to ~1e-12.

Inputs: M = 3 models ("target", "mrpc", "ner"), each with L = 3 layers, i.e. L+1 = 4 hidden states of
[B=2, T=5, H=8]; row 1 has two padding positions; the last hidden state of "mrpc" is the zero vector at
[0, 2] (exercises the eps of F.normalize and of the cosine similarity).

Writes, next to the Rust tests:
  crates/reprobe-models/tests/fixtures/aggregate/aggregate_golden.safetensors
      input.<model>.<layer>  [2, 5, 8] f64      mask [2, 5] i64
      <case>.out [2, 5, D_out]   <case>.attn [2, 5, M] (attention)   <case>.param.<name> (unique parameters,
      named as in the reference's state dict: query.weight, keys.1.bias, values.0.weight, linear.weight)
  crates/reprobe-models/tests/fixtures/aggregate/cases.json
      per case: models, the reference aggregate config, ours (our config: kind = type), normalize,
      cossim_target, cossim {"tgt/id": value}

Run:  /root/venv-golden/bin/python scripts/golden/aggregate_golden.py
(needs torch and safetensors; missing ones are installed from PyPI with pip.)
"""
import importlib
import json
import math
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

torch.set_default_dtype(torch.float64)
nn = torch.nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, "crates", "reprobe-models", "tests", "fixtures", "aggregate")
MODEL_IDS = ["target", "mrpc", "ner"]
B, T, H, L = 2, 5, 8, 3


class HiddenStates:
    """What the reference's aggregator receives per model when n_last > 1 (a ModelOutput)."""

    def __init__(self, hidden_states):
        self.hidden_states = tuple(hidden_states)
        self.last_hidden_state = hidden_states[-1]


class RefAttention(nn.Module):
    """SPEC §2.3 AttentionBasedAggregator, construction and forward as written there."""

    def __init__(self, input_size, model_ids, hidden_size=128, output_size=None, query_idx=0,
                 mode="token2token", mode_query=None, mode_keys=None, project_target_query=True,
                 project_target_key=True, project_target_value=True, reuse_target_query_as_key=True,
                 use_outputs_from_last_n_layers=1):
        super().__init__()
        self.query_idx = query_idx
        self.mode_query = mode_query or mode.split("2")[0]
        self.mode_keys = mode_keys or mode.split("2")[1]
        self.n_last = use_outputs_from_last_n_layers
        self.n_models = len(model_ids)
        d_in = input_size
        d_h = hidden_size
        d_out = output_size or input_size
        pq, pk, pv = project_target_query, project_target_key, project_target_value
        if self.n_last > 1:
            pq = pk = pv = True
            d_in = self.n_last * input_size
        if not (pq and pk) and d_h != input_size:
            d_h = d_in
        if not pv and d_out != d_in:
            d_out = d_in
        self.d_in, self.d_h, self.d_out = d_in, d_h, d_out
        self.query = nn.Linear(d_in, d_h) if pq else nn.Identity()
        if reuse_target_query_as_key:
            target_key = self.query
        else:
            target_key = nn.Linear(d_in, d_h) if pk else nn.Identity()
        # i is an int: a str query_idx never equals it (SPEC §9.7)
        self.keys = nn.ModuleList(
            [target_key if i == query_idx else nn.Linear(d_in, d_h) for i in range(self.n_models)])
        self.values = nn.ModuleList(
            [nn.Identity() if (i == query_idx and not pv) else nn.Linear(d_in, d_out)
             for i in range(self.n_models)])
        self.last_weights = None

    def feat(self, v):
        if self.n_last == 1:
            return v
        # [B, T, H, L+1][..., -n:] flattened: feature h*n + l (SPEC §9.8)
        return torch.stack(list(v.hidden_states), dim=-1)[..., -self.n_last:].flatten(-2)

    def forward(self, x):
        names = list(x.keys())
        target_name = self.query_idx if isinstance(self.query_idx, str) else names[self.query_idx]
        xs = list(x.values())
        values = torch.stack([val(self.feat(v)) for val, v in zip(self.values, xs)], dim=-1)  # [B,T,Do,M]
        b, t = values.shape[:2]
        if self.mode_query == "token":
            q = self.query(self.feat(x[target_name]))
        elif self.mode_query == "cls":
            q = self.query(x[target_name][:, 0, :]).unsqueeze(1).expand(-1, t, -1)
        else:  # constant (crashes for an Identity query, as the reference)
            q = self.query(torch.zeros(self.query.in_features)).view(1, 1, -1).expand(b, t, -1)
        if self.mode_keys == "token":
            k = torch.stack([key(self.feat(v)) for key, v in zip(self.keys, xs)], dim=-1)
        elif self.mode_keys == "cls":
            k = torch.stack([key(v[:, 0, :]) for key, v in zip(self.keys, xs)], dim=-1)
            k = k.unsqueeze(1).expand(-1, t, -1, -1)
        else:
            k = torch.stack([key(torch.zeros(key.in_features)) for key in self.keys], dim=-1)
            k = k.view(1, 1, *k.shape).expand(b, t, -1, -1)
        a = torch.softmax((q.unsqueeze(-2) @ k) / math.sqrt(self.d_h), dim=-1)  # [B,T,1,M], no mask
        self.last_weights = a.squeeze(-2)
        return (a @ values.transpose(-1, -2)).squeeze(-2)


class RefConcat(nn.Module):
    def __init__(self, input_size, num_models):
        super().__init__()
        self.linear = nn.Linear(num_models * input_size, input_size)

    def forward(self, x):
        return self.linear(torch.cat(list(x.values()), dim=-1))


def ref_forward(hidden, models, aggregate, normalize, cossim_target, seed):
    """SPEC §2.2 TransformerMultiModel.forward on fixed hidden states; returns (out, attn, cossim, module)."""
    cfg = dict(aggregate)
    kind = cfg.pop("type")
    n_last = cfg.get("use_outputs_from_last_n_layers", 1)
    torch.manual_seed(seed)
    module = None
    if kind == "concat":
        module = RefConcat(H, len(models))
    elif kind == "attention":
        module = RefAttention(H, list(models), **cfg)
    outs = {m: HiddenStates(hidden[m]) for m in models}
    if normalize:
        assert n_last == 1
        e = {m: torch.nn.functional.normalize(o.last_hidden_state, p=2, dim=-1) for m, o in outs.items()}
    elif n_last > 1:
        e = dict(outs)
    else:
        e = {m: o.last_hidden_state for m, o in outs.items()}
    cossim = {}
    if cossim_target is not None:
        cos = nn.CosineSimilarity(dim=-1, eps=1e-6)
        last = lambda v: v.last_hidden_state if n_last > 1 else v  # noqa: E731
        for m in models:
            if m != cossim_target:
                value = cos(last(e[cossim_target]), last(e[m])).mean(-1).mean(-1)
                cossim[f"{cossim_target}/{m}"] = float(value)
    attn = None
    if kind == "mean":
        out = torch.stack(list(e.values()), dim=-1).mean(-1)
    elif kind == "sum":
        out = torch.stack(list(e.values()), dim=-1).sum(-1)
    else:
        out = module(e)
        if kind == "attention":
            attn = module.last_weights
    return out, attn, cossim, module


def unique_params(module):
    """Parameters once each (a key shared with the query is exported as query.*)."""
    seen, out = set(), {}
    if module is None:
        return out
    for name, p in module.named_parameters(remove_duplicate=False):
        if p.data_ptr() in seen:
            continue
        seen.add(p.data_ptr())
        out[name] = p.detach().clone()
    return out


def make_inputs():
    g = torch.Generator().manual_seed(20250319)
    hidden = {}
    for m in MODEL_IDS:
        hidden[m] = [torch.randn(B, T, H, generator=g) for _ in range(L + 1)]
    hidden["mrpc"][-1][0, 2, :] = 0.0
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.int64)
    return hidden, mask


def attention(**kw):
    return {"type": "attention", **kw}


CONST = dict(reuse_target_query_as_key=False, mode_query="constant", mode_keys="token")

CASES = [
    # name, models, aggregate, normalize, cossim_target
    ("mean_m1", 1, {"type": "mean"}, False, None),
    ("mean_m2", 2, {"type": "mean"}, False, "target"),
    ("mean_m3", 3, {"type": "mean"}, False, "target"),
    ("mean_m3_cossim_mrpc", 3, {"type": "mean"}, False, "mrpc"),
    ("sum_m2", 2, {"type": "sum"}, False, "target"),
    ("sum_m3", 3, {"type": "sum"}, False, None),
    ("concat_m1", 1, {"type": "concat"}, False, None),
    ("concat_m2", 2, {"type": "concat"}, False, None),
    ("concat_m3", 3, {"type": "concat"}, False, None),
    # 2023 "attention": token2token, reuse, D_h 128
    ("attn_t2t_reuse_m2", 2, attention(), False, "target"),
    ("attn_t2t_reuse_m3", 3, attention(hidden_size=16), False, None),
    ("attn_t2t_noreuse_m2", 2, attention(hidden_size=16, reuse_target_query_as_key=False), False, None),
    # 2024 "attention": constant query, token keys, no reuse
    ("attn_const_m1", 1, attention(**CONST), False, None),
    ("attn_const_m2", 2, attention(**CONST), False, "target"),
    ("attn_const_m3", 3, attention(hidden_size=16, **CONST), False, None),
    ("attn_const2const_m2", 2, attention(hidden_size=16, mode="constant2constant"), False, None),
    ("attn_cls2token_m2", 2, attention(hidden_size=16, mode="cls2token"), False, None),
    ("attn_token2cls_m2", 2, attention(hidden_size=16, mode="token2cls"), False, None),
    ("attn_cls2cls_m2", 2, attention(hidden_size=16, mode="cls2cls", reuse_target_query_as_key=False), False, None),
    # SPEC §2.4 projection ablation (token2token, reuse True, hidden_size left at 128 -> raised)
    ("abl_none_m2", 2, attention(project_target_query=False, project_target_key=False,
                                 project_target_value=False), False, None),
    ("abl_q_only_m2", 2, attention(project_target_key=False, project_target_value=False), False, None),
    ("abl_kv_only_m2", 2, attention(project_target_query=False), False, None),
    ("abl_no_key_noreuse_m2", 2, attention(project_target_key=False, reuse_target_query_as_key=False),
     False, None),
    ("abl_none_const_keys_m3", 3, attention(project_target_value=False, project_target_key=False,
                                           reuse_target_query_as_key=False, mode_query="constant",
                                           mode_keys="token"), False, None),
    # query_idx
    ("attn_query_idx1_m3", 3, attention(hidden_size=16, query_idx=1), False, None),
    ("attn_query_idx_str_m3", 3, attention(hidden_size=16, query_idx="mrpc"), False, None),
    # last n layers (L+1 = 4 hidden states)
    ("attn_last2_const_m2", 2, attention(hidden_size=16, use_outputs_from_last_n_layers=2, **CONST), False,
     "target"),
    ("attn_last3_t2t_m2", 2, attention(hidden_size=16, use_outputs_from_last_n_layers=3), False, None),
    ("attn_last2_forced_m2", 2, attention(hidden_size=16, use_outputs_from_last_n_layers=2,
                                          project_target_query=False, project_target_value=False), False, None),
    ("attn_last4_const_m1", 1, attention(hidden_size=16, use_outputs_from_last_n_layers=4, **CONST), False, None),
    # normalisation
    ("mean_norm_m2", 2, {"type": "mean"}, True, "target"),
    ("attn_const_norm_m2", 2, attention(hidden_size=16, **CONST), True, "target"),
    # explicit output size
    ("attn_out6_m2", 2, attention(hidden_size=16, output_size=6), False, None),
]


def main():
    hidden, mask = make_inputs()
    tensors = {"mask": mask}
    for m in MODEL_IDS:
        for layer, state in enumerate(hidden[m]):
            tensors[f"input.{m}.{layer}"] = state
    cases = []
    for seed, (name, n_models, aggregate, normalize, cossim_target) in enumerate(CASES):
        models = MODEL_IDS[:n_models]
        out, attn, cossim, module = ref_forward(hidden, models, aggregate, normalize, cossim_target, seed)
        tensors[f"{name}.out"] = out.detach().contiguous()
        if attn is not None:
            tensors[f"{name}.attn"] = attn.detach().contiguous()
        params = unique_params(module)
        for pname, p in params.items():
            tensors[f"{name}.param.{pname}"] = p.contiguous()
        ours = {("kind" if k == "type" else k): v for k, v in aggregate.items()}
        cases.append({
            "name": name,
            "models": models,
            "aggregate": aggregate,
            "ours": ours,
            "normalize": normalize,
            "cossim_target": cossim_target,
            "cossim": cossim,
            "params": sorted(params),
            "out_shape": list(out.shape),
        })
    os.makedirs(OUT_DIR, exist_ok=True)
    save_file(tensors, os.path.join(OUT_DIR, "aggregate_golden.safetensors"))
    with open(os.path.join(OUT_DIR, "cases.json"), "w") as f:
        json.dump({"torch": torch.__version__, "B": B, "T": T, "H": H, "L": L, "models": MODEL_IDS,
                   "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"{len(cases)} cases written to {OUT_DIR}")


if __name__ == "__main__":
    main()
