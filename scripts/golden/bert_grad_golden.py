"""Gradients of transformers' BertModel, the oracle for the backward pass of reprobe's tuned BERT encoder
(reprobe-models/src/encoders/bert.rs and its fused kernels in src/ops/).

Run from the repository root after scripts/golden/bert_golden.py (it reads the fixture models that script wrote):

    python scripts/golden/bert_grad_golden.py

For the fixture models tiny/ (gelu, layer_norm_eps 1e-12) and tokcls/ (gelu_new, 1e-7, weights under `bert.`),
in evaluation mode (no dropout) with gradients on, on the inputs of tiny.golden.safetensors plus segment ids
(0 on the first half of each row, 1 after): the loss sum_i sum(hidden_i * weight_i) over every hidden state
(weight_i ~ N(0, 1), seeded), and its gradient for every encoder parameter (the pooler is not used).

Writes crates/reprobe-models/tests/fixtures/bert/{tiny,tokcls}.grad.golden.safetensors: input_ids, attention_mask,
token_type_ids [3, 12] (int64), weight.{0..L} [3, 12, H], loss [1], grad.<HF name without `bert.`> for each
parameter.
Versions used for the committed fixtures: torch 2.15 (CPU), transformers 5.24.
"""
import os

import torch
from safetensors.torch import load_file, save_file
from transformers import BertModel

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "crates", "reprobe-models", "tests", "fixtures", "bert")

torch.set_num_threads(1)


def grad_golden(name):
    model = BertModel.from_pretrained(os.path.join(FIXTURES, name), add_pooling_layer=False).eval()
    inputs = load_file(os.path.join(FIXTURES, "tiny.golden.safetensors"))
    ids, mask = inputs["input_ids"], inputs["attention_mask"]
    types = torch.zeros_like(ids)
    types[:, ids.shape[1] // 2:] = 1
    out = model(input_ids=ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True)
    g = torch.Generator().manual_seed(7)
    weights = [torch.randn(h.shape, generator=g) for h in out.hidden_states]
    loss = sum((h * w).sum() for h, w in zip(out.hidden_states, weights))
    loss.backward()
    tensors = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types,
               "loss": loss.detach().reshape(1)}
    for i, w in enumerate(weights):
        tensors[f"weight.{i}"] = w.contiguous()
    for pname, p in model.named_parameters():
        tensors[f"grad.{pname}"] = p.grad.contiguous()
    save_file(tensors, os.path.join(FIXTURES, f"{name}.grad.golden.safetensors"))
    print(name, "loss", float(loss), "gradients:", sum(k.startswith("grad.") for k in tensors))


def main():
    for name in ["tiny", "tokcls"]:
        grad_golden(name)


if __name__ == "__main__":
    main()
