"""One model and one training loop for every toy task.

    task = tl.tasks.make("adding", seq_len=100)
    model = SequenceModel(task, kind="lstm", hidden=32)
    history = train(task, model, steps=1000, lr=1e-2)
    evaluate(task, model)            # held-out metrics

Training data and held-out data come from two different seeded streams, so the
held-out sequences were never trained on, and every run with the same seed repeats.
Ctrl-C stops training at once (TrainingInterrupted says after which step), the model as the
last whole step left it: an optimizer update in hand is finished first, never left half done.
"""

import contextlib
import math
import signal
import threading
import time

import numpy as np

from . import nn, optim
from .autograd import no_grad
from .checks import check_number, check_positive_ints
from .random import manual_seed
from .tensor import Tensor

RECURRENT = {"lstm": nn.LSTM, "rnn": nn.RNN, "gru": nn.GRU}


class SequenceModel(nn.Module):
    """tokens -> Embedding, or vectors as they are -> LSTM/RNN/GRU -> Linear at every step."""

    def __init__(self, task, kind="lstm", hidden=32, num_layers=1, embedding=16):
        super().__init__()
        if kind not in RECURRENT:
            raise ValueError(f"model kind must be one of {', '.join(RECURRENT)}, got {kind!r}")
        self.kind = kind
        self.embed = nn.Embedding(len(task.vocab), embedding) if task.tokens else None
        width = embedding if task.tokens else task.input_size
        self.rnn = RECURRENT[kind](width, hidden, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden, task.output_size)
        if kind == "lstm":
            # Start with the forget gate mostly open, f = σ(1) ≈ 0.73, so the conveyor belt keeps
            # what is written on it from the first step of training (Gers et al. 2000; Jozefowicz
            # et al. 2015). With torch's init, f ≈ σ(0) = 0.5 halves the memory every step, and
            # on the copy and context tasks training sits at chance for thousands of steps.
            for layer in range(num_layers):
                getattr(self.rnn, f"bias_ih_l{layer}").data[hidden:2 * hidden] = 1.0
                getattr(self.rnn, f"bias_hh_l{layer}").data[hidden:2 * hidden] = 0.0

    def forward(self, inputs):
        x = self.embed(inputs) if self.embed is not None else Tensor._make(np.asarray(inputs, np.float32))
        out, _ = self.rnn(x)
        return self.head(out)  # (B, T, output_size)


def training_stream(seed):
    return np.random.default_rng([seed, 0])


def held_out_stream(seed):
    return np.random.default_rng([seed, 1])


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped train() after `step` whole steps, which the model holds; `history` is
    what train() returns, up to that step."""

    def __init__(self, step, history):
        super().__init__(f"training stopped by Ctrl-C after step {step}")
        self.step, self.history = step, history


def train(task, model, steps=1000, lr=1e-2, batch_size=32, clip=1.0, seed=0, progress=False, log_every=50):
    """Adam on fresh batches; gradients clipped to norm `clip` (None: not clipped).
    Returns [(step, loss)] every log_every steps and at the last.

    Ctrl-C raises TrainingInterrupted at once, the model as the last whole step left it: a
    forward or backward pass in hand is dropped, an optimizer update in hand is finished first.
    (A second Ctrl-C during that update stops at once, as Ctrl-C does.)
    progress: False, or a file (e.g. sys.stderr) for a progress bar (tqdm when installed)."""
    check_positive_ints("train", steps=steps, batch_size=batch_size, log_every=log_every)
    check_number("train", "lr", lr, "a positive finite number", lambda v: 0 < v < math.inf)
    if clip is not None:  # 0 would zero every gradient; a negative clip would train uphill
        check_number("train", "clip", clip, "a positive finite number, or None for no clipping",
                     lambda v: 0 < v < math.inf)
    rng = training_stream(seed)
    manual_seed(seed)  # dropout, if any, repeats too
    optimizer = optim.Adam(model.parameters(), lr=lr)
    model.train()
    history, bar = [], _progress(steps, progress)
    # numpy's overflow warnings say, many lines long, what the loss check below says in one
    done = 0  # steps whose update is complete: what the model holds
    with _ctrl_c_between_updates() as updating, contextlib.closing(bar), np.errstate(all="ignore"):
        try:
            for step in range(1, steps + 1):
                inputs, targets = task.sample(batch_size, rng)
                loss = task.loss(model(inputs), targets)
                optimizer.zero_grad()
                loss.backward()
                with updating as pressed:  # a half-done update would leave a model that no step made
                    if clip is not None:
                        optim.clip_grad_norm_(model.parameters(), clip)
                    optimizer.step()
                done = step
                value = loss.item()
                if not np.isfinite(value):
                    raise FloatingPointError(f"train: the loss became {value} at step {step}; "
                                             f"try a smaller lr (now {lr})")
                bar.update(value)
                if step % log_every == 0 or step == steps or pressed:
                    history.append((step, value))
                if pressed:
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            if updating.broken:  # a second Ctrl-C, half-way through an update: no whole step to report
                raise
            raise TrainingInterrupted(done, history) from None
    return history


class _Updating:
    """`with updating as pressed:` holds Ctrl-C back while the block runs: the first press only
    fills the list `pressed` (the loop stops after the block), a second interrupts at once."""

    def __init__(self):
        self.active, self.broken, self.pressed = False, False, []

    def __enter__(self):
        self.active = True
        return self.pressed

    def __exit__(self, error, *rest):
        self.active, self.broken = False, error is not None  # broken: the update stopped half-way


@contextlib.contextmanager
def _ctrl_c_between_updates():
    """Within, Ctrl-C interrupts at once (KeyboardInterrupt), except inside `with updating:`.
    Nothing changes where Ctrl-C is ignored (nohup) or cannot be caught (only the main thread
    receives signals): there Ctrl-C interrupts as it always does."""
    updating, previous = _Updating(), signal.getsignal(signal.SIGINT)
    if previous in (signal.SIG_IGN, None) or threading.current_thread() is not threading.main_thread():
        yield updating
        return

    def on_ctrl_c(signum, frame):
        if not updating.active:
            raise KeyboardInterrupt
        updating.pressed.append(signum)
        signal.signal(signal.SIGINT, previous)  # a second press is an ordinary Ctrl-C

    signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield updating
    finally:
        signal.signal(signal.SIGINT, previous)


@no_grad()
def predict(model, inputs):
    model.eval()
    try:
        return model(inputs).numpy()
    finally:
        model.train()


def evaluate(task, model, n=1000, seed=0):
    """Held-out metrics on n fresh sequences (a stream training never draws from)."""
    inputs, targets = task.sample(n, held_out_stream(seed))
    return task.evaluate(predict(model, inputs), targets)


class _progress:
    """A one-line progress bar: tqdm when installed, else a plain one; nothing when off."""

    def __init__(self, total, stream):
        self.total, self.stream, self.step, self.start = total, stream, 0, time.perf_counter()
        self.tqdm = None
        if stream:
            try:
                from tqdm import tqdm
                self.tqdm = tqdm(total=total, file=stream, unit="step", leave=True)
            except ImportError:
                pass

    def update(self, loss):
        self.step += 1
        if self.tqdm is not None:
            self.tqdm.set_postfix(loss=f"{loss:.4f}", refresh=False)
            self.tqdm.update(1)
        elif self.stream and (self.step % max(1, self.total // 50) == 0 or self.step == self.total):
            done = self.step / self.total
            bar = "#" * int(30 * done)
            rate = self.step / (time.perf_counter() - self.start)
            self.stream.write(f"\r[{bar:30s}] {self.step}/{self.total} loss {loss:.4f} {rate:.1f} step/s")
            self.stream.flush()

    def close(self):
        if self.tqdm is not None:
            self.tqdm.close()
        elif self.stream:
            self.stream.write("\n")

