"""Forward and backward time of transformers' BertModel (PyTorch CPU) on the shapes of benches/bert_step.rs.

    python crates/reprobe-models/benches/hf_bert_step.py [BATCH] [SEQ] [REPS] [THREADS]   (defaults 32 80 5 1)

A MiniLM-shaped random BERT in training mode (dropout on), the same padding pattern and loss
(sum of the last hidden state times a fixed random tensor); prints the median milliseconds, wall clock and
CPU time of the process.
"""
import statistics
import sys
import time

import torch
from transformers import BertConfig, BertModel


def main():
    args = [int(a) for a in sys.argv[1:]]
    batch, seq, reps, threads = (args + [32, 80, 5, 1][len(args):])[:4]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                        intermediate_size=1536, max_position_embeddings=512)
    model = BertModel(config, add_pooling_layer=False).train()
    lengths = [max(1, seq // 2 + (r * (seq // 2)) // batch) for r in range(batch)]
    ids = torch.randint(1000, 29000, (batch, seq))
    mask = torch.tensor([[int(i < n) for i in range(seq)] for n in lengths])
    types = torch.tensor([[int(i >= seq // 3) for i in range(seq)] for _ in range(batch)])
    upstream = torch.randn(batch, seq, 384)
    fwd, bwd, fwd_cpu, bwd_cpu = [], [], [], []
    for rep in range(reps + 1):
        model.zero_grad(set_to_none=True)
        t0, c0 = time.perf_counter(), time.process_time()
        out = model(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
        loss = (out * upstream).sum()
        t1, c1 = time.perf_counter(), time.process_time()
        loss.backward()
        t2, c2 = time.perf_counter(), time.process_time()
        if rep > 0:
            fwd.append((t1 - t0) * 1e3)
            bwd.append((t2 - t1) * 1e3)
            fwd_cpu.append((c1 - c0) * 1e3)
            bwd_cpu.append((c2 - c1) * 1e3)
    f, b = statistics.median(fwd), statistics.median(bwd)
    fc, bc = statistics.median(fwd_cpu), statistics.median(bwd_cpu)
    print(f"transformers batch {batch} x {seq}, threads {threads}: forward {f:.1f} ms, backward {b:.1f} ms, "
          f"backward/forward {b / f:.2f}; CPU time: forward {fc:.0f} ms, backward {bc:.0f} ms")


if __name__ == "__main__":
    main()
