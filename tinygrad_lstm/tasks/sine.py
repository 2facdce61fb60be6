"""Sine-wave prediction: read a sine wave one sample at a time and predict the next sample.

Each sequence has its own frequency and phase, so the model must infer them from what it
has read so far. Scored by mean squared error over the second half of each sequence
(the first half is for finding the wave), against the naive guess "next = current".

Held out: the first sample's bin (1000 bins of width 0.002 over [-1, 1]); the test's and
validation's bins are never trained on, so no held-out wave is a training wave.
"""

import numpy as np

from ..functional import mse_loss
from .base import BINS, Task, check_seq_len, value_bins


class Sine(Task):
    name = "sine"
    input_size = 1
    output_size = 1
    baseline_meaning = "predicting next = current"
    metric = "mse"
    solved = 1e-3
    held_out_by = "the first sample, in bins of 0.002"

    def __init__(self, seq_len=50):
        check_seq_len("sine", seq_len, 4)
        self.seq_len = seq_len

    def draw(self, n, rng):
        t = np.arange(self.seq_len + 1)
        frequency = rng.uniform(0.1, 0.6, size=(n, 1))
        phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
        wave = np.sin(frequency * t + phase).astype(np.float32)
        return wave[:, :-1, None], wave[:, 1:]

    def keys(self, inputs, targets):
        return value_bins(inputs[:, 0, 0])[:, None]

    def key_space(self):
        return np.arange(BINS)[:, None]

    def loss(self, outputs, targets):
        return mse_loss(outputs[:, :, 0], targets)

    def evaluate(self, outputs, targets):
        half = self.seq_len // 2
        return {"mse": float(np.mean((outputs[:, half:, 0] - targets[:, half:]) ** 2))}

    def baseline(self):
        """Repeating the current sample: E[(sin(wt + w + p) - sin(wt + p))^2] = 1 - E[cos w]
        for w uniform on [0.1, 0.6]."""
        mean_cos = (np.sin(0.6) - np.sin(0.1)) / 0.5
        return {"mse": float(1 - mean_cos)}

    def describe(self, inputs, targets, outputs, k):
        last = self.seq_len - 1
        return f"after {self.seq_len} samples: next {targets[k, last]:+.3f}, model {outputs[k, last, 0]:+.3f}"
