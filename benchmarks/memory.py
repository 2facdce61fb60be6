"""Peak memory of one LSTM training step (forward, MSE loss, backward) at the long size,
tinygrad_lstm (eager, and through tl.compile when there is one) against the hand-written
NumPy reference (benchmarks/numpy_lstm.py), float32.   python benchmarks/memory.py

What is measured is the step's own peak: NumPy reports its allocations to tracemalloc,
which is started right before the step and read right after it, so the inputs, the
parameters and the interpreter itself, all made before, do not count. Gradients made by
the step do. A compiled step may keep arrays from one call to the next: those are made
before the measured step, so they are printed on their own, as what it holds between steps.
"""

import gc
import os
import sys
import tracemalloc

import tinygrad_lstm as tl

sys.path.insert(0, os.path.dirname(__file__))
from lstm_step import SIZES, Setup  # noqa: E402

MB = 1e6


def step_peak(step):
    """Bytes: the most that was allocated at once while step() ran, beyond what was there before."""
    gc.collect()
    tracemalloc.start()
    try:
        result = step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del result
    return peak


def main(size="long"):
    B, I, H, T = SIZES[size]
    setup = Setup(size)
    ref_loss, _ = setup.numpy_step()
    rows = [("numpy reference", step_peak(setup.numpy_step), None), ("ours, eager", step_peak(setup.eager), None)]
    if setup.compiled_loss is not None:
        setup.lstm.zero_grad()
        gc.collect()
        tracemalloc.start()
        for _ in range(3):  # the trace, the checked replay, a plain replay
            loss = setup.compiled()
        del loss
        setup.lstm.zero_grad()
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]  # what the compiled step keeps between calls
        tracemalloc.stop()
        rows.append(("ours, compiled", step_peak(setup.compiled), held))
    loss = setup.eager()
    assert abs(loss.item() - ref_loss) < 1e-4 * max(1, abs(ref_loss)), "ours and the reference disagree"

    reference = rows[0][1]
    print(f"peak memory of one training step, {size} (B, I, H, T) = {(B, I, H, T)}, float32")
    for name, peak, held in rows:
        line = f"  {name:16s} {peak / MB:7.2f} MB  {peak / reference:5.2f}x the reference"
        if held is not None:
            line += f"   (+ {held / MB:.2f} MB held between steps)"
        print(line)
    if not hasattr(tl, "compile"):
        print(f"  {'ours, compiled':16s}       -   (no tl.compile)")
    return rows


if __name__ == "__main__":
    main(*sys.argv[1:2])
