#!/usr/bin/env python3
"""Checks a run folder's TensorBoard event files (`RUN_DIR/tb/`) with TensorBoard's own reader.

    /work/venv/bin/pip install tensorboard      # once
    /work/venv/bin/python scripts/golden/tensorboard_check.py RUN_DIR

Reads `tb/` with `tensorboard.backend.event_processing.event_accumulator.EventAccumulator` (every event kept,
TensorBoard's merging of the files of a folder and its purging of a killed run's orphaned steps included) and
checks that:
  - every numeric value of every line of `metrics.jsonl` is the scalar of the same tag at the line's `step`
    (the epoch's global step), equal as a float32 (TensorBoard scalars are float32), and that each such tag
    has exactly one value per epoch;
  - the per-step scalars `step/train/loss` and `step/lr/<group>` have one value for every step 1..last step,
    the mean of an epoch's step losses is the epoch's `train/loss`, and the step learning rate of an epoch's
    last step is the epoch's `lr/<group>`.
Prints a summary and exits 1 on the first mismatch.
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
from tensorboard.backend.event_processing import event_accumulator


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def f32(x):
    return float(np.float32(x))


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    run = Path(sys.argv[1])
    tb = run / "tb"
    files = sorted(p.name for p in tb.glob("events.out.tfevents.*"))
    if not files:
        fail(f"no event files in {tb}")
    lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
    if not lines:
        fail("metrics.jsonl is empty")

    acc = event_accumulator.EventAccumulator(str(tb), size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    tags = acc.Tags()["scalars"]
    scalars = {t: {e.step: e.value for e in acc.Scalars(t)} for t in tags}
    for t in tags:
        steps = [e.step for e in acc.Scalars(t)]
        if len(steps) != len(set(steps)):
            fail(f"tag {t} has several values at one step: {steps}")

    compared = exact = 0
    epoch_tags = set()
    for line in lines:
        step = line["step"]
        for key, value in line.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            epoch_tags.add(key)
            got = scalars.get(key, {}).get(step)
            if got is None:
                fail(f"epoch {line['epoch']}: no scalar `{key}` at step {step}")
            want = f32(value)
            if not (got == want or (math.isnan(got) and math.isnan(want))):
                if not math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-30):
                    fail(f"epoch {line['epoch']}: `{key}` = {got} in TensorBoard, {value} in metrics.jsonl")
            else:
                exact += 1
            compared += 1
    for key in epoch_tags:
        if len(scalars[key]) != len(lines):
            fail(f"`{key}` has {len(scalars[key])} values for {len(lines)} epochs")

    step_tags = sorted(t for t in tags if t.startswith("step/"))
    if "step/train/loss" not in step_tags:
        fail("no per-step `step/train/loss`")
    last = lines[-1]["step"]
    for t in step_tags:
        if sorted(scalars[t]) != list(range(1, last + 1)):
            fail(f"`{t}` does not have one value per step 1..{last}")
    previous = 0
    for line in lines:
        losses = [scalars["step/train/loss"][s] for s in range(previous + 1, line["step"] + 1)]
        mean = sum(losses) / max(len(losses), 1)
        if not math.isclose(mean, line["train/loss"], rel_tol=1e-5):
            fail(f"epoch {line['epoch']}: mean step loss {mean} != train/loss {line['train/loss']}")
        for key, value in line.items():
            if key.startswith("lr/"):
                got = scalars.get(f"step/{key}", {}).get(line["step"])
                if got is None or got != f32(value):
                    fail(f"epoch {line['epoch']}: step/{key} at step {line['step']} = {got}, {key} = {value}")
        previous = line["step"]
    others = sorted(set(tags) - epoch_tags - set(step_tags))
    if others:
        fail(f"tags neither in metrics.jsonl nor per step: {others}")

    print(f"event files: {len(files)} ({', '.join(files)})")
    print(f"epochs: {len(lines)}, steps: {last}")
    print(f"epoch tags: {len(epoch_tags)}; values compared with metrics.jsonl: {compared} "
          f"({exact} equal as float32 to the bit)")
    print(f"per-step tags: {', '.join(step_tags)} ({last} values each); "
          "epoch means of step/train/loss = train/loss, step/lr/* = lr/* at the epoch's last step")
    print("OK")


if __name__ == "__main__":
    main()
