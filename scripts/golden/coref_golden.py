#!/usr/bin/env python3
"""Golden outputs of the coref-hoi head (SPEC §3.3-3.5) for the Rust `CorefHead`.

A plain PyTorch re-implementation, written from SPEC §3.3-3.5 (which follows `lxucs/coref-hoi` `model.py`,
`get_predictions_and_loss`, with `coref_depth = 1`): candidate spans, span representations with the
attention-weighted head, mention scores with the width prior, greedy non-crossing top-span pruning, coarse
bilinear scores with the distance prior, top-A antecedents, fine pair scores with speaker / genre / segment
distance / antecedent distance features, the marginalized loss (also the hinge loss and the mention loss),
greedy clustering. Evaluation mode (no dropout), float64 throughout, so the Rust side can be checked in f64
to ~1e-9 and in f32 to ~1e-5.

Choices where the reference leaves something open (stated in SPEC §9.13, mirrored by the Rust head):
argsort ties go to the lower candidate index (a stable sort); topk ties among masked (-inf) entries are not
compared (only the real antecedents are).

Weights: the reference initialises with N(0, 0.02); with such small weights every score is nearly equal and
the pruning decisions would hinge on rounding, so the fixtures use larger random weights (std
1/sqrt(fan_in), biases N(0, 0.1), embeddings N(0, 0.5)) and the script re-draws until the decisions have
margins (mention scores and top-A antecedent scores at least 1e-4 apart where they decide something).

Cases:
  case1: N = 40 subtokens in 3 segments (7 sentences, CLS/SEP as in SPEC §6.3), H = 16, ffnn 24, feature
         4, max width 5, max_training_sentences 2 (so segment distances are clamped), gold clusters with
         nested spans and one gold mention longer than the max width; K = 16, A = 16 (max_top_antecedents
         50); at least one candidate is rejected for crossing.
  case2: the reference's padding (SPEC §9.13, compat `pad_top_spans`): N = 12, top_span_ratio 2.5 so that
         fewer non-crossing spans exist than K = 30, max_top_antecedents 8.

Writes crates/reprobe-models/tests/fixtures/coref/<case>.weights.safetensors (the head's parameters under
their `head.` names), <case>.tensors.safetensors (input.doc, expected.* scores and gradients) and
<case>.json (config, inputs, gold, expected integers and losses).

Run:  /root/venv-golden/bin/python scripts/golden/coref_golden.py
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
OUT_DIR = os.path.join(ROOT, "crates", "reprobe-models", "tests", "fixtures", "coref")
NEG_INF = float("-inf")


def bucket_distance(d):
    """SPEC §3.3: d for d <= 4, else min(9, floor(log2 d) + 3); d <= 0 -> 0."""
    out = torch.zeros_like(d)
    small = d <= 4
    out[small] = d[small]
    big = ~small
    out[big] = torch.floor(torch.log2(d[big].to(torch.float64))).to(torch.long) + 3
    return out.clamp(0, 9)


class Head(nn.Module):
    """The coref-hoi head with parameter names as in coref-hoi (prefix `head.` added on export)."""

    def __init__(self, cfg, hidden):
        super().__init__()
        self.cfg = cfg
        f = cfg["feature_emb_size"]
        w = cfg["max_span_width"]
        self.span_emb_size = 3 * hidden + f
        self.pair_emb_size = 3 * self.span_emb_size + 4 * f
        self.dropout = nn.Dropout(cfg["dropout_rate"])
        emb = lambda rows: nn.Embedding(rows, f)  # noqa: E731
        self.emb_span_width = emb(w)
        self.emb_span_width_prior = emb(w)
        self.emb_antecedent_distance_prior = emb(10)
        self.emb_genre = emb(cfg["num_genres"])
        self.emb_same_speaker = emb(2)
        self.emb_segment_distance = emb(cfg["max_training_sentences"])
        self.emb_top_antecedent_distance = emb(10)
        self.mention_token_attn = nn.Linear(hidden, 1)
        self.span_emb_score_ffnn = self.ffnn(self.span_emb_size)
        self.span_width_score_ffnn = self.ffnn(f)
        self.coarse_bilinear = nn.Linear(self.span_emb_size, self.span_emb_size)
        self.antecedent_distance_score_ffnn = nn.Linear(f, 1)
        self.coref_score_ffnn = self.ffnn(self.pair_emb_size)

    def ffnn(self, in_dim):
        size = self.cfg["ffnn_size"]
        return nn.Sequential(nn.Linear(in_dim, size), nn.ReLU(), self.dropout, nn.Linear(size, 1))

    def randomize(self, gen):
        for name, p in self.named_parameters():
            with torch.no_grad():
                if "emb_" in name:
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
                elif name.endswith("bias"):
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
                else:
                    p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[1]))

    def forward(self, doc, sentence_map, speaker_ids, segment_of_token, genre, gold_starts, gold_ends, gold_ids,
                loss_type="marginalized", mention_loss_coef=0.0):
        cfg = self.cfg
        n = doc.shape[0]
        width_max = cfg["max_span_width"]
        # candidates, row-major by start then width
        starts = torch.arange(n).unsqueeze(1).repeat(1, width_max)
        ends = starts + torch.arange(width_max)
        same = sentence_map[starts] == sentence_map[torch.clamp(ends, max=n - 1)]
        keep = (ends < n) & same
        cand_starts, cand_ends = starts[keep], ends[keep]
        c = cand_starts.shape[0]
        # labels by equality matrices
        same_span = (gold_starts.unsqueeze(1) == cand_starts.unsqueeze(0)) & (gold_ends.unsqueeze(1) == cand_ends.unsqueeze(0))
        cand_labels = (gold_ids.unsqueeze(0).to(torch.float64) @ same_span.to(torch.float64)).squeeze(0).to(torch.long)
        # span embeddings
        width_idx = cand_ends - cand_starts
        width_emb = self.dropout(self.emb_span_width(width_idx))
        tokens = torch.arange(n).unsqueeze(0).repeat(c, 1)
        tok_mask = (tokens >= cand_starts.unsqueeze(1)) & (tokens <= cand_ends.unsqueeze(1))
        alpha = self.mention_token_attn(doc).squeeze(1)
        attn = torch.softmax(torch.log(tok_mask.to(torch.float64)) + alpha.unsqueeze(0), dim=1)
        head_emb = attn @ doc
        g_all = torch.cat([doc[cand_starts], doc[cand_ends], width_emb, head_emb], dim=1)
        mention = self.span_emb_score_ffnn(g_all).squeeze(1)
        width_score = self.span_width_score_ffnn(self.emb_span_width_prior.weight).squeeze(1)
        mention = mention + width_score[width_idx]
        # pruning: stable descending order, non-crossing greedy
        k = int(min(cfg["max_num_extracted_spans"], cfg["top_span_ratio"] * n))
        scores_list = mention.tolist()
        order = sorted(range(c), key=lambda i: (-scores_list[i], i))
        cs, ce = cand_starts.tolist(), cand_ends.tolist()
        selected, crossing_rejections = [], 0
        start_to_max_end, end_to_min_start = {}, {}
        for ci in order:
            if len(selected) >= k:
                break
            s, e = cs[ci], ce[ci]
            cross = False
            for t in range(s, e + 1):
                if t > s and start_to_max_end.get(t, -1) > e:
                    cross = True
                    break
                if t < e and 0 <= end_to_min_start.get(t, -1) < s:
                    cross = True
                    break
            if cross:
                crossing_rejections += 1
                continue
            selected.append(ci)
            if e > start_to_max_end.get(s, -1):
                start_to_max_end[s] = e
            if end_to_min_start.get(e, -1) == -1 or s < end_to_min_start[e]:
                end_to_min_start[e] = s
        selected.sort(key=lambda i: (cs[i], ce[i]))
        padded = 0
        if cfg["pad_top_spans"] and len(selected) < k:
            padded = k - len(selected)
            selected += [selected[0]] * padded
        k = len(selected)
        sel = torch.tensor(selected)
        top_starts, top_ends = cand_starts[sel], cand_ends[sel]
        g = g_all[sel]
        top_labels = cand_labels[sel]
        top_mention = mention[sel]
        # coarse
        a = min(k, cfg["max_top_antecedents"])
        rng = torch.arange(k)
        offsets = rng.unsqueeze(1) - rng.unsqueeze(0)
        ant_mask = offsets >= 1
        fast = top_mention.unsqueeze(1) + top_mention.unsqueeze(0)
        fast = fast + self.dropout(self.coarse_bilinear(g)) @ self.dropout(g.t())
        fast = fast + torch.log(ant_mask.to(torch.float64))
        dist_score = self.antecedent_distance_score_ffnn(self.dropout(self.emb_antecedent_distance_prior.weight)).squeeze(1)
        fast = fast + dist_score[bucket_distance(offsets)]
        top_fast, ant_idx = torch.topk(fast, k=a)
        top_ant_mask = torch.gather(ant_mask, 1, ant_idx)
        top_ant_off = torch.gather(offsets, 1, ant_idx)
        # fine
        top_spk = speaker_ids[top_starts]
        same_spk = (top_spk.unsqueeze(1) == top_spk[ant_idx]).to(torch.long)
        seg = segment_of_token[top_starts]
        seg_d = torch.clamp(seg.unsqueeze(1) - seg[ant_idx], 0, cfg["max_training_sentences"] - 1)
        feats = torch.cat([
            self.emb_same_speaker(same_spk),
            self.emb_genre(torch.tensor(genre)).view(1, 1, -1).repeat(k, a, 1),
            self.emb_segment_distance(seg_d),
            self.emb_top_antecedent_distance(bucket_distance(top_ant_off)),
        ], dim=2)
        feats = self.dropout(feats)
        target = g.unsqueeze(1).repeat(1, a, 1)
        ant_emb = g[ant_idx]
        pair = torch.cat([target, ant_emb, target * ant_emb, feats], dim=2)
        slow = self.coref_score_ffnn(pair).squeeze(2)
        scores = torch.cat([torch.zeros(k, 1), slow + top_fast], dim=1)
        # gold
        ant_labels = top_labels[ant_idx] + (top_ant_mask.to(torch.long) - 1) * 100000
        pair_gold = (ant_labels == top_labels.unsqueeze(1)) & (top_labels > 0).unsqueeze(1)
        dummy_gold = ~pair_gold.any(dim=1, keepdim=True)
        gold = torch.cat([dummy_gold, pair_gold], dim=1)
        if loss_type == "marginalized":
            loss = (torch.logsumexp(scores, 1) - torch.logsumexp(scores + torch.log(gold.to(torch.float64)), 1)).sum()
        else:
            full_mask = torch.cat([torch.ones(k, 1, dtype=torch.bool), top_ant_mask], dim=1)
            s2 = scores + torch.log(full_mask.to(torch.float64))
            best, best_idx = torch.max(s2, dim=1)
            best_gold, best_gold_idx = torch.max(s2 + torch.log(gold.to(torch.float64)), dim=1)
            slack = 1 + best - best_gold
            delta = (3 - cfg["false_new_delta"]) / 2 * torch.ones(k)
            false_new = (best_idx == 0) & ~dummy_gold.squeeze(1)
            delta = delta - (1 - cfg["false_new_delta"]) * false_new.to(torch.float64)
            delta = delta * (best_idx != best_gold_idx).to(torch.float64)
            loss = (slack * delta).sum()
        if mention_loss_coef:
            lm = -torch.log(torch.sigmoid(top_mention[top_labels > 0])).sum() * mention_loss_coef
            lm = lm - torch.log(1 - torch.sigmoid(top_mention[top_labels == 0])).sum() * mention_loss_coef
            loss = loss + lm
        return dict(
            candidates=list(zip(cs, ce)), mention=mention, selected=selected, top_spans=list(zip(top_starts.tolist(), top_ends.tolist())),
            top_labels=top_labels.tolist(), top_mention=top_mention, ant_idx=ant_idx, ant_mask=top_ant_mask, scores=scores,
            top_fast=top_fast, fast=fast.tolist(), loss=loss, crossing_rejections=crossing_rejections, padded=padded, k=k, a=a,
        )


def decode(ant_idx, scores, top_spans):
    ant = []
    for i, row in enumerate(scores.tolist()):
        best = max(range(len(row)), key=lambda c: (row[c], -c))  # first maximum
        ant.append(-1 if best == 0 else int(ant_idx[i][best - 1]))
    clusters, cluster_of = [], {}
    for i, j in enumerate(ant):
        if j < 0:
            continue
        antecedent = top_spans[j]
        if antecedent not in cluster_of:
            cluster_of[antecedent] = len(clusters)
            clusters.append([antecedent])
        cid = cluster_of[antecedent]
        clusters[cid].append(top_spans[i])
        cluster_of[top_spans[i]] = cid
    return ant, clusters


def segments_to_inputs(segments):
    """segments: list of (speaker of each sentence, sentence lengths). CLS/SEP and sentence ids as SPEC §6.3."""
    sentence_map, speakers, seg_of = [], [], []
    sent = 0
    for si, sents in enumerate(segments):
        sentence_map.append(sent)
        speakers.append(1)  # [SPL]
        seg_of.append(si)
        for speaker, length in sents:
            for t in range(length):
                sentence_map.append(sent)
                speakers.append(speaker)
                seg_of.append(si)
            sent += 1
        sentence_map.append(sent)
        speakers.append(1)
        seg_of.append(si)
    return sentence_map, speakers, seg_of


def margins_ok(out, cfg):
    """True when every decision of the run has a margin: pruning order and top-A selection."""
    m = sorted(out["mention"].tolist(), reverse=True)
    if any(abs(x - y) < 1e-4 for x, y in zip(m, m[1:])):
        return False
    # Among the real antecedents of a row, near-ties are only allowed between exact copies of one span
    # (the padding of case2), whose order cannot change any score, loss or cluster. The full fast-score
    # rows are checked, since they decide which A antecedents are kept.
    spans = out["top_spans"]
    fast = out["fast"]
    for i in range(out["k"]):
        row = sorted(((fast[i][j], spans[j]) for j in range(i)), reverse=True)
        for (x, sx), (y, sy) in zip(row, row[1:]):
            if abs(x - y) < 1e-4 and not (sx == sy and x == y):
                return False
    # the decisive comparison against the dummy (score 0)
    if any(0 < abs(v) < 1e-4 for v in out["scores"][:, 1:].flatten().tolist() if v != NEG_INF):
        return False
    return True


def run_case(name, cfg, hidden, segments, genre, gold_clusters, seed_from, want):
    sentence_map, speakers, seg_of = segments_to_inputs(segments)
    n = len(sentence_map)
    gold_spans = [m for c in gold_clusters for m in c]
    gold_ids = [i + 1 for i, c in enumerate(gold_clusters) for _ in c]
    for seed in range(seed_from, seed_from + 500):
        gen = torch.Generator().manual_seed(seed)
        head = Head(cfg, hidden)
        head.randomize(gen)
        head.eval()
        doc = torch.randn(n, hidden, generator=gen)
        args = (torch.tensor(sentence_map), torch.tensor(speakers), torch.tensor(seg_of), genre,
                torch.tensor([s for s, _ in gold_spans]), torch.tensor([e for _, e in gold_spans]), torch.tensor(gold_ids))
        doc_var = doc.clone().requires_grad_(True)
        out = head(doc_var, *args)
        if not margins_ok(out, cfg) or not want(out):
            continue
        head.zero_grad()
        out["loss"].backward()
        with torch.no_grad():
            hinge = head(doc, *args, loss_type="hinge")["loss"].item()
            with_mention = head(doc, *args, mention_loss_coef=0.5)["loss"].item()
        ant, clusters = decode(out["ant_idx"].tolist(), out["scores"], out["top_spans"])
        os.makedirs(OUT_DIR, exist_ok=True)
        weights = {f"head.{k}": v.detach().clone().contiguous() for k, v in head.named_parameters()}
        save_file(weights, os.path.join(OUT_DIR, f"{name}.weights.safetensors"))
        tensors = {
            "input.doc": doc.contiguous(),
            "expected.candidate_mention_scores": out["mention"].detach().contiguous(),
            "expected.top_mention_scores": out["top_mention"].detach().contiguous(),
            "expected.antecedent_scores": out["scores"].detach().contiguous(),
            "expected.grad.doc": doc_var.grad.contiguous(),
        }
        for k, v in head.named_parameters():
            if v.grad is not None:
                tensors[f"expected.grad.head.{k}"] = v.grad.contiguous()
        save_file(tensors, os.path.join(OUT_DIR, f"{name}.tensors.safetensors"))
        ours = {k: v for k, v in cfg.items()}
        record = {
            "seed": seed,
            "config": ours,
            "hidden_size": hidden,
            "inputs": {"sentence_map": sentence_map, "speaker_ids": speakers, "segment_of_token": seg_of, "genre": genre},
            "gold": {"spans": gold_spans, "cluster_ids": gold_ids},
            "expected": {
                "candidates": out["candidates"],
                "top_span_indices": out["selected"],
                "top_spans": out["top_spans"],
                "top_span_labels": out["top_labels"],
                "antecedent_indices": out["ant_idx"].tolist(),
                "antecedent_mask": out["ant_mask"].tolist(),
                "loss_marginalized": out["loss"].item(),
                "loss_hinge": hinge,
                "loss_marginalized_plus_mention_0_5": with_mention,
                "predicted_antecedents": ant,
                "clusters": clusters,
                "crossing_rejections": out["crossing_rejections"],
                "padded": out["padded"],
            },
        }
        with open(os.path.join(OUT_DIR, f"{name}.json"), "w") as fh:
            json.dump(record, fh, indent=1)
        print(f"{name}: seed {seed}, N={n}, C={len(out['candidates'])}, K={out['k']}, A={out['a']}, "
              f"crossing rejections {out['crossing_rejections']}, padded {out['padded']}, "
              f"loss {out['loss'].item():.6f}, hinge {hinge:.6f}, +mention {with_mention:.6f}, clusters {clusters}")
        return
    raise SystemExit(f"{name}: no seed gave clear margins")


BASE = dict(
    max_span_width=5, top_span_ratio=0.4, max_num_extracted_spans=3900, max_top_antecedents=50, ffnn_size=24,
    ffnn_depth=1, feature_emb_size=4, dropout_rate=0.3, loss_type="marginalized", mention_loss_coef=0.0,
    false_new_delta=1.5, coref_depth=1, fine_grained=True, use_metadata=True, use_features=True,
    use_segment_distance=True, model_heads=True, use_width_prior=True, use_distance_prior=True,
    max_training_sentences=2, num_genres=7, pad_top_spans=False, gold_crop="positional",
)


def main():
    # 3 segments: speakers 2 (A) and 3 (B); 1 is [SPL] for CLS/SEP.
    segments = [[(2, 5), (2, 7)], [(3, 4), (2, 4), (2, 3)], [(3, 6), (3, 5)]]
    sentence_map, _, _ = segments_to_inputs(segments)
    assert len(sentence_map) == 40, len(sentence_map)
    # gold: nested (1,2) in (1,4) and (29,31) in (28,33); (28,33) is wider than max_span_width; clusters across segments.
    gold = [[(1, 2), (8, 8), (16, 18)], [(1, 4), (20, 21), (28, 33)], [(10, 12), (29, 31), (36, 36)], [(23, 24), (25, 25)]]
    for cluster in gold:
        for s, e in cluster:
            assert sentence_map[s] == sentence_map[e], (s, e)
    run_case("case1", dict(BASE), 16, segments, 5, gold, 1,
             lambda out: out["crossing_rejections"] > 0 and len(decode(out["ant_idx"].tolist(), out["scores"], out["top_spans"])[1]) >= 2)
    cfg2 = dict(BASE, max_span_width=3, top_span_ratio=2.5, max_top_antecedents=8, pad_top_spans=True)
    segments2 = [[(2, 6), (3, 4)]]
    run_case("case2", cfg2, 16, segments2, 0, [[(1, 2), (7, 7)], [(3, 3), (8, 9)]], 1, lambda out: out["padded"] > 0)


if __name__ == "__main__":
    main()
