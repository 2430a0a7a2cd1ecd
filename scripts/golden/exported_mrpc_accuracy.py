"""Loads a `reprobe export` of an MRPC run with transformers (asserting no missing, unexpected or
mismatched keys) and prints its MRPC dev accuracy, to compare with the run's val/accuracy.

    python scripts/golden/exported_mrpc_accuracy.py EXPORT_DIR   # from the repository root, ../shared beside it
"""
import sys, torch, csv
from transformers import AutoModelForSequenceClassification, AutoTokenizer
d = sys.argv[1]
m, info = AutoModelForSequenceClassification.from_pretrained(d, output_loading_info=True)
assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
m.eval(); tok = AutoTokenizer.from_pretrained(d)
rows = [l.rstrip("\n").split("\t") for l in open("../shared/data/mrpc/dev.tsv", encoding="utf-8-sig")][1:]
correct = 0
with torch.no_grad():
    for i in range(0, len(rows), 32):
        b = rows[i:i+32]
        enc = tok([r[3] for r in b], [r[4] for r in b], truncation=True, max_length=128, padding=True, return_tensors="pt")
        pred = m(**enc).logits.argmax(-1).tolist()
        correct += sum(int(m.config.id2label[p] == r[0]) for p, r in zip(pred, b))
print("transformers accuracy of the exported model on MRPC dev:", correct / len(rows), "id2label", m.config.id2label)
