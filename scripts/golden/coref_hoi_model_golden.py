#!/usr/bin/env python3
"""Golden outputs of the coref head from the ORIGINAL coref-hoi code (`../shared/reference/coref-hoi/model.py`,
lxucs/coref-hoi at 5ddfc3b, Apache-2.0), for `crates/reprobe-models/tests/coref_golden.rs`.

The reference's `CorefModel` is imported and run as it is, on CPU, in evaluation mode (no dropout), in float64.
Only its encoder is replaced: `BertModel.from_pretrained` returns a stub whose output is the fixture's tiny
"encoder output" (the document's subtoken embeddings, padded into segments as the reference's batch is), so
everything from `mention_doc[input_mask]` on is the reference's own code. Intermediate values the reference
does not return (the selected candidate indices, top-span gold labels, coarse and fine scores, the antecedent
mask) are read from the locals of `get_predictions_and_loss` when it returns (a `sys.setprofile` hook);
the number of candidates rejected for crossing is counted by watching `_extract_top_spans` iterate over the
sorted candidates. Decoding is the reference's `get_predicted_clusters`.

The tiny weights and inputs are those of the fixtures, kept as data: they were drawn (random weights larger than
the reference's N(0, 0.02) init so that decisions have margins; nested gold, a gold mention wider than
max_span_width, three segments; case2 with fewer non-crossing spans than K, so that the reference pads) by an
earlier script written from the spec, `scripts/golden/coref_golden.py` in the git history, whose expected values
this script replaced. The reference agrees with them to the last bit on every value (the gradient of the
document to 7e-15). This script reads `<case>.weights.safetensors`, `input.doc` of
`<case>.tensors.safetensors` and the config, inputs and gold of `<case>.json`, runs the reference, and rewrites
`expected.*` of the tensors file and `expected` of the JSON. The script checks that every decision of the reference run has a margin
(mention scores and the coarse scores that choose the top antecedents at least 1e-4 apart), so the Rust head in
f32 must make the same decisions.

Per case it runs the reference four times: the configured marginalized loss (with gradients of the loss with
respect to the document embeddings and every parameter), the hinge loss, the marginalized loss plus a mention
loss of coefficient 0.5, and `fine_grained = False` (the coarse scores alone as antecedent scores).

Run:  /work/venv/bin/python scripts/golden/coref_hoi_model_golden.py
(needs torch, transformers (imported by model.py), numpy and safetensors.)
"""
import collections
import collections.abc
import json
import os
import sys
import types

import numpy as np
import torch
from safetensors.torch import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REFERENCE = os.path.join(os.path.dirname(ROOT), "shared", "reference", "coref-hoi")
FIXTURES = os.path.join(ROOT, "crates", "reprobe-models", "tests", "fixtures", "coref")

# model.py is from 2020: `from collections import Iterable` (moved to collections.abc in Python 3.10) and util.py
# imports pyhocon for its config reader, which is not used here.
collections.Iterable = collections.abc.Iterable
sys.modules.setdefault("pyhocon", types.ModuleType("pyhocon"))
sys.path.insert(0, REFERENCE)
import model as reference  # noqa: E402

torch.set_default_dtype(torch.float64)


class StubEncoder(torch.nn.Module):
    """Stands in for `BertModel`: returns the padded document embeddings it is given."""

    hidden_size = None

    def __init__(self):
        super().__init__()
        self.config = types.SimpleNamespace(hidden_size=StubEncoder.hidden_size)
        self.output = None

    @classmethod
    def from_pretrained(cls, _name):
        return cls()

    def forward(self, input_ids, attention_mask):
        assert self.output.shape[:2] == input_ids.shape == attention_mask.shape
        return self.output, None


reference.BertModel = StubEncoder


def reference_config(ours):
    """coref-hoi's config keys from ours (SPEC §3.9 uses the reference's names)."""
    keys = ["max_span_width", "top_span_ratio", "max_num_extracted_spans", "max_top_antecedents", "ffnn_size",
            "ffnn_depth", "feature_emb_size", "dropout_rate", "loss_type", "mention_loss_coef", "false_new_delta",
            "coref_depth", "fine_grained", "use_metadata", "use_features", "use_segment_distance", "model_heads",
            "use_width_prior", "use_distance_prior", "max_training_sentences"]
    cfg = {k: ours[k] for k in keys}
    cfg.update(higher_order="attended_antecedent", max_segment_len=512, bert_pretrained_name_or_path="stub",
               cluster_ffnn_size=1)
    return cfg


class Run:
    """One call of the reference's `get_predictions_and_loss`, with its locals at return."""

    def __init__(self, model, args):
        self.locals = {}
        self.visited = []
        extract = type(model)._extract_top_spans
        run = self

        class Watched(list):
            def __iter__(self):
                for c in list.__iter__(self):
                    run.visited.append(c)
                    yield c

        def watched_extract(sorted_idx, starts, ends, k):
            return extract(model, Watched(sorted_idx), starts, ends, k)

        def profile(frame, event, _arg):
            if event == "return" and frame.f_code is reference.CorefModel.get_predictions_and_loss.__code__:
                run.locals = dict(frame.f_locals)

        model._extract_top_spans = watched_extract
        sys.setprofile(profile)
        try:
            self.outputs, self.loss = model(*args)
        finally:
            sys.setprofile(None)
            del model._extract_top_spans

    def crossing_rejections(self):
        """Candidates the reference looked at and did not keep (they cross a kept one) before it had K."""
        k = self.locals["num_top_spans"]
        selected = set(self.locals["selected_idx_cpu"])
        kept = rejected = 0
        for c in self.visited:
            if kept >= k:
                break  # the loop's `break`: this one was fetched but not looked at
            if c in selected:
                kept += 1
            else:
                rejected += 1
        return rejected


def margins_ok(run):
    """Every decision of the run has a margin: the pruning order, the top-A choice, the dummy comparison."""
    mention = sorted(run.locals["candidate_mention_scores"].tolist(), reverse=True)
    if any(abs(x - y) < 1e-4 for x, y in zip(mention, mention[1:])):
        return "mention scores closer than 1e-4"
    fast = run.locals["pairwise_fast_scores"].tolist()
    starts, ends = run.locals["top_span_starts"].tolist(), run.locals["top_span_ends"].tolist()
    spans = list(zip(starts, ends))
    for i in range(len(spans)):
        row = sorted(((fast[i][j], spans[j]) for j in range(i)), reverse=True)
        for (x, sx), (y, sy) in zip(row, row[1:]):
            # exact copies of one span (the reference's padding) may tie: their order changes nothing
            if abs(x - y) < 1e-4 and not (sx == sy and x == y):
                return f"coarse scores of row {i} closer than 1e-4"
    scores = run.outputs[6][:, 1:].flatten().tolist()
    if any(0 < abs(v) < 1e-4 for v in scores if v != float("-inf")):
        return "an antecedent score within 1e-4 of the dummy's 0"
    return None


def run_case(name):
    with open(os.path.join(FIXTURES, f"{name}.json")) as fh:
        record = json.load(fh)
    ours = record["config"]
    assert ours["loss_type"] == "marginalized", "the hinge and mention losses are run as variants"
    hidden = record["hidden_size"]
    inputs, gold = record["inputs"], record["gold"]
    weights = load_file(os.path.join(FIXTURES, f"{name}.weights.safetensors"))
    doc = load_file(os.path.join(FIXTURES, f"{name}.tensors.safetensors"))["input.doc"]  # [N, H]

    StubEncoder.hidden_size = hidden
    model = reference.CorefModel(reference_config(ours), torch.device("cpu"), num_genres=ours["num_genres"])
    model.load_state_dict({k[len("head."):]: v for k, v in weights.items()}, strict=True)
    model.eval()
    model.debug = False

    # The document as the reference's batch: segments padded to the longest, real subtokens masked in.
    seg_of = inputs["segment_of_token"]
    num_segs = max(seg_of) + 1
    lengths = [seg_of.count(s) for s in range(num_segs)]
    seg_len = max(lengths)
    mask = torch.zeros(num_segs, seg_len, dtype=torch.long)
    for s, n in enumerate(lengths):
        mask[s, :n] = 1
    real = mask.to(torch.bool)
    padded = torch.zeros(num_segs, seg_len, hidden)
    padded[real] = doc
    padded.requires_grad_(True)
    speakers = torch.zeros(num_segs, seg_len, dtype=torch.long)
    speakers[real] = torch.tensor(inputs["speaker_ids"])
    model.bert.output = padded
    args = (
        torch.zeros(num_segs, seg_len, dtype=torch.long),  # input_ids (the stub ignores them)
        mask,
        speakers,
        torch.tensor(lengths),  # sentence_len (unused by the model)
        torch.tensor(inputs["genre"]),
        torch.tensor(inputs["sentence_map"]),
        False,  # is_training
        torch.tensor([s for s, _ in gold["spans"]]),
        torch.tensor([e for _, e in gold["spans"]]),
        torch.tensor(gold["cluster_ids"]),
    )

    main = Run(model, args)
    why = margins_ok(main)
    if why:
        raise SystemExit(f"{name}: the fixture's decisions have no margin in the reference run: {why}")
    model.zero_grad()
    main.loss.backward()
    grad_doc = padded.grad[real].clone()
    loc = main.locals
    cand_starts, cand_ends, cand_scores, top_starts, top_ends, ant_idx, ant_scores = main.outputs
    selected = list(loc["selected_idx_cpu"])
    num_selected = len(set(selected))
    padded_count = len(selected) - num_selected
    if not ours["pad_top_spans"] and padded_count:
        raise SystemExit(f"{name}: the reference padded {padded_count} top spans; the case must not need padding")

    def variant(**changes):
        saved = dict(model.config)
        model.config.update(changes)
        try:
            with torch.no_grad():
                return Run(model, args)
        finally:
            model.config.clear()
            model.config.update(saved)

    hinge = variant(loss_type="hinge").loss.item()
    with_mention = variant(mention_loss_coef=0.5).loss.item()
    coarse = variant(fine_grained=False).outputs[6]

    clusters, _, predicted = model.get_predicted_clusters(
        top_starts.tolist(), top_ends.tolist(), ant_idx.tolist(), ant_scores.detach().numpy())

    tensors = {
        "input.doc": doc.contiguous(),
        "expected.candidate_mention_scores": cand_scores.detach().contiguous(),
        "expected.top_mention_scores": loc["top_span_mention_scores"].detach().contiguous(),
        "expected.antecedent_scores": ant_scores.detach().contiguous(),
        "expected.coarse_scores": loc["top_pairwise_fast_scores"].detach().contiguous(),
        "expected.fine_scores": loc["top_pairwise_slow_scores"].detach().contiguous(),
        "expected.coarse_only_antecedent_scores": coarse.detach().contiguous(),
        "expected.grad.doc": grad_doc.contiguous(),
    }
    for k, v in model.named_parameters():
        if v.grad is not None:
            tensors[f"expected.grad.head.{k}"] = v.grad.contiguous()
    save_file(tensors, os.path.join(FIXTURES, f"{name}.tensors.safetensors"))

    record["oracle"] = ("coref-hoi model.py (lxucs/coref-hoi 5ddfc3b), CorefModel.get_predictions_and_loss with a "
                        "stub encoder, eval mode, float64; scripts/golden/coref_hoi_model_golden.py")
    record["expected"] = {
        "candidates": list(zip(cand_starts.tolist(), cand_ends.tolist())),
        "top_span_indices": selected,
        "top_spans": list(zip(top_starts.tolist(), top_ends.tolist())),
        "top_span_labels": loc["top_span_cluster_ids"].tolist(),
        "antecedent_indices": ant_idx.tolist(),
        "antecedent_mask": loc["top_antecedent_mask"].tolist(),
        "loss_marginalized": main.loss.item(),
        "loss_hinge": hinge,
        "loss_marginalized_plus_mention_0_5": with_mention,
        "predicted_antecedents": [int(a) for a in predicted],
        "clusters": [[list(m) for m in c] for c in clusters],
        "crossing_rejections": main.crossing_rejections(),
        "padded": padded_count,
    }
    with open(os.path.join(FIXTURES, f"{name}.json"), "w") as fh:
        json.dump(record, fh, indent=1)
    print(f"{name}: N={doc.shape[0]}, C={len(cand_starts)}, K={len(selected)} ({padded_count} padded), "
          f"A={ant_idx.shape[1]}, crossing rejections {record['expected']['crossing_rejections']}, "
          f"loss {main.loss.item():.9f}, hinge {hinge:.9f}, +mention {with_mention:.9f}, clusters {clusters}")


def main():
    for name in ["case1", "case2"]:
        run_case(name)


if __name__ == "__main__":
    main()
