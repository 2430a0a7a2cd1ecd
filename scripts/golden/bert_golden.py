"""Golden outputs of transformers' BertModel for reprobe's BERT encoder (reprobe-models/src/encoders/bert.rs).

Run from the repository root (bash scripts/golden/bert_golden.sh sets up the Python):

    python scripts/golden/bert_golden.py

Writes crates/reprobe-models/tests/fixtures/bert/:
  tiny/          a random BertModel (3 layers, hidden 32, 4 heads, vocab 99, gelu), saved with save_pretrained
                 (model.safetensors, with its pooler) and, in tiny-bin/, as pytorch_model.bin (torch.save of the
                 state dict, the format transformers 4 wrote)
  tokcls/        a random BertForTokenClassification (weights under `bert.`, a `classifier.` head; gelu_new,
                 layer_norm_eps 1e-7) as safetensors; tokcls-bin/ as pytorch_model.bin with TensorFlow-era
                 names (LayerNorm.gamma/beta) and a `bert.embeddings.position_ids` buffer, as old checkpoints have
  resized/       tiny after resize_token_embeddings(110, mean_resizing=False) (vocab 110 in its config)
  *.golden.safetensors   input_ids [3, 12] (int64), attention_mask [3, 12] (int64), hidden.{0..L} [3, 12, H]
                         (eval mode, output_hidden_states=True; rows padded to 12 with id 0)
  minilm.golden.safetensors  all-MiniLM-L6-v2 (models/all-MiniLM-L6-v2, fetched by scripts/fetch-minilm.sh) on three
                         sentences tokenized with the `tokenizers` library from its tokenizer.json: input_ids,
                         attention_mask, hidden.{0..6} [3, T, 384]
Versions used for the committed fixtures: torch 2.15 (CPU), transformers 5.24, tokenizers 0.23.
"""
import os
import subprocess
import sys

import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer
from transformers import BertConfig, BertForTokenClassification, BertModel

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "crates", "reprobe-models", "tests", "fixtures", "bert")
MINILM = os.path.join(ROOT, "models", "all-MiniLM-L6-v2")

torch.set_num_threads(1)


def tiny_config(**kw):
    base = dict(vocab_size=99, hidden_size=32, num_hidden_layers=3, num_attention_heads=4,
                intermediate_size=37, max_position_embeddings=40, type_vocab_size=2,
                hidden_act="gelu", initializer_range=0.3)
    base.update(kw)
    return BertConfig(**base)


def inputs(vocab, seed):
    g = torch.Generator().manual_seed(seed)
    lengths = [12, 7, 3]
    ids = torch.zeros(3, 12, dtype=torch.long)
    mask = torch.zeros(3, 12, dtype=torch.long)
    for r, n in enumerate(lengths):
        ids[r, :n] = torch.randint(1, vocab, (n,), generator=g)
        mask[r, :n] = 1
    return ids, mask


def golden(model, ids, mask, name):
    model.eval()
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    tensors = {"input_ids": ids.contiguous(), "attention_mask": mask.contiguous()}
    for i, h in enumerate(out.hidden_states):
        tensors[f"hidden.{i}"] = h.float().contiguous()
    save_file(tensors, os.path.join(OUT, f"{name}.golden.safetensors"))
    print(name, "hidden states:", len(out.hidden_states), tuple(out.hidden_states[-1].shape))


def save_bin(state_dict, folder, config):
    os.makedirs(folder, exist_ok=True)
    config.save_pretrained(folder)
    torch.save({k: v.contiguous().clone() for k, v in state_dict.items()}, os.path.join(folder, "pytorch_model.bin"))


def main():
    os.makedirs(OUT, exist_ok=True)
    # A large init range so that the layers do not all look alike (with 0.02 the tiny model is near-linear).
    torch.manual_seed(1234)
    tiny = BertModel(tiny_config()).eval()
    tiny.save_pretrained(os.path.join(OUT, "tiny"))
    save_bin(tiny.state_dict(), os.path.join(OUT, "tiny-bin"), tiny.config)
    ids, mask = inputs(99, 1)
    golden(tiny, ids, mask, "tiny")

    torch.manual_seed(99)
    tokcls = BertForTokenClassification(tiny_config(num_labels=5, hidden_act="gelu_new", layer_norm_eps=1e-7)).eval()
    tokcls.save_pretrained(os.path.join(OUT, "tokcls"))
    sd = tokcls.state_dict()
    assert any(k.startswith("bert.") for k in sd) and any(k.startswith("classifier.") for k in sd), list(sd)[:5]
    old = {}
    for k, v in sd.items():
        k = k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        old[k] = v
    old["bert.embeddings.position_ids"] = torch.arange(40).unsqueeze(0)
    save_bin(old, os.path.join(OUT, "tokcls-bin"), tokcls.config)
    ids, mask = inputs(99, 2)
    golden(tokcls.bert, ids, mask, "tokcls")

    torch.manual_seed(1234)
    resized = BertModel(tiny_config()).eval()
    resized.resize_token_embeddings(110, mean_resizing=False)
    assert resized.config.vocab_size == 110
    resized.save_pretrained(os.path.join(OUT, "resized"))
    ids, mask = inputs(110, 3)
    ids[0, :4] = torch.tensor([99, 105, 109, 100])  # new rows are used
    golden(resized, ids, mask, "resized")

    # all-MiniLM-L6-v2, a real checkpoint.
    if not os.path.exists(os.path.join(MINILM, "model.safetensors")):
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "fetch-minilm.sh")], check=True,
                       env=dict(os.environ, PYTHON=sys.executable))
    tok = Tokenizer.from_file(os.path.join(MINILM, "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    sentences = ["Hello world!", "The cat sat on the mat.", "Coreference links mentions."]
    encs = [tok.encode(s) for s in sentences]
    assert encs[0].ids[:3] == [101, 7592, 2088], encs[0].ids  # [CLS] hello world
    assert encs[1].ids[1] == 1996 and encs[1].ids[-1] == 102, encs[1].ids  # the ... [SEP]
    t = max(len(e.ids) for e in encs)
    ids = torch.zeros(len(encs), t, dtype=torch.long)
    mask = torch.zeros(len(encs), t, dtype=torch.long)
    for r, e in enumerate(encs):
        ids[r, :len(e.ids)] = torch.tensor(e.ids)
        mask[r, :len(e.ids)] = 1
    print("minilm tokens:", [e.tokens for e in encs])
    minilm = BertModel.from_pretrained(MINILM).eval()
    golden(minilm, ids, mask, "minilm")


if __name__ == "__main__":
    main()
