"""What every toy task provides, so one model and one training loop serve them all.

A task makes seeded batches of (inputs, targets) with numpy only: no downloads, and the
same seed gives the same data on every machine. A model reads the inputs and produces an
output vector at every time step, shape (B, T, output_size); the task says which steps
count, how to score them, and what a model that learned nothing would score.

Held out means held out. Each sequence has a key (the facts of a context sentence, the
symbols to copy, the first marked value's bin in the adding problem, ...), and a fixed hash
of the key puts the sequence in one of three parts, the same on every machine and for every
seed: "train" (8 keys in 10), "validation" (1 in 10) and "test" (1 in 10). `sample(n, rng,
part)` draws only from its part, so no validation or test sequence can ever be drawn for
training: the held-out score measures what the model generalises to, not what it memorised.
"""

import numpy as np

from ..checks import check_positive_ints, is_integer

LOWER_IS_BETTER = {
    "mse",
    "bits_per_char",
    "perplexity",
}  # the metrics where a smaller number is the better model; for the rest, larger
PARTS = ("train", "validation", "test")
BINS = 1000  # a continuous key (a value in [-1, 1]) is split by its bin, of width 2 / BINS


def check_sample_arguments(who, n, rng, part):
    """Refuse what Task.sample cannot take, naming it; n as a Python int."""
    if not is_integer(n):
        raise ValueError(f"{who}.sample: n must be an integer >= 0, got {n!r}")
    if part not in PARTS:
        raise ValueError(f"{who}.sample: part must be one of {', '.join(PARTS)}, got {part!r}")
    if not isinstance(rng, np.random.Generator):  # (a seed here would draw the same batch every time)
        raise TypeError(
            f"{who}.sample: rng must be a numpy Generator, e.g. np.random.default_rng(0), "
            f"got {rng!r} ({type(rng).__name__})"
        )
    return int(n)  # (a small numpy integer, np.int8, would overflow in the sums that follow)


class Task:
    name = ""
    tokens = False  # inputs are integer token ids (B, T) rather than vectors (B, T, input_size)
    input_size = 0  # features per step (vector inputs)
    vocab = ()  # the words (token inputs)
    output_size = 1
    baseline_meaning = ""  # what the baseline model does, in a few words
    chance_meaning = ""  # what guessing at random means, where it scores apart from the baseline
    metric = ""  # the held-out number reported: "accuracy", "mse" or "bits_per_char" (see LOWER_IS_BETTER)
    held_out_by = ""  # what the key is, in words: what the held-out parts never share with training
    solved = None  # the value of `metric` at which the task counts as solved (a curriculum moves on)

    def sample(self, n, rng, part="train"):
        """n sequences of one part ("train", "validation" or "test"): (inputs, targets).
        Sequences are drawn and those of other parts set aside, until n are found."""
        n = check_sample_arguments(self.name, n, rng, part)
        wanted, found, count = PARTS.index(part), [self.draw(0, rng)], 0  # (empty arrays of the right shapes)
        while count < n:
            inputs, targets = self.draw(max(16, 2 * (n - count) * (1 if part == "train" else 10)), rng)
            keep = part_of(self.keys(inputs, targets)) == wanted
            found.append((inputs[keep], targets[keep]))
            count += int(keep.sum())
        return tuple(np.concatenate(pieces)[:n] for pieces in zip(*found))

    def draw(self, n, rng):
        """n sequences from the whole task, of any part: (inputs, targets)."""
        raise NotImplementedError

    def keys(self, inputs, targets):
        """Each sequence's key, read from the sequence itself: an integer array (n, k)."""
        raise NotImplementedError

    def key_space(self):
        """Every key there is, (K, k), where the task can list them; None where it cannot."""
        return None

    def easier(self):
        """The task's easier forms, easiest first (a curriculum trains through them before the
        task itself): shorter gaps, fewer filler sentences. [] where there is none."""
        return []

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

    def better(self, value, than):
        """Whether `value` of self.metric is better than `than`."""
        return value < than if self.metric in LOWER_IS_BETTER else value > than

    def beats_baseline(self, metrics, n=1000):
        """Whether metrics (from evaluate, on n sequences) are better than the baseline on
        self.metric, by more than luck: an accuracy must beat the baseline's b by two standard
        errors of an accuracy measured on n sequences, 2 sqrt(b (1 - b) / n) (3.2 points for
        b = 50% and n = 1000), so that a model that guesses like the baseline is not called better."""
        value, baseline = metrics[self.metric], self.baseline()[self.metric]
        if self.metric == "accuracy":
            baseline += 2 * np.sqrt(baseline * (1 - baseline) / n)
        return self.better(value, baseline)

    def is_solved(self, metrics, target=None):
        """Whether metrics reach `target` (default: self.solved) on self.metric."""
        target = self.solved if target is None else target
        if target is None:
            return False
        value = metrics[self.metric]
        return value <= target if self.metric in LOWER_IS_BETTER else value >= target

    def describe(self, inputs, targets, outputs, k):
        """Sequence k, its target and the model's answer, as a line of text."""
        raise NotImplementedError

    def encode(self, words):
        index = {w: i for i, w in enumerate(self.vocab)}
        return np.array([index[w] for w in words])

    def decode(self, ids, short=False):
        """The words of token ids, as a line (short: a task may shorten the parts that do not matter)."""
        return " ".join(self.vocab[i] for i in ids)

    def check_split(self):
        """Refuse a task so small that some part would hold no sequence at all."""
        keys = self.key_space()
        if keys is None:
            return
        missing = [p for k, p in enumerate(PARTS) if not np.any(part_of(keys) == k)]
        if missing:
            raise ValueError(
                f"{self.name}: its {len(keys)} distinct sequences ({self.held_out_by}) are too few to "
                f"hold some out; no {' or '.join(missing)} sequence would be left: make the task larger"
            )


def part_of(keys):
    """Which part each key falls in: 0 train, 1 validation, 2 test. A fixed hash of the key
    (splitmix64 over its columns), so the split is the same everywhere, whatever the seed."""
    keys = np.asarray(keys, dtype=np.int64).reshape(len(keys), -1)
    h = np.zeros(len(keys), dtype=np.uint64)
    for column in keys.T:
        h = _splitmix64(h ^ column.astype(np.uint64))
    tenth = h % np.uint64(10)
    return np.where(tenth == 0, 2, np.where(tenth == 1, 1, 0))


def _splitmix64(z):
    """A 64-bit mixing function (Steele, Lea & Flood 2014): nearby keys land far apart."""
    with np.errstate(over="ignore"):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def value_bins(values):
    """The bin of each value in [-1, 1]: 0 .. BINS - 1."""
    return np.clip(np.floor((np.asarray(values, dtype=np.float64) + 1) * (BINS / 2)), 0, BINS - 1).astype(np.int64)


def check_seq_len(task, seq_len, minimum, reason=None):
    """seq_len must be an integer of at least `minimum`; `reason` says why, in the message."""
    check_positive_ints(task, seq_len=seq_len)
    if seq_len < minimum:
        why = f" ({reason})" if reason else ""
        raise ValueError(f"{task}: seq_len must be at least {minimum}{why}, got {seq_len}")
