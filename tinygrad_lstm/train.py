"""One model and one training loop for every toy task.

    task = tl.tasks.make("adding", seq_len=100)
    model = SequenceModel(task, kind="lstm", hidden=32)
    history = train(task, model, steps=1000, lr=1e-2)
    evaluate(task, model)            # held-out metrics

Training data and held-out data come from two different seeded streams, so the
held-out sequences were never trained on, and every run with the same seed repeats.
Ctrl-C stops training at once (TrainingInterrupted says after which step), the model as the
last whole step left it: an optimizer update in hand is finished first, never left half done,
and so is the validation check that follows it.

A Training is a run that can stop and go on: saved with the model, it continues in another
process exactly as if it had never stopped.

    run = Training(task, model, lr=1e-2, seed=0)
    run.run(200)
    arrays, state = run.state()              # beside model.state_dict() in a checkpoint
    later = Training(task, model, lr=1e-2, seed=0)
    later.load_state(arrays, state)          # after model.load_state_dict(...)
    later.run(300)                           # the same numbers as one run of 500 steps
"""

import contextlib
import math
import signal
import sys
import threading
import time

import numpy as np

from . import nn, optim, random
from .checks import check_number, check_positive_ints, check_seed, is_integer, is_real
from .compile import compile as compiled_function
from .grad_mode import no_grad
from .tasks.base import LOWER_IS_BETTER, Task
from .tensor import Tensor

RECURRENT = {"lstm": nn.LSTM, "rnn": nn.RNN, "gru": nn.GRU}


class SequenceModel(nn.Module):
    """tokens -> Embedding, or vectors as they are -> LSTM/RNN/GRU -> Linear at every step."""

    def __init__(self, task, kind="lstm", hidden=32, num_layers=1, embedding=16, forget_bias=1.0):
        super().__init__()
        if kind not in RECURRENT:
            raise ValueError(f"model kind must be one of {', '.join(RECURRENT)}, got {kind!r}")
        forget_bias = check_number("SequenceModel", "forget_bias", forget_bias, "a finite number", math.isfinite)
        self.kind = kind
        self.embed = nn.Embedding(len(task.vocab), embedding) if task.tokens else None
        width = embedding if task.tokens else task.input_size
        self.rnn = RECURRENT[kind](width, hidden, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden, task.output_size)
        if kind == "lstm":
            # Start with the forget gate mostly open, f = σ(forget_bias) (0.73 for 1, 0.99 for 5), so
            # the conveyor belt keeps what is written on it from the first step of training (Gers et
            # al. 2000; Jozefowicz et al. 2015). With torch's init, f ≈ σ(0) = 0.5 halves the memory
            # every step, and on the copy and context tasks training sits at chance for thousands of steps.
            for layer in range(num_layers):
                getattr(self.rnn, f"bias_ih_l{layer}").data[hidden : 2 * hidden] = forget_bias
                getattr(self.rnn, f"bias_hh_l{layer}").data[hidden : 2 * hidden] = 0.0

    def forward(self, inputs):
        x = self.embed(inputs) if self.embed is not None else Tensor._make(np.asarray(inputs, np.float32))
        out, _ = self.rnn(x)
        return self.head(out)  # (B, T, output_size)


def training_stream(seed):
    return np.random.default_rng([seed, 0])


def held_out_stream(seed):
    """The test part's sequences: what evaluate() reports."""
    return np.random.default_rng([seed, 1])


def validation_stream(seed, stage=0):
    """The validation part's sequences for a curriculum's stage: what the recipe decides by."""
    return np.random.default_rng([seed, 2, stage])


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped train() after `step` whole steps, which the model holds; `history` is
    what train() returns, up to that step."""

    def __init__(self, step, history):
        super().__init__(f"training stopped by Ctrl-C after step {step}")
        self.step, self.history = step, history


def train(
    task,
    model,
    steps=1000,
    lr=1e-2,
    batch_size=32,
    clip=1.0,
    seed=0,
    progress=False,
    log_every=50,
    compiled=True,
    **recipe,
):
    """Adam on fresh batches; gradients clipped to norm `clip` (None: not clipped).
    Returns [(step, loss)] every log_every steps and at the last. compiled: the step's forward
    pass and loss run through tl.compile (faster; equal to eager to rounding); False runs them eagerly.
    recipe: Training's curriculum, stage_steps, schedule, until, validate_every, validation_size.

    Ctrl-C raises TrainingInterrupted at once, the model as the last whole step left it: a
    forward or backward pass in hand is dropped, an optimizer update in hand is finished first,
    with the validation check and the held-out evaluation that follow it. (A second Ctrl-C
    meanwhile stops at once, as Ctrl-C does.)
    progress: False, or a file (e.g. sys.stderr) for progress (see Training.run)."""
    _check_progress(progress)  # (before Training seeds the random streams)
    return Training(task, model, lr=lr, batch_size=batch_size, clip=clip, seed=seed, compiled=compiled, **recipe).run(
        steps, progress, log_every
    )


SCHEDULES = ("constant", "plateau")


class Training:
    """A training run between two steps: what it carries from one step to the next besides the
    model's weights. That is Adam (its moments and step counts), the step count, the random
    streams that draw the batches and the dropout masks, where the recipe stands (the curriculum's
    stage, the schedule's lr) and the history: the loss every log_every steps, the validation
    checks, and, when asked for, the held-out metrics.

    The recipe, each part optional:
    - curriculum: True trains on the task's easier forms first (task.easier(): fewer filler
      sentences, shorter gaps), or give a list of tasks, easiest first. A stage ends when its
      validation metric reaches its task's `solved` mark, or after `stage_steps` steps (or a
      list: each easier stage's own most).
    - schedule: "constant", or "plateau": the lr halves when the validation metric of the task
      itself has not improved for 3 checks in a row (optim.ReduceLROnPlateau), down to lr/100.
    - until: stop when the validation metric of the task itself reaches this value (the step is
      kept as solved_at); None trains every step asked for.
    - validate_every, validation_size: a validation check every so many steps, on that many
      sequences of the task's validation part (never trained on, never the reported test).
      By default 100 steps and 1000 sequences, where the recipe needs checks; none otherwise.
    """

    def __init__(
        self,
        task,
        model,
        lr=1e-2,
        batch_size=32,
        clip=1.0,
        seed=0,
        compiled=True,
        curriculum=False,
        stage_steps=1000,
        schedule="constant",
        until=None,
        validate_every=None,
        validation_size=1000,
    ):
        """compiled: the forward pass and the loss are traced once (tl.compile) and replayed at
        every step, with its rewrite passes: less Python and fewer NumPy calls per step, numbers equal
        to eager's to float rounding (a pass may sum in another order), and the same run twice
        gives the same bits (what --resume rests on)."""
        _check_task_and_model(task, model)
        check_positive_ints("train", batch_size=batch_size, validation_size=validation_size)
        check_seed("train", seed)
        if not isinstance(compiled, (bool, np.bool_)):
            raise TypeError(f"train: compiled must be True or False, got {compiled!r}")
        # (a subnormal lr is a zero in all but name: Adam's steps would round away)
        check_number("train", "lr", lr, "a positive finite number", lambda v: sys.float_info.min <= v < math.inf)
        if clip is not None:  # 0 would zero every gradient; a negative clip would train uphill
            check_number(
                "train", "clip", clip, "a positive finite number, or None for no clipping", lambda v: 0 < v < math.inf
            )
        if schedule not in SCHEDULES:
            raise ValueError(f"train: schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
        if until is not None:
            reachable, expected = until_range(task)
            check_number("train", "until", until, f"{expected}, or None", reachable)
        self.stages = _stages(task, curriculum)
        self.stage_steps = _stage_steps(stage_steps, len(self.stages) - 1)
        needs_checks = len(self.stages) > 1 or until is not None or schedule != "constant"
        if validate_every is None and needs_checks:
            validate_every = 100
        if validate_every is not None:
            check_positive_ints("train", validate_every=validate_every)
        if len(self.stages) > 1 and any(n % validate_every for n in self.stage_steps):
            # (a stage ends only at a validation check: it would quietly last longer than asked)
            raise ValueError(
                f"train: stage_steps must be multiples of validate_every ({validate_every}), "
                f"got {stage_steps!r}: a stage ends only at a validation check"
            )
        self.task, self.model, self.batch_size, self.clip, self.seed = task, model, batch_size, clip, seed
        self.until, self.compiled = until, compiled
        self.validate_every, self.validation_size = validate_every, validation_size
        self.optimizer = optim.Adam(model.parameters(), lr=lr)
        self.schedule = (
            optim.ReduceLROnPlateau(
                self.optimizer,
                mode="min" if task.metric in LOWER_IS_BETTER else "max",
                factor=0.5,
                patience=3,
                min_lr=lr / 100,
            )
            if schedule == "plateau"
            else None
        )
        self.data = training_stream(seed)
        random.manual_seed(seed)  # dropout, if any, repeats too
        self.step = 0
        self.stage, self.stage_start = 0, 0  # the curriculum's stage, and the step it started after
        self.solved_at = None  # the step at which validation reached `until`
        self.losses = []  # [(step, loss of that step's batch)]
        self.held_out = []  # [(step, {metric: value})]: the test part, for the record; nothing decides by it
        self.validation = []  # [(step, stage, value of the metric)]: what the recipe decides by
        self.stage_starts = [(0, 0)]  # [(step after which it started, stage)]
        self._losses, self._validation_sets = {}, {}

    @property
    def stage_task(self):
        """The task being trained now: the curriculum's current stage."""
        return self.stages[self.stage]

    @property
    def finished(self):
        """Whether the run stopped because validation reached `until`."""
        return self.solved_at is not None

    def run(self, steps, progress=False, log_every=50, evaluate_every=None):
        """Train `steps` more steps, or fewer if validation reaches `until` first. Logs the loss
        every log_every steps and at the last (the step counted from the run's start); evaluates
        held-out metrics every evaluate_every steps and at the last, when evaluate_every is given.
        Returns self.losses. A run that reached `until` trains no more.

        progress: False, or a file (e.g. sys.stderr): a bar there if it is a terminal (tqdm when
        installed), otherwise (a log) a plain line every 10% of the steps."""
        check_positive_ints("train", steps=steps, log_every=log_every)
        if evaluate_every is not None:
            check_positive_ints("train", evaluate_every=evaluate_every)
        _check_progress(progress)
        if self.finished:
            return self.losses
        self.model.train()
        last = self.step + steps
        # (np.errstate: numpy's overflow warnings say, many lines long, what _update says in one)
        with _CtrlC(self) as ctrl_c, _progress(self.step, last, progress) as bar, np.errstate(all="ignore"):
            for step in range(self.step + 1, last + 1):
                ctrl_c.step_starts(step)
                loss = self._forward_backward()  # Ctrl-C here drops the step
                # The update, the validation check it leads to and their record are one unit for
                # Ctrl-C: a run stopped after the update but before the check would resume past
                # the check, and lose what it decides (a curriculum's next stage, the schedule's lr
                # cut, `until` reached). So Ctrl-C waits for all of it, as a resumed run must.
                with ctrl_c.held_back():
                    loss = self._update(step, loss)
                    solved = self.validate_every is not None and step % self.validate_every == 0 and self._check(step)
                    if step % log_every == 0 or step == last or solved:
                        self.losses.append((step, loss))
                    if evaluate_every is not None and (step % evaluate_every == 0 or step == last or solved):
                        self.held_out.append((step, evaluate(self.task, self.model, seed=self.seed)))
                bar.update(loss)
                ctrl_c.stop_if_pressed()
                if solved:
                    break
        return self.losses

    def _forward_backward(self):
        """Draw a batch of the current stage, go forward and back: the loss, a Tensor."""
        inputs, targets = self.stage_task.sample(self.batch_size, self.data)
        loss = self._loss(inputs, targets)
        self.optimizer.zero_grad()
        loss.backward()
        return loss

    def _update(self, step, loss):
        """The optimizer's update that ends step `step`: the batch's loss, as a number."""
        if self.clip is not None:
            optim.clip_grad_norm_(self.model.parameters(), self.clip)
        self.optimizer.step()
        self.step = step
        value = loss.item()
        if not np.isfinite(value):
            raise FloatingPointError(
                f"train: the loss became {value} at step {step}; try a smaller lr (now {self.optimizer.lr})"
            )
        return value

    def _loss(self, inputs, targets):
        """The current stage's loss; through tl.compile, one compiled function per stage."""
        task = self.stage_task
        if not self.compiled:
            return task.loss(self.model(inputs), targets)
        if self.stage not in self._losses:
            self._losses[self.stage] = compiled_function(lambda x, y: task.loss(self.model(x), y))
        return self._losses[self.stage](inputs, targets)

    def _check(self, step):
        """A validation check: record it, move the curriculum on, let the schedule see it.
        Returns whether the run is solved (validation reached `until`)."""
        task = self.stage_task
        value = self.validate()[task.metric]
        self.validation.append((step, self.stage, value))
        if self.stage < len(self.stages) - 1:
            if task.is_solved({task.metric: value}) or step - self.stage_start >= self.stage_steps[self.stage]:
                self.stage, self.stage_start = self.stage + 1, step
                self.stage_starts.append((step, self.stage))
            return False
        if self.schedule is not None:
            self.schedule.step(value)
        if self.until is not None and task.is_solved({task.metric: value}, self.until):
            self.solved_at = step
            return True
        return False

    def validate(self):
        """The current stage's metrics on its validation sequences (the same ones at every check)."""
        if self.stage not in self._validation_sets:
            self._validation_sets[self.stage] = self.stage_task.sample(
                self.validation_size, validation_stream(self.seed, self.stage), "validation"
            )
        inputs, targets = self._validation_sets[self.stage]
        return self.stage_task.evaluate(predict(self.model, inputs), targets)

    # ----- saving and restoring -------------------------------------------------------------
    def state(self):
        """(arrays, state): Adam's moments as {name: array}, named after the model's parameters,
        and everything else as JSON-able values. checkpoint.save(..., training=arrays) keeps
        the arrays; the state goes in the checkpoint's meta."""
        names = [name for name, _ in self.model.named_parameters()]
        arrays = {
            **{f"adam.m.{n}": m for n, m in zip(names, self.optimizer.m)},
            **{f"adam.v.{n}": v for n, v in zip(names, self.optimizer.v)},
        }
        state = {
            "step": self.step,
            "adam_steps": list(self.optimizer.steps),
            "streams": self._streams(),
            "losses": self.losses,
            "held_out": self.held_out,
            "lr": self.optimizer.lr,
            "stage": self.stage,
            "stage_start": self.stage_start,
            "stage_starts": self.stage_starts,
            "validation": self.validation,
            "solved_at": self.solved_at,
            "schedule": self.schedule.state_dict() if self.schedule is not None else None,
            "stages": len(self.stages),
        }
        return arrays, state

    def load_state(self, arrays, state):
        """Continue the run that state() described (the model's weights loaded beforehand).
        All or nothing: the whole state is checked first, and what does not fit this model or this
        run, or lies outside its range, is refused with the field named; the run is left as it was."""
        names = [name for name, _ in self.model.named_parameters()]
        moments = []
        for moment in "mv":
            for name, p in zip(names, self.optimizer.params):
                value = arrays.get(f"adam.{moment}.{name}")
                if value is None or np.shape(value) != p.shape:
                    found = "none" if value is None else f"shape {np.shape(value)}"
                    raise ValueError(
                        f"the training state does not fit this model: Adam's {moment} for {name} "
                        f"should have shape {p.shape}, found {found}"
                    )
                moments.append(np.array(value, dtype=p.dtype))
        if not isinstance(state, dict):
            raise ValueError(f"the training state is damaged: it is a {type(state).__name__}, not a dict")
        field = _Fields(state)
        step = field("step", is_integer, "an integer >= 0")
        adam_steps = field(
            "adam_steps",
            lambda v: _is_list(v, is_integer) and len(v) == len(names),
            f"{len(names)} integers >= 0, one for each parameter",
        )
        streams = field(
            "streams", _are_generator_states, "the states of 2 random generators (the data's, the dropout's)"
        )
        losses = field("losses", lambda v: _is_list(v, _pair(is_integer, is_real)), "a list of [step, loss]")
        held_out = field(
            "held_out",
            lambda v: _is_list(v, _pair(is_integer, lambda m: isinstance(m, dict) and all(map(is_real, m.values())))),
            "a list of [step, {metric: value}]",
        )
        lr = field("lr", lambda v: is_real(v) and 0 < v < math.inf, "a positive finite number", self.optimizer.lr)
        # (a run with a curriculum and one without are told apart by their number of stages)
        field("stages", lambda v: v == len(self.stages), f"this run's {len(self.stages)}", len(self.stages))

        def is_stage(v):
            return is_integer(v) and v < len(self.stages)

        stage = field("stage", is_stage, f"one of this run's {len(self.stages)} curriculum stages", 0)
        stage_start = field("stage_start", lambda v: is_integer(v) and v <= step, f"a step from 0 to {step}", 0)
        stage_starts = field(
            "stage_starts", lambda v: _is_list(v, _pair(is_integer, is_stage)), "a list of [step, stage]", [(0, 0)]
        )
        validation = field(
            "validation",
            lambda v: _is_list(
                v, lambda e: _is_sequence(e, 3) and is_integer(e[0]) and is_stage(e[1]) and is_real(e[2])
            ),
            "a list of [step, stage, value]",
            [],
        )
        solved_at = field(
            "solved_at",
            lambda v: v is None or (self.until is not None and is_integer(v) and 0 < v <= step),
            f"None, or a step from 1 to {step} where a run with `until` was solved",
            None,
        )
        schedule = field(
            "schedule",
            lambda v: (v is None) == (self.schedule is None),
            "this run's schedule's state" if self.schedule is not None else "None: this run has no schedule",
            None,
        )
        if schedule is not None:  # (all or nothing itself, and the last thing that can refuse)
            try:
                self.schedule.load_state_dict(schedule)
            except (TypeError, ValueError) as err:
                raise ValueError(f"the training state is damaged: its schedule: {err}") from None
        self.optimizer.m, self.optimizer.v = moments[: len(names)], moments[len(names) :]
        self.optimizer.steps, self.step = [int(t) for t in adam_steps], int(step)
        self.losses = [(int(s), float(v)) for s, v in losses]
        self.held_out = [(int(s), {str(k): float(v) for k, v in m.items()}) for s, m in held_out]
        self.optimizer.lr, self.stage, self.stage_start = float(lr), int(stage), int(stage_start)
        self.stage_starts = [(int(s), int(k)) for s, k in stage_starts]
        self.validation = [(int(s), int(k), float(v)) for s, k, v in validation]
        self.solved_at = None if solved_at is None else int(solved_at)
        self._set_streams(streams)

    def _streams(self):
        """The states of the training data's and the dropout's random generators."""
        return [self.data.bit_generator.state, random.generator().bit_generator.state]

    def _set_streams(self, states):
        self.data.bit_generator.state, random.generator().bit_generator.state = states


def until_range(task):
    """(whether a value of `until` can be asked for, what is expected in words). A value the
    metric can never reach would train every step asked for, and one it reaches before any
    training would stop at the first check: an accuracy must lie in (0, 1]; a loss (mse) must
    be above 0 and below the task's baseline, what a model that learned nothing scores."""
    if task.metric in LOWER_IS_BETTER:
        baseline = task.baseline()[task.metric]
        return (
            lambda v: 0 < v < baseline,
            f"a value of the task's {task.metric} above 0 and below its baseline {baseline:.4g} "
            f"({task.baseline_meaning})",
        )
    return lambda v: 0 < v <= 1, f"a value of the task's {task.metric} in (0, 1]"


def _check_task_and_model(task, model):
    # (a task is known by what training uses of it, so that a wrapped task serves too)
    if not all(hasattr(task, name) for name in ("sample", "loss", "evaluate", "metric", "easier")):
        raise TypeError(f"train: task must be a task, e.g. tl.tasks.make('copy'), got {task!r} ({type(task).__name__})")
    if not isinstance(model, nn.Module):
        raise TypeError(f"train: model must be a Module, e.g. SequenceModel(task), got {type(model).__name__}")


def _check_progress(progress):
    if progress is not False and progress is not None and not callable(getattr(progress, "write", None)):
        raise TypeError(f"train: progress must be False or a file such as sys.stderr, got {progress!r}")


class _Fields:
    """field(name, ok, expected[, default]): state[name] if ok(it) holds, else an error that names
    the field, what it holds and what was expected (a damaged or hand-edited checkpoint)."""

    def __init__(self, state):
        self.state = state

    def __call__(self, name, ok, expected, *default):
        if name not in self.state and default:
            return default[0]
        value = self.state.get(name, _MISSING)
        try:
            good = value is not _MISSING and ok(value)
        except (TypeError, ValueError, KeyError, AttributeError):
            good = False
        if not good:
            found = "missing" if value is _MISSING else repr(value)
            found = found if len(found) < 60 else f"{found[:57]}..."
            raise ValueError(f"the training state is damaged: its {name} is {found}; expected {expected}")
        return value


_MISSING = object()


def _is_sequence(v, n):
    return isinstance(v, (list, tuple)) and len(v) == n


def _is_list(v, ok):
    return isinstance(v, (list, tuple)) and all(ok(e) for e in v)


def _pair(first, second):
    return lambda v: _is_sequence(v, 2) and first(v[0]) and second(v[1])


def _are_generator_states(states):
    if not _is_sequence(states, 2):
        return False
    for saved in states:
        np.random.default_rng().bit_generator.state = saved  # refuses what is not a generator's state
    return True


def _stage_steps(stage_steps, easier):
    """The most steps of each of the `easier` stages, from one number for all or a list."""
    if not isinstance(stage_steps, (list, tuple)):
        check_positive_ints("train", stage_steps=stage_steps)
        return [stage_steps] * easier
    if len(stage_steps) != easier:
        raise ValueError(
            f"train: stage_steps must give one number for each of the {easier} easier stages, got {len(stage_steps)}"
        )
    check_positive_ints("train", **{f"stage_steps[{k}]": n for k, n in enumerate(stage_steps)})
    return list(stage_steps)


def _stages(task, curriculum):
    """The curriculum's tasks, easiest first, ending with the task itself."""
    if curriculum is False or curriculum is None:
        return [task]
    if curriculum is True:
        return [*task.easier(), task]
    if not isinstance(curriculum, (list, tuple)) or not all(isinstance(t, Task) for t in curriculum):
        raise TypeError(f"train: curriculum must be True, False or a list of tasks, got {curriculum!r}")
    other = [t.name for t in curriculum if t.name != task.name]
    if other:  # (the model's inputs and outputs are the task's: another task's would not fit them)
        raise ValueError(
            f"train: curriculum must be easier forms of the {task.name} task itself, got one of the {other[0]} task"
        )
    return [*curriculum, task]


class _CtrlC:
    """Ctrl-C while training stops it with the model as some whole step left it. Pressed during
    a step's batch, forward or backward pass, the step is dropped at once (its batch is drawn
    again by the next run); during the update or the checks after it, they are finished and
    training stops after them; pressed twice meanwhile, it stops at once, and there is no whole
    step to report.
    Leaving, it turns Ctrl-C into TrainingInterrupted(step, losses). Where Ctrl-C is ignored
    (nohup) or cannot be caught (only the main thread receives signals), nothing changes."""

    def __init__(self, training):
        self.training, self.step, self.streams = training, None, None
        self.pressed = self.holding = self.broken = False
        self.previous = signal.getsignal(signal.SIGINT)
        self.catching = (
            self.previous not in (signal.SIG_IGN, None) and threading.current_thread() is threading.main_thread()
        )

    def __enter__(self):
        if self.catching:
            signal.signal(signal.SIGINT, self._on_ctrl_c)
        return self

    def _on_ctrl_c(self, signum, frame):
        if not self.holding:
            raise KeyboardInterrupt
        self.pressed = True
        signal.signal(signal.SIGINT, self.previous)  # a second press is an ordinary Ctrl-C

    def step_starts(self, step):
        """Remember where the random streams stand: a step dropped draws its batch again."""
        self.step, self.streams = step, None  # (Ctrl-C before the next line: nothing drawn yet)
        self.streams = self.training._streams()

    @contextlib.contextmanager
    def held_back(self):
        """Within, a first Ctrl-C only sets `pressed`; the block finishes."""
        self.holding = True
        try:
            yield
        except KeyboardInterrupt:
            self.broken = True  # the update, or the checks after it, stopped half-way
            raise
        finally:
            self.holding = False

    def stop_if_pressed(self):
        if self.pressed:
            raise KeyboardInterrupt

    def __exit__(self, kind, error, traceback):
        if self.catching:
            signal.signal(signal.SIGINT, self.previous)
        if kind is None or not issubclass(kind, KeyboardInterrupt) or self.broken:
            return False  # (a second Ctrl-C in an update goes on as a plain KeyboardInterrupt)
        training = self.training
        if self.streams is not None and training.step < self.step:  # a dropped step: its batch is drawn again
            training._set_streams(self.streams)
        raise TrainingInterrupted(training.step, training.losses) from None


@no_grad()
def predict(model, inputs):
    model.eval()
    try:
        return model(inputs).numpy()
    finally:
        model.train()


def evaluate(task, model, n=1000, seed=0):
    """Held-out metrics on n sequences of the task's test part (which training never draws)."""
    inputs, targets = task.sample(n, held_out_stream(seed), "test")
    return task.evaluate(predict(model, inputs), targets)


class _progress:
    """Progress on a file: on a terminal a bar that redraws itself (tqdm when installed, else a
    plain one); anywhere else, a log, a line every 10% of the steps, never a carriage return.
    Steps count from the run's start (first + 1 .. last); nothing when stream is False."""

    def __init__(self, first, last, stream):
        self.first, self.step, self.last, self.stream = first, first, last, stream
        self.start, self.tqdm = time.perf_counter(), None
        self.terminal = bool(stream) and getattr(stream, "isatty", lambda: False)()
        if self.terminal:
            try:
                from tqdm import tqdm

                self.tqdm = tqdm(initial=first, total=last, file=stream, unit="step", leave=True)
            except ImportError:
                pass

    def update(self, loss):
        self.step += 1
        done, total = self.step - self.first, self.last - self.first
        if self.tqdm is not None:
            self.tqdm.set_postfix(loss=f"{loss:.4f}", refresh=False)
            self.tqdm.update(1)
        elif self.terminal and (done % max(1, total // 50) == 0 or done == total):
            bar = "#" * int(30 * self.step / self.last)
            self.stream.write(f"\r[{bar:30s}] {self._line(loss)}")
            self.stream.flush()
        elif self.stream and not self.terminal and done * 10 // total > (done - 1) * 10 // total:
            self.stream.write(f"{self._line(loss)}\n")
            self.stream.flush()

    def _line(self, loss):
        rate = (self.step - self.first) / (time.perf_counter() - self.start)
        return f"step {self.step}/{self.last} loss {loss:.4f} {rate:.1f} step/s"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.tqdm is not None:
            self.tqdm.close()
        elif self.terminal:
            self.stream.write("\n")
