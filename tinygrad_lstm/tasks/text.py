"""Text: a character-level language model, on any text.

The model reads a window of characters and, at every step, predicts the next one: trained
on "The assert statement", it learns that after "asser" comes "t". This is the task of
Karpathy's char-rnn and of d2l's LSTM chapter, and the one where an LSTM's memory can be
seen at work on real text: some units follow whether the text is inside quotes or brackets,
or how far along the line it is (tl.viz.text_cells).

The text. Any UTF-8 text file (`Text(path=...)`, `train text --text FILE`), or, by default,
the reference pages of Python's documentation as `help()` shows them (pydoc's topics:
keywords, statements, operators, 465 KB of prose with code in it), as Python 3.11.7 ships
them; the package carries a copy, tasks/data/python_topics.txt.gz, so the default is the same
text on every machine. That text is Copyright (c) 2001-2023 Python Software Foundation, under
the PSF License Agreement (tasks/data/PYTHON-LICENSE.txt).

Held out. The text is cut into blocks of BLOCK characters, and a fixed hash of each block's
number puts it in training (8 in 10), validation (1 in 10) or test (1 in 10), as the other
tasks' keys do: a window is drawn from within one part's stretch of consecutive blocks, so
no character of the validation or test blocks is ever trained on (nor predicted from one).
The alphabet is that of the whole text (a character only the test part holds still has an
id: it is simply never trained on).

The numbers. bits_per_char: the mean of -log2 p(next character) over the test part's
windows, what a compressor built on the model would spend per character; perplexity = 2 **
bits_per_char, the number of characters the model is as unsure as a uniform choice among.
Baseline: each character's frequency alone (the unigram model), that is the test part's
cross-entropy under the training part's frequencies, with one added to every count so a
character the training part lacks costs a finite number of bits. Chance: a uniform guess
among the alphabet, log2(V) bits.
"""

import gzip
import math
import os

import numpy as np

from .. import functional as F
from ..convert import as_tensor
from .base import PARTS, Task, check_sample_arguments, check_seq_len, part_of

BLOCK = 2000  # characters per block of the split
DEFAULT = os.path.join(os.path.dirname(__file__), "data", "python_topics.txt.gz")
DEFAULT_NAME = "Python's documentation topics (pydoc, 3.11.7)"


def default_text():
    with gzip.open(DEFAULT, "rb") as f:
        return f.read().decode("utf-8")


def read_text(path):
    """The text of a UTF-8 file (a byte order mark at its start dropped), refused in one line
    naming the file when it cannot serve: missing, a directory or not a plain file, unreadable,
    not UTF-8 (or binary). (Text refuses one too short to hold out a part.)"""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"text: path must be a file name (str or path), got {path!r} ({type(path).__name__})")
    name = os.fsdecode(path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"text: no such file: {name!r}")
    if os.path.isdir(name):
        raise IsADirectoryError(f"text: {name!r} is a directory; expected a UTF-8 text file")
    if not os.path.isfile(name):
        raise ValueError(f"text: {name!r} is not a plain file (a FIFO or a device?); expected a UTF-8 text file")
    try:
        with open(name, "rb") as f:
            data = f.read()
    except OSError as err:
        raise OSError(f"text: cannot read {name!r}: {err.strerror}") from None
    if b"\0" in data:
        raise ValueError(f"text: {name!r} holds NUL bytes: it looks binary; expected a UTF-8 text file")
    try:
        return data.decode("utf-8-sig")  # (-sig: a byte order mark is no character of the text)
    except UnicodeDecodeError as err:
        raise ValueError(
            f"text: {name!r} is not UTF-8 (byte {err.start}: {data[err.start : err.start + 1]!r}); "
            "expected a UTF-8 text file"
        ) from None


class Text(Task):
    name = "text"
    tokens = True
    metric = "bits_per_char"
    baseline_meaning = "each character's frequency alone (unigram), not what came before"
    chance_meaning = "any character of the alphabet, uniformly"
    held_out_by = f"blocks of {BLOCK} characters of the text"

    def __init__(self, seq_len=64, text=None, path=None):
        check_seq_len("text", seq_len, 1)
        if text is not None and path is not None:
            raise ValueError("text: give the text or a path to it, not both")
        if path is not None:
            text, self.source = read_text(path), repr(os.fsdecode(path))
        elif text is None:
            text, self.source = default_text(), DEFAULT_NAME
        else:
            if not isinstance(text, str):
                raise TypeError(f"text: text must be a str, got {type(text).__name__}")
            self.source = "a text given in Python"
        if not text:
            raise ValueError(f"text: {self.source} is empty")
        self.seq_len, self.text = int(seq_len), text
        self.vocab = tuple(sorted(set(text)))
        if len(self.vocab) < 2:
            raise ValueError(
                f"text: {self.source} holds only one distinct character, {text[0]!r}: there is nothing to predict"
            )
        self.output_size = len(self.vocab)
        self.ids = self.encode(text)
        blocks = np.arange(math.ceil(len(text) / BLOCK))
        self.block_part = part_of(blocks[:, None])
        self.stretches = {part: self._stretches(k) for k, part in enumerate(PARTS)}
        short = [part for part, s in self.stretches.items() if not s]
        if short:
            raise ValueError(
                f"text: {self.source} ({len(text)} characters) is too short: its {_listed(short)} "
                f"part{'s hold' if len(short) > 1 else ' holds'} no window of seq_len + 1 = {self.seq_len + 1} "
                "characters; give a longer text (tens of "
                f"kilobytes: every {BLOCK}-character block is held out with a chance of 1 in 5) or a smaller seq_len"
            )

    def _stretches(self, k):
        """(start, end) of each run of consecutive blocks of part k long enough for a window."""
        runs, start = [], None
        for b, part in enumerate([*self.block_part, -1]):
            if part == k and start is None:
                start = b
            elif part != k and start is not None:
                lo, hi = start * BLOCK, min(b * BLOCK, len(self.text))
                if hi - lo >= self.seq_len + 1:
                    runs.append((lo, hi))
                start = None
        return runs

    # ----- data ---------------------------------------------------------------------------

    def encode(self, text):
        """Character ids; a character outside the alphabet is refused, naming it."""
        index = {c: i for i, c in enumerate(self.vocab)}
        unknown = sorted({c for c in text if c not in index})
        if unknown:
            shown = ", ".join(repr(c) for c in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
            raise ValueError(f"text: the model never saw the characters {shown}; its text has {len(self.vocab)} others")
        return np.array([index[c] for c in text], dtype=np.int64)

    def decode(self, ids, short=False):
        """The characters of ids, as a str (short: as for the other tasks; a text has no filler to cut)."""
        return "".join(self.vocab[i] for i in ids)

    def sample(self, n, rng, part="train"):
        """n windows of one part: inputs (n, seq_len) and targets (n, seq_len), the next
        character after each input character. Each window lies inside one stretch of the
        part's consecutive blocks, a stretch chosen in proportion to the windows it holds."""
        n = check_sample_arguments(self.name, n, rng, part)
        stretches = self.stretches[part]
        room = np.array([hi - lo - self.seq_len for lo, hi in stretches], dtype=np.int64)  # window starts in each
        picks = rng.integers(0, room.sum(), size=n)
        which = np.searchsorted(np.cumsum(room), picks, side="right")
        starts = np.array([lo for lo, _ in stretches], dtype=np.int64)[which] + picks - (np.cumsum(room) - room)[which]
        windows = self.ids[starts[:, None] + np.arange(self.seq_len + 1)]
        return windows[:, :-1], windows[:, 1:]

    def draw(self, n, rng):
        return self.sample(n, rng, "train")

    def keys(self, inputs, targets):
        raise NotImplementedError("text: windows are drawn from their part's blocks; they have no key")

    # ----- scores ---------------------------------------------------------------------------

    def loss(self, outputs, targets):
        # (targets reshaped by an op, not by NumPy: a compiled step then follows them to the loss)
        return F.cross_entropy(outputs.reshape(-1, self.output_size), as_tensor(targets).reshape(-1))

    def evaluate(self, outputs, targets):
        outputs = np.asarray(outputs, np.float64)
        if outputs.shape[-1:] != (len(self.vocab),):
            raise ValueError(
                f"text: the model scores {outputs.shape[-1] if outputs.ndim else 0} characters, and this text has "
                f"{len(self.vocab)}: it was made for another text"
            )
        bits = _bits(outputs, np.asarray(targets))
        return {"bits_per_char": bits, "perplexity": _perplexity(bits)}

    def baseline(self):
        counts = [np.bincount(self.ids[self._mask(k)], minlength=len(self.vocab)) for k in (0, 2)]
        train, test = counts
        p = (train + 1) / (train.sum() + len(self.vocab))
        bits = float(-(test * np.log2(p)).sum() / test.sum())
        return {"bits_per_char": bits, "perplexity": _perplexity(bits)}

    def chance(self):
        bits = math.log2(len(self.vocab))
        return {"bits_per_char": bits, "perplexity": float(len(self.vocab))}

    def _mask(self, k):
        """Which characters of the text lie in part k's blocks."""
        return np.repeat(self.block_part == k, BLOCK)[: len(self.text)]

    def describe(self, inputs, targets, outputs, k):
        """A window, and the character the model thinks most likely after its last one."""
        guess = self.vocab[int(np.argmax(outputs[k, -1]))]
        return f"{self.decode(inputs[k])!r} -> {guess!r} (next is {self.vocab[int(targets[k, -1])]!r})"


def _perplexity(bits):
    """2 ** bits, or inf where that is too large for a float (a model sure of wrong characters)."""
    return 2.0**bits if bits < 1024 else math.inf


def _listed(words):
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]


def _bits(logits, targets):
    """Mean -log2 softmax(logits)[target] over every position."""
    logits = logits.reshape(-1, logits.shape[-1])
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(logits)), targets.reshape(-1)].mean() / math.log(2))


def check_text_model(who, model, task):
    """Refuse a task that is no Text, or a model that is not a SequenceModel reading and
    scoring this text's characters (one made for another text would give wrong numbers)."""
    if not isinstance(task, Text):
        raise TypeError(f"{who}: task must be the text task the model was trained on, got {task!r}")
    embed, head = getattr(model, "embed", None), getattr(model, "head", None)
    if embed is None or head is None or not hasattr(model, "rnn"):
        raise TypeError(
            f"{who}: model must be a SequenceModel of the text task (embedding -> recurrent -> Linear), "
            f"got {type(model).__name__}"
        )
    sizes = {embed.num_embeddings, head.out_features}
    if sizes != {len(task.vocab)}:
        raise ValueError(
            f"{who}: the model reads and scores {' and '.join(map(str, sorted(sizes)))} characters, and "
            f"this text has {len(task.vocab)}: it was made for another text"
        )


def generate(model, task, prime, n, temperature=1.0, seed=0):
    """The prime followed by n characters the model writes, one at a time, each drawn from
    softmax(logits / temperature) given all before it (temperature 0: always the likeliest).
    The LSTM's state is carried from character to character, so each step reads one."""
    from ..checks import check_seed, is_integer
    from ..grad_mode import no_grad

    check_text_model("generate", model, task)
    check_seed("generate", seed)
    if not is_integer(n):
        raise ValueError(f"generate: n must be an integer >= 0, got {n!r}")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.integer, np.floating)):
        raise TypeError(f"generate: temperature must be a number >= 0, got {type(temperature).__name__}")
    if not 0 <= temperature < math.inf:
        raise ValueError(f"generate: temperature must be a number >= 0, got {temperature!r}")
    if not isinstance(prime, str) or not prime:
        raise ValueError(f"generate: prime must be a non-empty str, got {prime!r}")
    ids = task.encode(prime)
    rng = np.random.default_rng(seed)
    written = []
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            state, step = None, ids[None, :]
            for _ in range(int(n)):
                x = model.embed(step)
                out, state = model.rnn(x, state)
                logits = model.head(out).numpy()[0, -1].astype(np.float64)
                if temperature == 0:
                    chosen = int(np.argmax(logits))
                else:  # (the largest score subtracted first: a tiny temperature gives -inf, not nan)
                    with np.errstate(over="ignore"):
                        p = np.exp((logits - logits.max()) / temperature)
                    chosen = int(rng.choice(len(p), p=p / p.sum()))
                written.append(chosen)
                step = np.array([[chosen]])
    finally:
        model.train(was_training)
    return prime + task.decode(written)
