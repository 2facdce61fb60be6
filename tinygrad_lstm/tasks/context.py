"""Remember the context: the tutorial's example, as a task.

    john is a coder . mary is a singer . the sky is blue . what does mary do ?  -> singer

A few people each get a job; filler sentences follow; then a question about one of them.
The answer was given many words earlier, next to the right name: the model has to keep
both pairs in memory and pick the one the question asks for.

Held out: the facts. A sentence's key is who has which job, in any order ("john coder, mary
singer" and "mary singer, john coder" are one key); one set of facts in ten is kept for the
test and one in ten for validation, never trained on in any order, with any filler or question.
So the held-out score says whether the model learned to bind names to jobs, not whether it
remembers facts it saw together.
"""

import itertools
import re

import numpy as np

from ..checks import check_positive_ints, is_integer
from ..functional import cross_entropy
from .base import Task

# Eight of each: 1568 sets of two facts (28 pairs of names, 56 ways to give them two jobs), too
# many to learn one by one, so a model that answers held-out sets has learned to bind a name to a job.
NAMES = ("john", "mary", "ali", "yuki", "omar", "lena", "zoe", "ben")
JOBS = ("coder", "singer", "doctor", "farmer", "pilot", "baker", "nurse", "chef")
FILLERS = (
    ("the", "sky", "is", "blue", "."),
    ("it", "rains", "today", "."),
    ("the", "cat", "sleeps", "."),
    ("we", "like", "tea", "."),
)
STRUCTURE = ("is", "a", ".", "what", "does", "do", "?")
FACT, QUESTION = 5, 5  # words in "NAME is a JOB ." and in "what does NAME do ?"


class Context(Task):
    name = "context"
    tokens = True
    baseline_meaning = "picking one of the mentioned jobs, without knowing whose"
    chance_meaning = f"any of the {len(JOBS)} jobs"
    metric = "accuracy"
    solved = 0.99
    output_size = len(JOBS)
    held_out_by = "who has which job: the set of facts, in any order"

    def __init__(self, seq_len=2, n_facts=2):
        """seq_len: how many filler sentences stand between the facts and the question."""
        if not is_integer(seq_len):
            raise ValueError(f"context: seq_len (filler sentences) must be an integer >= 0, got {seq_len!r}")
        check_positive_ints("context", n_facts=n_facts)
        if n_facts > len(NAMES):
            raise ValueError(f"context: at most {len(NAMES)} facts (one per name), got {n_facts}")
        self.seq_len = self.n_fillers = int(seq_len)
        self.n_facts = int(n_facts)
        words = set(NAMES) | set(JOBS) | set(STRUCTURE) | {w for f in FILLERS for w in f}
        self.vocab = tuple(sorted(words))
        # every filler sentence is padded with "." to the same length, so all sequences have one length
        self._filler_len = max(len(f) for f in FILLERS)
        self._fillers = np.array([self.encode(f[:-1] + (".",) * (self._filler_len - len(f) + 1)) for f in FILLERS])
        self.check_split()

    def draw(self, n, rng):
        people = np.argsort(rng.random((n, len(NAMES))), axis=1)[:, : self.n_facts]  # distinct names
        jobs = np.argsort(rng.random((n, len(JOBS))), axis=1)[:, : self.n_facts]  # distinct jobs
        fillers = rng.integers(0, len(FILLERS), size=(n, self.n_fillers))
        asked = rng.integers(0, self.n_facts, size=n)
        word = {w: i for i, w in enumerate(self.vocab)}
        names, job_ids = self.encode(NAMES), self.encode(JOBS)
        facts = np.empty((n, self.n_facts, FACT), dtype=np.int64)
        facts[:, :, 0], facts[:, :, 1], facts[:, :, 2] = names[people], word["is"], word["a"]
        facts[:, :, 3], facts[:, :, 4] = job_ids[jobs], word["."]
        question = np.empty((n, QUESTION), dtype=np.int64)
        question[:] = [word["what"], word["does"], 0, word["do"], word["?"]]
        question[:, 2] = names[people[np.arange(n), asked]]
        filler_words = self._fillers[fillers].reshape(n, self.n_fillers * self._filler_len)
        inputs = np.concatenate([facts.reshape(n, self.n_facts * FACT), filler_words, question], axis=1)
        return inputs, jobs[np.arange(n), asked]

    def keys(self, inputs, targets):
        """(name, job) of each fact, read from the words at those places, sorted by name: the
        same facts in another order are the same key (so they are never split across parts)."""
        facts = inputs[:, : self.n_facts * FACT].reshape(len(inputs), self.n_facts, FACT)[:, :, [0, 3]]
        facts = np.take_along_axis(facts, np.argsort(facts[:, :, 0], axis=1)[:, :, None], axis=1)
        return facts.reshape(len(inputs), 2 * self.n_facts)

    def key_space(self):
        """Every set of facts: n_facts names in sorted order, each with a job of its own (at most
        40320 keys, for 8 facts)."""
        names = np.array(list(itertools.combinations(np.sort(self.encode(NAMES)), self.n_facts)))  # (C, n_facts)
        jobs = self.encode(JOBS)[np.array(list(itertools.permutations(range(len(JOBS)), self.n_facts)))]  # (P, n_facts)
        keys = np.empty((len(names), len(jobs), self.n_facts, 2), dtype=np.int64)
        keys[..., 0], keys[..., 1] = names[:, None, :], jobs[None, :, :]
        return keys.reshape(-1, 2 * self.n_facts)  # name, job, name, job, ...

    def easier(self):
        """No filler sentences first (the binding of names to jobs is found on short sentences),
        then half as many as the task has: [0] for up to 3 fillers, [0, n // 2] from 4."""
        return [
            Context(n, self.n_facts)
            for n in sorted({0, self.n_fillers // 2})
            if n < self.n_fillers and (n == 0 or self.n_fillers >= 4)
        ]

    def check_question(self, words):
        """Refuse words that are not a sentence of this task's form: facts "NAME is a JOB ." about
        different names, filler sentences if any, then "what does NAME do ?" about one of them.
        The model would answer other words too, but its answer would mean nothing."""
        name, job = "|".join(NAMES), "|".join(JOBS)
        filler = "|".join(re.escape(w) for w in sorted({w for f in FILLERS for w in f}))
        match = re.fullmatch(
            rf"((?:(?:{name}) is a (?:{job}) \. )+)(?:(?:{filler}) )*what does ({name}) do \?", " ".join(words)
        )
        named = re.findall(r"(\S+) is a", match[1]) if match else []
        if not match or len(set(named)) < len(named) or match[2] not in named:
            raise ValueError(
                'expected facts "NAME is a JOB ." about different names, filler sentences if any, then '
                '"what does NAME do ?" about one of them, '
                'e.g. "mary is a coder . lena is a pilot . what does mary do ?"'
            )

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

    def decode(self, ids, short=False):
        """The sentence; short: its filler sentences as "...", when there are any."""
        if not short or self.n_fillers == 0:
            return super().decode(ids)
        facts, question = self.n_facts * FACT, len(ids) - QUESTION
        return f"{super().decode(ids[:facts])} ... {super().decode(ids[question:])}"

    def describe(self, inputs, targets, outputs, k):
        guess = outputs[k, -1, :].argmax()
        return f"{self.decode(inputs[k])}  -> {JOBS[guess]} (answer: {JOBS[targets[k]]})"
