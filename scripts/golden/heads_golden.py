#!/usr/bin/env python3
"""Golden outputs of the token and sequence classification heads (reprobe-models/src/heads/
token_classification.rs, sequence_classification.rs) computed with torch.nn, in float64, evaluation mode.

  token        embeddings [B, T, H] -> nn.Dropout (eval) -> nn.Linear(H, L) = logits [B, T, L];
               loss nn.CrossEntropyLoss(ignore_index=-100) over labels [B, T] with ignored positions
  seq_pooler   embeddings[:, 0] -> transformers' BertPooler (tanh(Linear(H, H)) of [CLS]) -> nn.Dropout (eval)
               -> nn.Linear(H, L) = logits [B, L]; loss nn.CrossEntropyLoss() over labels [B]
  seq_plain    the same without the pooler (the reference's relation-classification head, SPEC §5)

For each case: the logits, the loss and the gradients of the loss with respect to every head parameter and
to the embeddings. Weights are drawn larger than the N(0, 0.02) init (std 0.5, biases N(0, 0.1)) so that the
logits differ visibly.

Writes crates/reprobe-models/tests/fixtures/heads/heads.safetensors:
  input.embeddings [2, 5, 8], input.token_labels [2, 5] (int64, -100 = ignored), input.seq_labels [2] (int64)
  {case}.head.<param>            the head's parameters under their ParamStore names
  {case}.expected.logits / .loss ([1])
  {case}.grad.head.<param>, {case}.grad.embeddings
and heads.json (sizes, versions).

Run:  /work/venv/bin/python scripts/golden/heads_golden.py   (torch, transformers, safetensors)
"""
import json
import os

import torch
from safetensors.torch import save_file
from torch import nn
import transformers
from transformers import BertConfig
from transformers.models.bert.modeling_bert import BertPooler

torch.set_default_dtype(torch.float64)
torch.manual_seed(1234)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, "crates", "reprobe-models", "tests", "fixtures", "heads")

B, T, H, L = 2, 5, 8, 4


def init_linear(linear):
    with torch.no_grad():
        linear.weight.normal_(0.0, 0.5)
        linear.bias.normal_(0.0, 0.1)


embeddings = torch.randn(B, T, H)
token_labels = torch.tensor([[-100, 1, 3, 0, -100], [-100, 2, -100, -100, -100]], dtype=torch.long)
seq_labels = torch.tensor([3, 1], dtype=torch.long)

out = {
    "input.embeddings": embeddings.clone(),
    "input.token_labels": token_labels,
    "input.seq_labels": seq_labels,
}


def record(case, params, logits, loss, emb):
    """params: ParamStore name -> nn.Parameter."""
    grads = torch.autograd.grad(loss, list(params.values()) + [emb])
    for (name, p), g in zip(params.items(), grads):
        out[f"{case}.{name}"] = p.detach().clone()
        out[f"{case}.grad.{name}"] = g.clone()
    out[f"{case}.grad.embeddings"] = grads[-1].clone()
    out[f"{case}.expected.logits"] = logits.detach().clone()
    out[f"{case}.expected.loss"] = loss.detach().reshape(1).clone()


# token classification
emb = embeddings.clone().requires_grad_(True)
dropout = nn.Dropout(0.1).eval()
classifier = nn.Linear(H, L)
init_linear(classifier)
logits = classifier(dropout(emb))  # [B, T, L]
loss = nn.CrossEntropyLoss(ignore_index=-100)(logits.reshape(-1, L), token_labels.reshape(-1))
record("token", {"head.classifier.weight": classifier.weight, "head.classifier.bias": classifier.bias},
       logits, loss, emb)

# sequence classification with and without the pooler
for case, with_pooler in [("seq_pooler", True), ("seq_plain", False)]:
    emb = embeddings.clone().requires_grad_(True)
    classifier = nn.Linear(H, L)
    init_linear(classifier)
    params = {}
    if with_pooler:
        pooler = BertPooler(BertConfig(hidden_size=H))
        init_linear(pooler.dense)
        pooled = pooler(emb)  # tanh(dense(emb[:, 0]))  [B, H]
        params["head.pooler.dense.weight"] = pooler.dense.weight
        params["head.pooler.dense.bias"] = pooler.dense.bias
    else:
        pooled = emb[:, 0]
    logits = classifier(nn.Dropout(0.1).eval()(pooled))  # [B, L]
    loss = nn.CrossEntropyLoss()(logits, seq_labels)
    params["head.classifier.weight"] = classifier.weight
    params["head.classifier.bias"] = classifier.bias
    record(case, params, logits, loss, emb)

os.makedirs(OUT_DIR, exist_ok=True)
save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(OUT_DIR, "heads.safetensors"))
with open(os.path.join(OUT_DIR, "heads.json"), "w") as f:
    json.dump({"B": B, "T": T, "H": H, "L": L, "cases": ["token", "seq_pooler", "seq_plain"],
               "torch": torch.__version__, "transformers": transformers.__version__}, f, indent=2)
    f.write("\n")
print("wrote", OUT_DIR)
