"""Copy / recall: read a few symbols, wait through a gap of blanks, then write them back.

Tokens: "_" blank, ":" the cue to start answering, and the symbols "a", "b", ... Example
with 3 symbols and a gap of 4:

    input   c a d _ _ _ _ : _ _
    answer                  c a d      (scored at the last 3 steps)

The symbols must be held, in order, across the whole gap.

Held out: the symbols. One symbol sequence in ten is kept for the test and one in ten for
validation, never trained on with any gap. (By default 4 symbols from an alphabet of 5: 625
sequences, so that the test has some seventy of its own.)
"""

import numpy as np

from ..checks import check_positive_ints
from ..convert import as_tensor
from ..functional import cross_entropy
from .base import Task


class Copy(Task):
    name = "copy"
    tokens = True
    baseline_meaning = "guessing symbols"
    metric = "accuracy"
    solved = 0.99
    held_out_by = "the symbols to copy"

    def __init__(self, seq_len=20, n_symbols=5, length=4):
        check_positive_ints("copy", seq_len=seq_len, n_symbols=n_symbols, length=length)
        if n_symbols > 26:
            raise ValueError(f"copy: at most 26 symbols (a to z), got {n_symbols}")
        self.seq_len = self.gap = seq_len
        self.n_symbols, self.length = n_symbols, length
        self.vocab = ("_", ":") + tuple(chr(ord("a") + k) for k in range(n_symbols))
        self.output_size = n_symbols
        self.check_split()

    def draw(self, n, rng):
        symbols = rng.integers(0, self.n_symbols, size=(n, self.length))
        blank, cue = 0, 1
        inputs = np.concatenate(
            [symbols + 2, np.full((n, self.gap), blank), np.full((n, 1), cue), np.full((n, self.length - 1), blank)],
            axis=1,
        )
        return inputs, symbols

    def keys(self, inputs, targets):
        return inputs[:, : self.length] - 2

    def key_space(self):
        if self.n_symbols**self.length > 10**6:  # too many to list, and plenty in every part
            return None
        return np.indices((self.n_symbols,) * self.length).reshape(self.length, -1).T

    def easier(self):
        """Shorter gaps first: a quarter and half the gap (each at least 5 blanks)."""
        return [
            Copy(gap, self.n_symbols, self.length)
            for gap in sorted({max(5, self.gap // 4), max(5, self.gap // 2)})
            if gap < self.gap
        ]

    def loss(self, outputs, targets):
        answers = outputs[:, -self.length :, :]
        # (targets reshaped by an op, not by NumPy: a compiled step then follows them to the loss)
        return cross_entropy(answers.reshape(-1, self.n_symbols), as_tensor(targets).reshape(-1))

    def evaluate(self, outputs, targets):
        guesses = outputs[:, -self.length :, :].argmax(axis=-1)
        return {
            "accuracy": float(np.mean(guesses == targets)),
            "sequences": float(np.mean(np.all(guesses == targets, axis=1))),
        }

    def baseline(self):
        """Guessing any one symbol: right 1/n_symbols of the time; whole sequences (1/n)^length."""
        return {"accuracy": 1 / self.n_symbols, "sequences": (1 / self.n_symbols) ** self.length}

    def describe(self, inputs, targets, outputs, k):
        guess = outputs[k, -self.length :, :].argmax(axis=-1)
        return f"{self.decode(inputs[k])}  -> target {self.decode(targets[k] + 2)}, model {self.decode(guess + 2)}"
