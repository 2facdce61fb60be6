"""The adding problem (Hochreiter & Schmidhuber 1997, experiment 4).

Each step carries two numbers: a value in [-1, 1] and a marker. Exactly two steps are
marked, one in each half of the sequence; at the end the model must output
0.5 + (x1 + x2) / 4, from the two marked values x1, x2. A sequence counts as solved when
the absolute error is below 0.04, as in the paper.

To answer, the model must carry the first marked value across at least T/2 steps of
noise: the long-memory test a plain RNN fails.

Held out: the first marked value's bin (1000 bins of width 0.002 over [-1, 1]); the test's
and validation's bins are never trained on, so no held-out sequence is a training sequence.
"""

import numpy as np

from ..functional import mse_loss
from .base import BINS, Task, check_seq_len, value_bins

TOLERANCE = 0.04


class Adding(Task):
    name = "adding"
    input_size = 2
    output_size = 1
    baseline_meaning = "always answering 0.5"
    metric = "accuracy"
    solved = 0.95
    held_out_by = "the first marked value, in bins of 0.002"

    def __init__(self, seq_len=100):
        check_seq_len("adding", seq_len, 2, "one marker per half")
        self.seq_len = seq_len

    def draw(self, n, rng):
        T = self.seq_len
        values = rng.uniform(-1, 1, size=(n, T))
        first = rng.integers(0, T // 2, size=n)
        second = rng.integers(T // 2, T, size=n)
        markers = np.zeros((n, T))
        markers[np.arange(n), first] = 1
        markers[np.arange(n), second] = 1
        inputs = np.stack([values, markers], axis=-1).astype(np.float32)
        targets = (0.5 + (values[np.arange(n), first] + values[np.arange(n), second]) / 4).astype(np.float32)
        return inputs, targets

    def keys(self, inputs, targets):
        first_marked = inputs[np.arange(len(inputs)), inputs[:, :, 1].argmax(axis=1), 0]
        return value_bins(first_marked)[:, None]

    def key_space(self):
        return np.arange(BINS)[:, None]

    def easier(self):
        """Shorter sequences first: a quarter and half the length (each at least 10 steps)."""
        return [
            Adding(length)
            for length in sorted({max(10, self.seq_len // 4), max(10, self.seq_len // 2)})
            if length < self.seq_len
        ]

    def loss(self, outputs, targets):
        return mse_loss(outputs[:, -1, 0], targets)  # only the answer at the last step counts

    def evaluate(self, outputs, targets):
        error = np.abs(outputs[:, -1, 0] - targets)
        return {"accuracy": float(np.mean(error < TOLERANCE)), "mse": float(np.mean(error**2))}

    def baseline(self):
        """Always answering 0.5, the mean target. The target is 0.5 + (x1 + x2)/4 with x1 + x2
        triangular on [-2, 2], so P(|x1 + x2| > a) = (2 - a)^2 / 4; with a = 4 * 0.04:
        accuracy = 1 - (1 - 0.08)^2 = 0.1536; mse = Var(x1 + x2) / 16 = (2/3) / 16."""
        return {"accuracy": 1 - (1 - 2 * TOLERANCE) ** 2, "mse": (2 / 3) / 16}

    def describe(self, inputs, targets, outputs, k):
        marked = inputs[k, :, 0][inputs[k, :, 1] == 1]
        return (
            f"marked values {marked[0]:+.3f} {marked[1]:+.3f} -> target {targets[k]:.3f}, model {outputs[k, -1, 0]:.3f}"
        )
