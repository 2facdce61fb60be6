"""What every toy task provides, so one model and one training loop serve them all.

A task makes seeded batches of (inputs, targets) with numpy only: no downloads, and the
same seed gives the same data on every machine. A model reads the inputs and produces an
output vector at every time step, shape (B, T, output_size); the task says which steps
count, how to score them, and what a model that learned nothing would score.
"""

import numpy as np

from ..checks import check_positive_ints

LOWER_IS_BETTER = {"mse"}  # the metrics where a smaller number is the better model; for the rest, larger


class Task:
    name = ""
    tokens = False        # inputs are integer token ids (B, T) rather than vectors (B, T, input_size)
    input_size = 0        # features per step (vector inputs)
    vocab = ()            # the words (token inputs)
    output_size = 1
    baseline_meaning = ""  # what the baseline model does, in a few words
    chance_meaning = ""   # what guessing at random means, where it scores apart from the baseline
    metric = ""           # the held-out number reported: "accuracy", or "mse" (see LOWER_IS_BETTER)

    def sample(self, n, rng):
        """n sequences: (inputs, targets)."""
        raise NotImplementedError

    def loss(self, outputs, targets):
        """A scalar Tensor from the model's outputs (B, T, output_size)."""
        raise NotImplementedError

    def evaluate(self, outputs, targets):
        """{metric name: value} from outputs as a numpy array."""
        raise NotImplementedError

    def baseline(self):
        """{metric name: value} a model that learned nothing would reach (stated in each task)."""
        raise NotImplementedError

    def chance(self):
        """{metric name: value} guessing at random scores, where that differs from the baseline
        (a baseline that knows something about the data); {} where it does not."""
        return {}

    def beats_baseline(self, metrics):
        """Whether metrics (from evaluate) are better than the baseline on self.metric."""
        value, baseline = metrics[self.metric], self.baseline()[self.metric]
        return value < baseline if self.metric in LOWER_IS_BETTER else value > baseline

    def describe(self, inputs, targets, outputs, k):
        """Sequence k, its target and the model's answer, as a line of text."""
        raise NotImplementedError

    def encode(self, words):
        index = {w: i for i, w in enumerate(self.vocab)}
        return np.array([index[w] for w in words])

    def decode(self, ids):
        return " ".join(self.vocab[i] for i in ids)


def check_seq_len(task, seq_len, minimum, reason=None):
    """seq_len must be an integer of at least `minimum`; `reason` says why, in the message."""
    check_positive_ints(task, seq_len=seq_len)
    if seq_len < minimum:
        why = f" ({reason})" if reason else ""
        raise ValueError(f"{task}: seq_len must be at least {minimum}{why}, got {seq_len}")
