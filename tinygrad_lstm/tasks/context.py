"""Remember the context: the tutorial's example, as a task.

    john is a coder . mary is a singer . the sky is blue . what does mary do ?  -> singer

A few people each get a job; filler sentences follow; then a question about one of them.
The answer was given many words earlier, next to the right name: the model has to keep
both pairs in memory and pick the one the question asks for.
"""

import numpy as np

from ..functional import cross_entropy
from ..checks import check_positive_ints
from .base import Task

NAMES = ("john", "mary", "ali", "yuki", "omar", "lena")
JOBS = ("coder", "singer", "doctor", "farmer", "pilot", "baker")
FILLERS = (
    ("the", "sky", "is", "blue", "."),
    ("it", "rains", "today", "."),
    ("the", "cat", "sleeps", "."),
    ("we", "like", "tea", "."),
)
STRUCTURE = ("is", "a", ".", "what", "does", "do", "?")


class Context(Task):
    name = "context"
    tokens = True
    baseline_meaning = "picking one of the mentioned jobs, without knowing whose"
    chance_meaning = f"any of the {len(JOBS)} jobs"
    metric = "accuracy"
    output_size = len(JOBS)

    def __init__(self, seq_len=2, n_facts=2):
        """seq_len: how many filler sentences stand between the facts and the question."""
        if not isinstance(seq_len, (int, np.integer)) or seq_len < 0:
            raise ValueError(f"context: seq_len (filler sentences) must be an integer >= 0, got {seq_len!r}")
        check_positive_ints("context", n_facts=n_facts)
        if n_facts > len(NAMES):
            raise ValueError(f"context: at most {len(NAMES)} facts (one per name), got {n_facts}")
        self.n_fillers, self.n_facts = seq_len, n_facts
        words = set(NAMES) | set(JOBS) | set(STRUCTURE) | {w for f in FILLERS for w in f}
        self.vocab = tuple(sorted(words))
        # every filler sentence is padded to the same length, so all sequences have one length
        self._filler_len = max(len(f) for f in FILLERS)

    def sentence(self, rng):
        """One example as words, and the index of the answer in JOBS."""
        people = rng.choice(len(NAMES), size=self.n_facts, replace=False)
        jobs = rng.choice(len(JOBS), size=self.n_facts, replace=False)
        words = []
        for person, job in zip(people, jobs):
            words += [NAMES[person], "is", "a", JOBS[job], "."]
        for k in rng.integers(0, len(FILLERS), size=self.n_fillers):
            filler = FILLERS[k]
            words += filler[:-1] + (".",) * (self._filler_len - len(filler) + 1)
        asked = rng.integers(0, self.n_facts)
        words += ["what", "does", NAMES[people[asked]], "do", "?"]
        return words, jobs[asked]

    def sample(self, n, rng):
        examples = [self.sentence(rng) for _ in range(n)]
        inputs = np.stack([self.encode(words) for words, _ in examples])
        return inputs, np.array([answer for _, answer in examples])

    def loss(self, outputs, targets):
        return cross_entropy(outputs[:, -1, :], targets)

    def evaluate(self, outputs, targets):
        return {"accuracy": float(np.mean(outputs[:, -1, :].argmax(axis=-1) == targets))}

    def baseline(self):
        """Without the binding of names to jobs, the best is to pick one of the jobs that were
        mentioned: right 1/n_facts of the time."""
        return {"accuracy": 1 / self.n_facts}

    def chance(self):
        """Guessing any job, even one nobody in the sentence has: right 1/len(JOBS) of the time."""
        return {"accuracy": 1 / len(JOBS)}

    def describe(self, inputs, targets, outputs, k):
        guess = outputs[k, -1, :].argmax()
        return f"{self.decode(inputs[k])}  -> {JOBS[guess]} (answer: {JOBS[targets[k]]})"
