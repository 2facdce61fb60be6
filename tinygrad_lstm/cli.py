"""The `tinygrad-lstm` command (also `python -m tinygrad_lstm`).

    tinygrad-lstm demo                       the LSTM learns the context task (five to eight minutes)
    tinygrad-lstm train adding --seq-len 100 --steps 1500
    tinygrad-lstm train adding --model rnn   the same for a plain RNN, to compare
    tinygrad-lstm train adding --resume runs/adding-lstm.npz --steps 500   500 steps more
    tinygrad-lstm eval runs/adding-lstm.npz --plot curves.png   held-out metrics again; the curves
    tinygrad-lstm sample runs/context-lstm.npz --text "mary is a coder . what does mary do ?"
    tinygrad-lstm graph -o lstm_step.svg     a picture of one LSTM training step

Nothing ends in a traceback: bad arguments, or a path that cannot be written, print what was
expected and exit with status 2 (paths are checked before training starts); what the machine
lacks or a run that goes wrong (no Graphviz or matplotlib, out of memory, a diverging loss)
prints one line and exits with 1; Ctrl-C stops at once (an optimizer update in hand is finished
first), saves what `train` has trained so far (which --resume continues), and exits with 130.
"""

import argparse
import contextlib
import hashlib
import math
import os
import re
import sys
import time

import numpy as np

from . import __version__, tasks
from .checkpoint import NotACheckpointError, read, save
from .checks import is_integer, is_real
from .files import check_writable, write_atomically
from .random import manual_seed
from .tasks.base import LOWER_IS_BETTER, Task
from .tasks.text import generate
from .train import (
    RECURRENT,
    SCHEDULES,
    SequenceModel,
    Training,
    TrainingInterrupted,
    evaluate,
    held_out_stream,
    predict,
    until_range,
)

# Per task: the options a first run should use (each can be overridden on the command line).
# Measured on 2 cores at one BLAS thread: docs/command_line.md gives each one's time and held-out metric.
DEFAULTS = {
    # Shorter sequences (25, 50) first, then stop once 99% of the validation sequences are solved:
    # about half the time of 1500 steps at T=100, to the same held-out score (docs/command_line.md).
    "adding": dict(seq_len=100, steps=1500, lr=1e-2, hidden=32, curriculum=True, until=0.99),
    "copy": dict(seq_len=10, steps=3000, lr=1e-2, hidden=64, curriculum=True, until=0.99),
    # The demo's LSTM. Binding names to jobs is found first on sentences without filler (a plateau
    # at "one of the two mentioned jobs" until it is), then kept across 4 and 8 filler sentences,
    # each stage until validation is 99% right; training stops when the validation sentences (fact
    # combinations never trained on) are 99.5% right: at 99% some seeds scored 96.5% on the test's
    # combinations. Batch 128 and forget-gate bias 5 found it fastest (docs/command_line.md).
    "context": dict(
        seq_len=8,
        steps=3000,
        lr=1e-2,
        hidden=48,
        embedding=32,
        forget_bias=5.0,
        batch_size=128,
        curriculum=True,
        until=0.995,
    ),
    "sine": dict(seq_len=50, steps=1000, lr=1e-2, hidden=32),
    # About a minute on one core: 2500 steps of 32 windows of 64 characters (5M characters read),
    # far below the unigram baseline (docs/text.md). Adam at 3e-3: after 3000 steps 1.94 bits/char,
    # 1e-2 about the same (1.92), 1e-3 worse (2.15); windows of 32 or 128 the same; 256 units 1.79
    # in twice the time. Nothing to stop on or move through, so validation only every 500 steps.
    "text": dict(seq_len=64, steps=2500, lr=3e-3, hidden=128, embedding=32, validate_every=500),
}
# The plain RNN's own learning rate on the demo's task, tuned over 1e-3, 3e-3 and 1e-2 with the
# demo's budget (benchmarks/demo.py --tune): the best validation accuracy on seeds 0 to 4.
DEMO_RNN_LR = 1e-3
# Where a model other than the LSTM learns best with other settings than the task's defaults.
MODEL_DEFAULTS = {("context", "rnn"): dict(lr=DEMO_RNN_LR)}
SAMPLE_CHARS = 200  # what `sample --prime` writes by default
DEMO_RNN_STEPS = 1500  # the least the RNN trains in the demo, however soon the LSTM was done
# The options a run keeps from its start to its end: a resumed run takes them from its checkpoint.
RUN_SETTINGS = (
    "model",
    "hidden",
    "layers",
    "seq_len",
    "lr",
    "batch_size",
    "seed",
    "curriculum",
    "stage_steps",
    "schedule",
    "until",
    "validate_every",
    "threads",  # (another number of BLAS threads adds up in another order: other bits)
    "text",  # the text task's file (None: the text the package carries)
)
# and the model's sizes; the planned steps; how often the history logs the loss and the held-out metrics
# and the text's fingerprint: a text task rebuilt from another text would give its characters other ids
SAVED_SETTINGS = (*RUN_SETTINGS, "embedding", "forget_bias", "steps", "log_every", "evaluate_every", "text_sha256")
FOR_EVERY_TASK = dict(
    model="lstm",
    layers=1,
    batch_size=32,
    seed=0,
    curriculum=False,
    stage_steps=1000,
    schedule="constant",
    until=None,
    validate_every=100,
    embedding=16,
    forget_bias=1.0,
    threads=1,
    text=None,
)
MAX_LAYERS = 100  # (each layer is built at once: a typo of many digits would fill the memory first)
PLOT_FORMATS = (".png", ".svg", ".pdf")


def _number(convert, low, inclusive, expected, high=math.inf):
    """An argparse type: convert(text), which must be finite, above (or at) low and at most high."""

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if convert is int and abs(value) >= 2**31:  # (before np.isfinite, which cannot take an int this large)
            raise argparse.ArgumentTypeError(f"expected {expected} below 2**31, got {text}")
        if not (np.isfinite(value) and (value >= low if inclusive else value > low) and value <= high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    return parse


positive_int = _number(int, 0, False, "a positive integer")
non_negative_int = _number(int, 0, True, "an integer >= 0")
positive_float = _number(float, 0, False, "a positive number")
non_negative_float = _number(float, 0, True, "a number >= 0")
# (a subnormal learning rate is a zero in all but name: Adam's steps round away)
learning_rate = _number(float, sys.float_info.min, True, f"a positive number of at least {sys.float_info.min:.3g}")
layer_count = _number(int, 1, True, f"a number of layers from 1 to {MAX_LAYERS}", MAX_LAYERS)


def until_value(text):
    """An argparse type: a metric's value, or 'none' (train every step). Its range depends on the
    task's metric, checked once the task is known (_check_recipe)."""
    if text.lower() == "none":
        return "none"
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a value of the task's metric, or none, got {text!r}") from None


def file_path(text):
    """An argparse type: the path of a file to write, which can't be empty."""
    if not text:
        raise argparse.ArgumentTypeError("expected a file path, got ''")
    return text


class Parser(argparse.ArgumentParser):
    """argparse, with its errors in one line (the usage it would print first hides them in a long
    run's log; --help shows it)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _values_attached(argv):
    """argv with an option's negative number given as its value (`--until -inf` as `--until=-inf`):
    argparse takes a word that starts with "-" for an option unless it looks like -1 or -0.5."""
    argv, joined = list(argv), []
    for word in argv:
        if joined and joined[-1].startswith("--") and "=" not in joined[-1] and word.startswith("-"):
            try:
                float(word)
            except ValueError:
                pass
            else:
                joined[-1] = f"{joined[-1]}={word}"
                continue
        joined.append(word)
    return joined


class Failed(Exception):
    """A run that cannot go on for a reason other than its options: one line, exit status 1."""


def _per_task(setting):
    """The default of a setting for each task, in words: 'adding 32, copy 64, ...'."""

    def shown(value):
        return {True: "on", False: "off", None: "none"}.get(value, value) if not isinstance(value, float) else value

    return ", ".join(f"{task} {shown({**FOR_EVERY_TASK, **options}[setting])}" for task, options in DEFAULTS.items())


def build_parser():
    parser = Parser(
        prog="tinygrad-lstm",
        description="Train LSTMs on toy sequence tasks, use the saved models again, and draw their computation graphs.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, summary, description):
        return commands.add_parser(name, help=summary, description=f"{summary[0].upper()}{summary[1:]}. {description}")

    run = command(
        "train",
        "train a model on a toy task, report held-out metrics, save it",
        "Progress goes to stderr: a bar on a terminal, a line every 10% of the steps in a log. "
        "Ctrl-C saves the model so far, and --resume continues it.",
    )
    run.add_argument("task", choices=list(tasks.TASKS), help="which task")
    run.add_argument("--model", choices=list(RECURRENT), help="recurrent layer (default: lstm)")
    run.add_argument("--hidden", type=positive_int, help=f"hidden units (default: {_per_task('hidden')})")
    run.add_argument("--layers", type=layer_count, help=f"stacked recurrent layers, at most {MAX_LAYERS} (default: 1)")
    run.add_argument(
        "--seq-len",
        type=non_negative_int,
        help="sequence length: adding/sine steps, copy gap, "
        f"context filler sentences (default: {_per_task('seq_len')})",
    )
    run.add_argument(
        "--steps",
        type=positive_int,
        help=f"training steps (default: {_per_task('steps')}; with --resume, the steps its run had left)",
    )
    run.add_argument("--batch-size", type=positive_int, help=f"sequences per step (default: {_per_task('batch_size')})")
    run.add_argument(
        "--lr",
        type=learning_rate,
        help=f"Adam's learning rate (default: {_per_task('lr')}; context with --model rnn {DEMO_RNN_LR})",
    )
    run.add_argument(
        "--seed", type=non_negative_int, help="seeds the weights, the batches and the held-out sequences (default: 0)"
    )
    run.add_argument(
        "--checkpoint",
        type=file_path,
        help="where to save (default: runs/TASK-MODEL.npz; with --resume, the checkpoint it continues)",
    )
    run.add_argument(
        "--resume",
        type=file_path,
        metavar="CHECKPOINT",
        help="continue the run saved there: "
        "its weights, Adam's state, its step count and its batches, as if it had never stopped "
        "(--model, --hidden, --layers, --seq-len, --lr, --batch-size, --seed, the recipe's options and "
        "--threads are the run's own: another value is refused)",
    )
    run.add_argument(
        "--curriculum",
        action=argparse.BooleanOptionalAction,
        help="train on the task's easier "
        "forms first (context: 0, then half the filler sentences; adding: shorter sequences; copy: "
        "shorter gaps), each until its validation reaches the task's mark (context and copy 0.99, "
        f"adding 0.95) or --stage-steps (default: {_per_task('curriculum')})",
    )
    run.add_argument(
        "--stage-steps",
        type=positive_int,
        help="the most steps each easier form of the curriculum takes, a multiple of --validate-every (default: 1000)",
    )
    run.add_argument(
        "--schedule",
        choices=SCHEDULES,
        help="the learning rate: constant, or plateau (halved when "
        "validation has not improved for 3 checks, down to lr/100) (default: constant)",
    )
    run.add_argument(
        "--until",
        type=until_value,
        metavar="VALUE",
        help="stop when the validation metric (sequences "
        "never trained on, never the reported ones) reaches VALUE, checked every --validate-every steps; 'none' "
        f"trains every step (default: {_per_task('until')})",
    )
    run.add_argument(
        "--validate-every",
        type=positive_int,
        metavar="STEPS",
        help="how often the validation "
        "sequences are scored, for the curriculum, the schedule and --until (default: 100)",
    )
    run.add_argument(
        "--plot",
        type=file_path,
        metavar="PICTURE",
        help="draw the loss, the validation and held-out "
        "metric and the curriculum's phases against the step "
        f"({', '.join(PLOT_FORMATS)}; needs matplotlib)",
    )
    run.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    run.add_argument(
        "--eager",
        action="store_true",
        help="run each step op by op, not through tl.compile's rewritten replay (slower; equal to rounding)",
    )
    run.add_argument(
        "--text",
        type=file_path,
        metavar="FILE",
        help="text task only: the UTF-8 text file to learn, a held-out tenth of it never trained on "
        "(default: Python's documentation topics, which the package carries)",
    )
    _threads_option(run)

    score = command(
        "eval",
        "report a saved model's held-out metrics",
        "The model is rebuilt from the "
        "checkpoint and scored on the held-out sequences training scored it on: the same numbers.",
    )
    score.add_argument("checkpoint", type=file_path, help="a checkpoint `tinygrad-lstm train` saved")
    score.add_argument(
        "--plot",
        type=file_path,
        metavar="PICTURE",
        help="draw its training history: the "
        f"loss and the held-out metric against the step ({', '.join(PLOT_FORMATS)}; needs matplotlib)",
    )
    _moved_text_option(score)
    _threads_option(score)

    sample = command(
        "sample",
        "show a saved model's answers to held-out sequences, or let a text model write",
        "Each line: the sequence, the model's answer and the right one, as the demo shows them. "
        "With --prime, a model of the text task writes on from the prime, one character at a time.",
    )
    sample.add_argument("checkpoint", type=file_path, help="a checkpoint `tinygrad-lstm train` saved")
    sample.add_argument(
        "-n",
        type=positive_int,
        help=f"how many sequences (default: 5), or with --prime how many characters to write (default: {SAMPLE_CHARS})",
    )
    sample.add_argument("--prime", help='text task only: the text to start from, e.g. "The assert statement"')
    sample.add_argument(
        "--temperature",
        type=non_negative_float,
        help="with --prime: each character is drawn from softmax(scores / T); 0 always takes the likeliest, "
        "below 1 plays safe, above 1 takes risks (default: 1, the model's own probabilities)",
    )
    sample.add_argument("--seed", type=non_negative_int, help="with --prime: seeds the characters drawn (default: 0)")
    sample.add_argument(
        "--text",
        help="context task only: a sentence of yours for the model to answer, "
        'e.g. "mary is a coder . what does mary do ?"',
    )
    _threads_option(sample)

    demo = command(
        "demo",
        "train an LSTM and a plain RNN on the context task and compare them",
        "The tutorial's claim, measured: both learn to answer 'what does NAME do ?' about facts given "
        "8 filler sentences earlier, from the same stream of sentences, each with its own learning "
        "rate; then both answer held-out sentences. Under half a minute on one core; nothing is saved.",
    )
    demo.add_argument(
        "--steps",
        type=positive_int,
        default=DEFAULTS["context"]["steps"],
        help="the most steps the LSTM trains; it stops once validation is 99.5%% right (default: %(default)s)",
    )
    demo.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        help="seeds the weights, the batches and the held-out sequences (default: %(default)s)",
    )
    demo.add_argument("--no-progress", action="store_true", help="no progress on stderr")
    demo.add_argument(
        "--eager",
        action="store_true",
        help="run each step op by op, not through tl.compile's rewritten replay (slower; equal to rounding)",
    )
    _threads_option(demo)

    cells = command(
        "cells",
        "find the LSTM units of a text model whose cell state follows the text",
        "For each property (inside quotes, inside brackets, the column, ...) the unit of the first "
        "layer whose cell state c_t follows it best on held-out text, with Pearson's r, drawn over "
        "a passage: a page (.html) or a picture (.png, needs matplotlib).",
    )
    cells.add_argument("checkpoint", type=file_path, help="a checkpoint of an LSTM `train text` saved")
    cells.add_argument(
        "-o",
        "--output",
        type=file_path,
        default="cells.html",
        help="file to write: .html or .png (default: %(default)s)",
    )
    cells.add_argument(
        "--chars",
        type=_number(int, 2, True, "an integer of at least 2"),
        default=600,
        help="characters of the passage shown (default: %(default)s)",
    )
    _moved_text_option(cells)
    _threads_option(cells)

    graph = command(
        "graph",
        "draw one LSTM training step's computation graph",
        "Needs Graphviz's dot, except for the DOT text (-o FILE.dot).",
    )
    graph.add_argument(
        "-o",
        "--output",
        type=file_path,
        default="lstm_step.svg",
        help="file to write; its "
        "suffix picks the format: .svg (default), .png, .pdf, .dot for the DOT text alone, "
        "or .html for a page that steps through backward() one op at a time",
    )
    graph.add_argument("--seq-len", type=positive_int, default=3, help="time steps (default: %(default)s)")
    graph.add_argument("--hidden", type=positive_int, default=4, help="hidden units (default: %(default)s)")
    graph.add_argument(
        "--collapse",
        action="store_true",
        help="show one time step, marked x T (long sequences are collapsed without it too)",
    )
    graph.add_argument(
        "--timeout", type=positive_float, default=60, help="seconds Graphviz's dot may take (default: %(default)s)"
    )
    return parser


def _moved_text_option(command):
    command.add_argument(
        "--text",
        type=file_path,
        metavar="FILE",
        help="a text model's text, where it is now if it has moved since training (its content must be the same)",
    )


def _threads_option(command):
    command.add_argument(
        "--threads",
        type=positive_int,
        help="BLAS threads for numpy's matrix "
        "products (default: 1, or the run's own for a checkpoint's: these models are small, and a second "
        "thread costs more in handing work over than it saves, and much more on a busy machine)",
    )


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(_values_attached(sys.argv[1:] if argv is None else argv))
    who = f"tinygrad-lstm {args.command}"
    commands = {
        "train": run_train,
        "eval": run_eval,
        "sample": run_sample,
        "demo": run_demo,
        "graph": run_graph,
        "cells": run_cells,
    }
    # One BLAS thread unless --threads says (a command that reads a checkpoint then takes its run's)
    threads = (args.threads or 1) if hasattr(args, "threads") else None
    try:
        with _blas_threads(threads):
            status = commands[args.command](args)
            sys.stdout.flush()  # (here, where a closed output is caught, not at the interpreter's exit)
            return status
    except KeyboardInterrupt as stop:  # TrainingInterrupted says where training stopped
        parser.exit(130, f"{who}: {str(stop) or 'stopped by Ctrl-C'}\n")
    except BrokenPipeError:  # the output was closed (| head): stop quietly, as a Unix tool does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (what is still buffered goes nowhere)
        return 1
    except (ValueError, TypeError, OSError) as err:  # a bad combination of options, a path we cannot use
        parser.exit(2, f"{who}: error: {err}\n")
    except (Failed, FloatingPointError) as err:  # FloatingPointError: the loss diverged
        parser.exit(1, f"{who}: error: {err}\n")
    except MemoryError as err:  # numpy's says how much it asked for
        parser.exit(1, f"{who}: out of memory ({err or 'no details'}); try a smaller model, batch or sequence\n")


@contextlib.contextmanager
def _blas_threads(n):
    """numpy's BLAS (OpenBLAS, MKL, ...) on n threads within, as set at the start: whatever
    OPENBLAS_NUM_THREADS says, the same threads and so the same sums on every machine."""
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield


def run_train(args):
    if args.resume:
        task, settings, training = _resumed(args)
        if training.finished:
            raise ValueError(
                f"--resume {args.resume}: its run stopped at step {training.solved_at}, when validation "
                f"reached --until {settings['until']}; there is nothing left to train"
            )
        steps = args.steps or settings["steps"] - training.step  # by default, what the run had left
        if steps <= 0:
            raise ValueError(
                f"--resume {args.resume}: its run finished its {_steps(training.step)}; say how many more with --steps"
            )
    else:
        given = _given(args)
        model = given.get("model", FOR_EVERY_TASK["model"])
        settings = {**FOR_EVERY_TASK, **DEFAULTS[args.task], **MODEL_DEFAULTS.get((args.task, model), {}), **given}
        if settings["text"] is not None and args.task != "text":
            raise ValueError(f"--text: only the text task reads a text file; the {args.task} task makes its own")
        task, steps = _make_task(args.task, settings), args.steps or settings["steps"]
        settings["text_sha256"] = _fingerprint(task)
        _check_recipe(args, task, settings)
    checkpoint = args.checkpoint or args.resume or os.path.join("runs", f"{args.task}-{settings['model']}.npz")
    if args.plot and _same_file(args.plot, checkpoint):
        raise ValueError(f"--plot {args.plot}: that is the checkpoint's file, which the picture would replace")
    check_writable(checkpoint)  # now, not after an hour of training
    if args.plot:
        _check_plot(args.plot)
    if not args.resume:
        manual_seed(settings["seed"])
        training = _training(task, _make_model(task, settings["model"], settings), settings, not args.eager)
    model = training.model
    lr = f"lr {training.optimizer.lr}"  # (where a schedule has lowered it, the lr it goes on with)
    if args.resume:
        doing, more = "resuming", f" at step {training.step} for {_steps(steps, 'more ')}"
        lr += f" (it started at {settings['lr']})" if training.optimizer.lr != settings["lr"] else ""
    else:
        doing, more = "training", f" for {'at most ' if settings['until'] is not None else ''}{_steps(steps)}"
    print(f"{doing} {_describe(task, settings)}{more}, {lr}, seed {settings['seed']}")
    # The history's intervals are the run's own from its start (a resumed run's are in its
    # checkpoint), so that its curves are those of a run that never stopped: the loss every 1% of
    # the steps, the held-out metrics every 5% (evaluating costs more).
    planned = settings["steps"] if args.resume else steps
    settings = {
        "log_every": max(1, planned // 100),
        "evaluate_every": max(1, planned // 20),
        **settings,
        "steps": training.step + steps,  # the run's planned end
    }
    start = time.perf_counter()

    def meta(**outcome):
        arrays, state = training.state()
        return dict(meta={"task": args.task, **settings, "training": state, **outcome}, training=arrays)

    with _blas_threads(settings["threads"]):  # (a resumed run's own, when --threads is not given)
        try:
            training.run(
                steps,
                progress=None if args.no_progress else sys.stderr,
                log_every=settings["log_every"],
                evaluate_every=settings["evaluate_every"],
            )
        except TrainingInterrupted as stop:  # the model so far is kept, and can be resumed
            save(model.state_dict(), checkpoint, **meta(interrupted_at=stop.step))
            raise KeyboardInterrupt(f"{stop}; the model so far is saved to {checkpoint}") from None
        except KeyboardInterrupt:  # a second Ctrl-C, half-way through an update: no whole model to keep
            raise KeyboardInterrupt(
                "stopped at once by a second Ctrl-C, half-way through a step; nothing was saved"
            ) from None
    seconds, (_, metrics) = time.perf_counter() - start, training.held_out[-1]
    # saved before anything more is printed: a closed or full output cannot lose the model
    save(model.state_dict(), checkpoint, **meta(metrics=metrics))
    print(f"done in {seconds:.1f}s; {_how_it_ended(training)}")
    _report(task, metrics)
    print(f"checkpoint saved to {checkpoint}")
    if args.plot:
        _plot(args.plot, task, training.state()[1], settings)
    return 0


def run_eval(args):
    if args.plot and _same_file(args.plot, args.checkpoint):
        raise ValueError(f"--plot {args.plot}: that is the checkpoint's file, which the picture would replace")
    if args.plot:
        _check_plot(args.plot)
    task, model, meta, adam = _open(args.checkpoint, args.text)
    history = meta.get("training")
    if history is not None:  # (checked as a resume would check it: a damaged one is refused)
        _continued(args.checkpoint, task, model, meta, adam, compiled=False)
    if args.plot and not (isinstance(history, dict) and history.get("held_out")):
        raise ValueError(f"{args.checkpoint!r} holds no training history to plot")
    if args.plot and not all(isinstance(m, dict) and task.metric in m for _, m in history["held_out"]):
        raise ValueError(
            f"{args.checkpoint!r} holds no {task.metric} history to plot (its training history "
            f"is not one of the {task.name} task's)"
        )
    step = meta.get("interrupted_at", meta["steps"])  # a run that was not stopped trained the steps it planned
    stopped = " (stopped by Ctrl-C)" if "interrupted_at" in meta else ""
    if isinstance(history, dict) and history.get("solved_at") is not None:
        step, stopped = history["solved_at"], f" (solved: validation reached {meta['until']:g})"
    print(
        f"{args.checkpoint}: {_describe(task, meta)}, trained {_steps(step)}{stopped}, "
        f"lr {meta['lr']}, seed {meta['seed']}"
    )
    with _blas_threads(args.threads or meta["threads"]):
        _report(task, evaluate(task, model, seed=meta["seed"]))
    if args.plot:
        _plot(args.plot, task, history, meta)
    return 0


def run_sample(args):
    task, model, meta, _ = _open(args.checkpoint)
    if args.prime is None and (args.temperature is not None or args.seed is not None):
        raise ValueError(
            f"--{'temperature' if args.temperature is not None else 'seed'}: it is for writing from --prime"
        )
    if args.prime is not None:
        if args.text is not None:
            raise ValueError(
                "--text and --prime: --text is a sentence for a context model, --prime a start for a text model"
            )
        if task.name != "text":
            raise ValueError(
                f"--prime: only a model of the text task writes; {args.checkpoint!r} holds one of the {task.name} task"
            )
        temperature = 1.0 if args.temperature is None else args.temperature
        try:
            ids = task.encode(args.prime)  # (a character the model never saw, named)
        except ValueError as err:
            raise ValueError(f"--prime: {str(err).removeprefix('text: ')}") from None
        if not len(ids):
            raise ValueError("--prime: give at least one character to start from")
        with _blas_threads(args.threads or meta["threads"]):
            print(generate(model, task, args.prime, args.n or SAMPLE_CHARS, temperature, args.seed or 0))
        return 0
    if args.text is None:
        with _blas_threads(args.threads or meta["threads"]):
            _show_examples(task, model, args.n or 5, meta["seed"])
        return 0
    if task.name != "context":
        also = " (a text model writes on from --prime)" if task.name == "text" else ""
        raise ValueError(
            f"--text: only a model of the context task answers sentences{also}; "
            f"{args.checkpoint!r} holds one of the {task.name} task"
        )
    words = re.findall(r"[^\s.?]+|[.?]", args.text.lower())  # "coder." is "coder" and "."
    unknown = [w for w in dict.fromkeys(words) if w not in task.vocab]
    if not words or unknown:
        what = f"unknown words: {' '.join(unknown)}" if words else "no words"
        raise ValueError(f"--text: {what}; the model knows only these: {' '.join(task.vocab)}")
    try:
        task.check_question(words)
    except ValueError as err:
        raise ValueError(f"--text: {err}") from None
    scores = predict(model, task.encode(words)[None])[0, -1]
    print(f"{' '.join(words)}  -> {tasks.context.JOBS[scores.argmax()]}")
    return 0


def run_demo(args):
    start = time.perf_counter()
    task = tasks.make("context", seq_len=DEFAULTS["context"]["seq_len"])
    words = task.n_fillers * task._filler_len
    print("The tutorial's claim: an LSTM keeps context that a plain RNN forgets. Both learn to answer")
    print(f"'what does NAME do ?' about two facts given {task.n_fillers} filler sentences ({words} words) earlier,")
    print("from the same stream of training sentences, easier ones first (0, then 4 fillers), each with its")
    print("own learning rate. Held out: pairs of facts that no training sentence ever put together.\n")
    runs = demo_runs(
        args.seed, args.steps, compiled=not args.eager, progress=False if args.no_progress else sys.stderr, say=print
    )
    print()
    baseline, chance = task.baseline()["accuracy"], task.chance()["accuracy"]
    for kind, (training, seconds) in runs.items():
        accuracy = evaluate(task, training.model, seed=args.seed)["accuracy"]
        print(
            f"{NAMES[kind]:9s} {accuracy:6.1%} of 1000 held-out sentences right   ({_steps(training.step)}, "
            f"{seconds:.1f}s; {_how_it_ended(training)})"
        )
        if not task.beats_baseline({"accuracy": accuracy}):
            print(f"{'':16s} no better than the baseline: it did not learn whose job is whose")
    if args.steps < DEMO_RNN_STEPS:  # (so that a short demo is not read as the two on equal steps)
        print(
            f"{'':16s} (the plain RNN trains at least {DEMO_RNN_STEPS} steps whatever --steps says, "
            "so that it does not fail for want of steps)"
        )
    print(f"{'':16s} baseline {baseline:.1%}: {task.baseline_meaning}")
    print(f"{'':16s} chance {chance:.1%}: {task.chance_meaning}")
    distances = [*(t.n_fillers for t in task.easier()), task.n_fillers]
    print("\nheld-out accuracy by the filler sentences between the facts and the question:")
    print(f"{'':9s}" + "".join(f"{d:>8d}" for d in distances))
    for kind, (training, _) in runs.items():
        scores = [
            evaluate(tasks.make("context", seq_len=d), training.model, seed=args.seed)["accuracy"] for d in distances
        ]
        print(f"{NAMES[kind]:9s}" + "".join(f"{a:8.1%}" for a in scores))
    print("\nheld-out examples (the fillers shortened to ...):")
    inputs, targets = task.sample(4, held_out_stream(args.seed + 1), "test")
    answers = {kind: predict(training.model, inputs)[:, -1].argmax(axis=-1) for kind, (training, _) in runs.items()}
    for k in range(len(inputs)):
        said = "   ".join(
            f"{NAMES[kind]}: {tasks.context.JOBS[a[k]]} {'right' if a[k] == targets[k] else 'wrong'}"
            for kind, a in answers.items()
        )
        print(f"  {task.decode(inputs[k], short=True)}   {said}")
    print(
        f"\n({time.perf_counter() - start:.1f}s in all. The curve over more distances, with a GRU too: "
        "python benchmarks/memory_span.py)"
    )
    return 0


def demo_runs(seed, steps=DEFAULTS["context"]["steps"], compiled=True, progress=False, say=None):
    """The demo's two runs on the context task, from one seed: {kind: (Training, seconds)}.
    progress: as Training.run's; say: a function given a line as each run starts."""
    lstm = demo_run("lstm", seed, steps=steps, compiled=compiled, progress=progress, say=say)
    rnn = demo_run("rnn", seed, follow=lstm[0], compiled=compiled, progress=progress, say=say)
    return {"lstm": lstm, "rnn": rnn}


def demo_run(
    kind, seed, steps=DEFAULTS["context"]["steps"], lr=None, follow=None, compiled=True, progress=False, say=None
):
    """One of the demo's runs: (Training, seconds). The LSTM trains with the context task's defaults
    (a curriculum of 0, 4, then 8 filler sentences; until validation is 99.5% right, at most `steps`).
    A run that follows another (the plain RNN follows the LSTM) trains with its own learning rate
    (lr, by default DEMO_RNN_LR) on the same stream of batches: it moves to the next stage where the
    other moved (it never reaches a stage's mark itself), and trains as many steps as the other did,
    and at least DEMO_RNN_STEPS."""
    settings = {**FOR_EVERY_TASK, **DEFAULTS["context"], "seed": seed}
    task = tasks.make("context", seq_len=settings["seq_len"])
    manual_seed(seed)
    model = _make_model(task, kind, settings)
    if follow is not None:
        lengths = [b - a for (a, _), (b, _) in zip(follow.stage_starts, follow.stage_starts[1:])]
        stage_steps = lengths + [settings["stage_steps"]] * (len(follow.stages) - 1 - len(lengths))
        settings = {**settings, "lr": lr or DEMO_RNN_LR, "stage_steps": stage_steps}
        steps = max(follow.step, DEMO_RNN_STEPS)
    elif lr is not None:
        settings = {**settings, "lr": lr}
    training = _training(task, model, settings, compiled)
    if say:
        units = f"{settings['hidden']} units, lr {settings['lr']:g}"
        say(f"training the {NAMES[kind]} ({units}) for at most {_steps(steps)}")
    began = time.perf_counter()
    training.run(steps, progress=progress, log_every=max(1, steps // 100))
    return training, time.perf_counter() - began


NAMES = {"lstm": "LSTM", "rnn": "plain RNN", "gru": "GRU"}


def _how_it_ended(training):
    """How a run ended, by its validation checks: solved at a step, or not reached."""
    task = training.task
    if training.until is None:
        return f"trained all {_steps(training.step)}" if training.step != 1 else "trained its 1 step"
    if training.finished:
        return f"validation {task.metric} reached {training.until:g} at step {training.solved_at}"
    if not training.validation:
        return f"no validation check in {_steps(training.step)} (one every {training.validate_every})"
    last = [value for _, stage, value in training.validation if stage == len(training.stages) - 1]
    best = (
        f" (best {max(last) if task.metric not in LOWER_IS_BETTER else min(last):.4g})"
        if last
        else " (it never got past the curriculum's easier stages)"
    )
    return f"validation {task.metric} did not reach {training.until:g}{best}"


def run_graph(args):
    from .viz import GraphTooLarge, write_training_step

    text_only = f"`-o {os.path.splitext(args.output)[0]}.dot` writes the DOT text, which needs no Graphviz"
    try:
        written = write_training_step(
            args.output,
            seq_len=args.seq_len,
            hidden=args.hidden,
            collapse=True if args.collapse else "auto",
            timeout=args.timeout,
        )
    except GraphTooLarge as err:  # said in the command's own options
        raise Failed(
            f"the graph has {err.nodes} nodes, more than {err.max_nodes} can be drawn; "
            + ("pass --collapse to draw one time step, or " if err.collapsible else "")
            + "use a smaller --seq-len"
        ) from None
    except RuntimeError as err:  # Graphviz's dot is missing, or failed
        raise Failed(f"{err}; {text_only}") from None
    except TimeoutError as err:
        raise Failed(f"{err}; --timeout SECONDS waits longer, {text_only}") from None
    print(f"graph written to {written}")
    return 0


def run_cells(args):
    from .viz.text_cells import text_cells

    task, model, meta, _ = _open(args.checkpoint, args.text)
    if task.name != "text" or meta["model"] != "lstm":
        held = f"an {meta['model']} of the {task.name} task"
        raise ValueError(f"{args.checkpoint!r} holds {held}; cells reads the cell states of an LSTM of the text task")
    suffix = os.path.splitext(args.output)[1].lower()
    if suffix not in (".html", ".htm", ".png"):
        raise ValueError(f"--output {args.output}: unknown format {suffix or '(no suffix)'!r}; use .html or .png")
    if suffix == ".png":
        _check_plot(args.output)  # (matplotlib draws it)
    check_writable(args.output)
    with _blas_threads(args.threads or meta["threads"]):
        found = text_cells(model, task, chars=args.chars)
    found.save(args.output)
    print(
        f"the units that follow the text best, over {found.measured_on} held-out characters (Pearson's r; "
        "untrained: the best r of the same network before training, what the input alone gives):"
    )
    for name, (unit, r, rule) in found.found.items():
        if unit is None:
            print(f"  {name:20s} none: the rule is the same for every measured character   ({rule})")
        else:
            print(f"  {name:20s} unit {unit:3d}  r {r:+.2f}  untrained {found.untrained[name]:+.2f}   ({rule})")
    print("their forget gates f_t, mean at a line break and elsewhere (f near 0: the unit erases its note):")
    for name, (at_break, elsewhere) in found.forget.items():
        print(
            f"  {name:20s} unit {found.found[name][0]:3d}  f {at_break:.2f} at a line break, {elsewhere:.2f} elsewhere"
        )
    print(f"written to {args.output}")
    return 0


def _given(args):
    """The run settings given on the command line."""
    given = {k: getattr(args, k) for k in RUN_SETTINGS if getattr(args, k, None) is not None}
    if given.get("until") == "none":
        given["until"] = None
    if "text" in given:  # (so that eval, sample and --resume find it from any folder)
        given["text"] = os.path.abspath(given["text"])
    return given


def _resumed(args):
    """The run saved at --resume, checked against what was asked for: (its task, its settings,
    the Training that goes on from where it stopped, with the model and its weights)."""
    given = _given(args)
    moved = given.pop("text", None)  # (the text where it is now: the same content, maybe elsewhere)
    task, model, meta, adam = _open(args.resume, moved)
    where = f"--resume {args.resume}"
    if meta["task"] != args.task:
        raise ValueError(f"{where}: it holds a model of the {meta['task']} task, not {args.task}")
    for key, value in given.items():
        if value != meta[key]:
            flag = "--" + key.replace("_", "-")
            raise ValueError(
                f"{where}: its run has {flag} {_shown(meta[key])}, not {_shown(value)}; a resumed run "
                f"keeps its options (leave {flag} out)"
            )
    if "training" not in meta:
        raise ValueError(f"{where}: it holds no training state to continue (it was saved without one)")
    training = _continued(args.resume, task, model, meta, adam, not args.eager)
    return task, {k: v for k, v in meta.items() if k in SAVED_SETTINGS}, training


def _continued(path, task, model, meta, adam, compiled):
    """The Training that goes on from the run saved at path; a damaged one refused, naming path."""
    try:
        training = _training(task, model, meta, compiled)
    except (ValueError, TypeError) as err:  # (its settings, out of their range)
        raise NotACheckpointError(f"{path!r} is damaged: {err}") from None
    try:
        training.load_state(adam, meta["training"])
    except ValueError as err:  # (it says "the training state is damaged: ...", or does not fit)
        raise NotACheckpointError(f"{path!r}: {err}") from None
    return training


def _shown(value):
    return (
        {True: "on", False: "off", None: "none"}.get(value, value)
        if not isinstance(value, (int, float)) or isinstance(value, bool)
        else value
    )


def _training(task, model, settings, compiled):
    return Training(
        task,
        model,
        lr=settings["lr"],
        batch_size=settings["batch_size"],
        seed=settings["seed"],
        compiled=compiled,
        curriculum=settings["curriculum"],
        stage_steps=settings["stage_steps"],
        schedule=settings["schedule"],
        until=settings["until"],
        validate_every=settings["validate_every"],
    )


def _open(path, text=None):
    """(task, model with its weights, meta, training arrays) from a checkpoint `train` saved.
    text: where the text task's file is now, if not where the checkpoint says (its content must
    be the same: the checkpoint keeps its SHA-256)."""
    try:
        state, meta, training = read(path)
    except OSError as err:  # the user's path, in words (not an errno in brackets)
        raise type(err)(f"cannot read {path!r}: {err.strerror or err}") from None
    needed = [k for k in ("task", *RUN_SETTINGS[: RUN_SETTINGS.index("curriculum")], "steps") if k not in meta]
    if needed:
        raise NotACheckpointError(
            f"{path!r} holds no model `tinygrad-lstm train` saved (its metadata lacks {', '.join(needed)})"
        )
    meta = {**FOR_EVERY_TASK, **meta}  # (a run saved before the recipe's settings existed had none of them)
    for key, (ok, expected) in SETTING_CHECKS.items():  # (a hand-edited file: said here, not by a traceback)
        if key in meta and not ok(meta[key]):
            raise NotACheckpointError(f"{path!r} is damaged: its {key} is {meta[key]!r}; expected {expected}")
    if text is not None:
        if meta["task"] != "text":
            raise ValueError(f"--text: {path!r} holds a model of the {meta['task']} task, which reads no text file")
        meta = {**meta, "text": os.path.abspath(text)}
    reading = meta["task"] == "text" and meta["text"] is not None  # (a file, which may have changed)
    try:
        task = _make_task(meta["task"], meta)
    except OSError as err:  # (the text task's file, gone or unreadable since training)
        where = "" if text is not None else "; if it has moved, say where it is now with --text FILE"
        raise type(err)(f"{path!r} was trained on a text that cannot be read now: {err}{where}") from None
    except ValueError as err:
        if reading:  # (a text that cannot serve now: it was edited since)
            raise ValueError(f"{path!r} was trained on {meta['text']!r}, which has changed since: {err}") from None
        raise NotACheckpointError(f"{path!r} holds a model this version cannot rebuild: {err}") from None
    except TypeError as err:
        raise NotACheckpointError(f"{path!r} holds a model this version cannot rebuild: {err}") from None
    if meta.get("text_sha256") not in (None, _fingerprint(task)):
        if text is not None:
            raise ValueError(f"--text {text}: it is not the text {path!r} was trained on (another SHA-256)")
        raise ValueError(
            f"{path!r} was trained on {task.source}, which has changed since: its alphabet and held-out "
            "blocks would not be those the model was trained and scored on (restore the text, or train again)"
        )
    try:
        model = _make_model(task, meta["model"], meta)
        model.load_state_dict(state)
    except (ValueError, TypeError) as err:
        raise NotACheckpointError(f"{path!r} holds a model this version cannot rebuild: {err}") from None
    return task, model, meta, training


def _is_int(low, high=2**31):
    return lambda v: is_integer(v, low, high)


def _is_finite(v):
    return is_real(v) and math.isfinite(v)


# What each setting a checkpoint keeps must be (its range against the task: Training's own checks).
SETTING_CHECKS = {
    "task": (lambda v: isinstance(v, str) and v in tasks.TASKS, f"one of {', '.join(tasks.TASKS)}"),
    "model": (lambda v: isinstance(v, str) and v in RECURRENT, f"one of {', '.join(RECURRENT)}"),
    "hidden": (_is_int(1), "a positive integer"),
    "layers": (_is_int(1, MAX_LAYERS + 1), f"an integer from 1 to {MAX_LAYERS}"),
    "seq_len": (_is_int(0), "an integer >= 0"),
    "lr": (lambda v: _is_finite(v) and v >= sys.float_info.min, "a positive number"),
    "batch_size": (_is_int(1), "a positive integer"),
    "seed": (_is_int(0), "an integer >= 0"),
    "curriculum": (lambda v: isinstance(v, bool), "true or false"),
    "stage_steps": (
        lambda v: _is_int(1)(v) or isinstance(v, list) and all(map(_is_int(1), v)),
        "a positive integer, or a list of them",
    ),
    "schedule": (lambda v: isinstance(v, str) and v in SCHEDULES, f"one of {', '.join(SCHEDULES)}"),
    "until": (lambda v: v is None or _is_finite(v), "a number, or null"),
    "validate_every": (_is_int(1), "a positive integer"),
    "threads": (_is_int(1), "a positive integer"),
    "embedding": (_is_int(1), "a positive integer"),
    "forget_bias": (_is_finite, "a number"),
    "steps": (_is_int(1), "a positive integer"),
    "log_every": (_is_int(1), "a positive integer"),
    "evaluate_every": (_is_int(1), "a positive integer"),
    "interrupted_at": (_is_int(0), "an integer >= 0"),
    "text": (lambda v: v is None or isinstance(v, str) and v != "", "a file name, or null"),
    "text_sha256": (lambda v: v is None or isinstance(v, str) and len(v) == 64, "a SHA-256 in hex, or null"),
    "training": (lambda v: isinstance(v, dict), "a dict, the run's state"),
}


def _check_recipe(args, task, settings):
    """Refuse the options of a new run that could not do what they say: each would be ignored, or
    (a stage's steps, which end only at a validation check) quietly stretched."""
    reachable, expected = until_range(task)
    if settings["until"] is not None and not reachable(settings["until"]):
        raise ValueError(f"argument --until: expected {expected}, got {settings['until']:g}")
    easier = task.easier() if settings["curriculum"] else []
    at = f" at --seq-len {task.seq_len}" if type(task).easier is not Task.easier else ""  # (sine has none at all)
    if args.curriculum and not easier:
        raise ValueError(f"--curriculum: the {task.name} task has no easier form{at} to train on first")
    if args.stage_steps is not None and not easier:
        why = "--curriculum is off" if task.easier() else f"the {task.name} task has no easier form{at}"
        raise ValueError(f"--stage-steps: it limits a curriculum's easier stages, and this run has none ({why})")
    stage_steps, every = settings["stage_steps"], settings["validate_every"]
    if easier and stage_steps % every:
        default = "" if args.stage_steps is not None else " (the default)"
        raise ValueError(
            f"--stage-steps {stage_steps}{default} must be a multiple of --validate-every {every}: a stage "
            f"ends only at a validation check, so it would last {-(-stage_steps // every) * every} steps"
        )


def _same_file(a, b):
    """Whether paths a and b name one file: the same after following symlinks, or two hard links."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # (one of them does not exist yet)
        return False


def _steps(n, more=""):
    return f"{n} {more}step{'' if n == 1 else 's'}"


def _make_task(name, settings):
    """The task a run trains on, from its settings (the text task reads its file, if any)."""
    if name == "text" and settings.get("text") is not None:
        return tasks.make(name, seq_len=settings["seq_len"], path=settings["text"])
    return tasks.make(name, seq_len=settings["seq_len"])


def _fingerprint(task):
    """The text task's text, as a SHA-256 (None for the other tasks, which make their own data)."""
    return hashlib.sha256(task.text.encode("utf-8")).hexdigest() if task.name == "text" else None


def _describe(task, settings):
    recipe = ""
    stages = task.easier() if settings["curriculum"] else []
    if stages:
        recipe += f", curriculum seq-len {', '.join(str(t.seq_len) for t in stages)} first"
    if settings["schedule"] != "constant":
        recipe += f", lr schedule {settings['schedule']}"
    if settings["until"] is not None:
        recipe += f", until validation {task.metric} {settings['until']:g}"
    source = f"{task.source}; " if task.name == "text" else ""
    return (
        f"{settings['model']} (hidden {settings['hidden']}, layers {settings['layers']}) on {task.name} "
        f"({source}seq-len {settings['seq_len']}){recipe}"
    )


def _show_examples(task, model, n, seed):
    """n held-out sequences, each with the model's answer and the right one: drawn from the test part,
    as evaluate() draws, but from another stream (where the test part has few sequences, as the
    copy task's, they are among those evaluate() scores)."""
    inputs, targets = task.sample(n, held_out_stream(seed + 1), "test")
    outputs = predict(model, inputs)
    print("held-out examples:")
    for k in range(len(inputs)):
        print("  " + task.describe(inputs, targets, outputs, k))


def _check_plot(path):
    """Refuse now a picture that could not be drawn or written (before a long training run)."""
    if os.path.splitext(path)[1].lower() not in PLOT_FORMATS:
        raise ValueError(f"--plot {path}: unknown picture format; use {', '.join(PLOT_FORMATS)}")
    try:
        from .viz.plots import _pyplot

        _pyplot()
    except ImportError as err:
        raise Failed(err) from None
    check_writable(path)


def _plot(path, task, history, settings):
    """Draw a run's history (Training.state()'s) and its curriculum's phases."""
    from .viz.plots import _pyplot, plot_history

    stages = [*task.easier(), task] if settings["curriculum"] else [task]
    phases = [(step, f"seq-len {stages[k].seq_len}") for step, k in history.get("stage_starts", [(0, 0)])]
    figure = plot_history(
        history["losses"],
        history["held_out"],
        task.metric,
        task.baseline()[task.metric],
        _describe(task, settings),
        validation=history.get("validation", ()),
        stages=phases,
        solved_at=history.get("solved_at"),
        until=settings["until"],
    )
    try:
        write_atomically(path, lambda f: figure.savefig(f, format=os.path.splitext(path)[1][1:].lower()))
    finally:
        _pyplot().close(figure)
    print(f"training curves drawn in {path}")


def _make_model(task, kind, settings):
    return SequenceModel(
        task,
        kind=kind,
        num_layers=settings["layers"],
        hidden=settings["hidden"],
        embedding=settings["embedding"],
        forget_bias=settings["forget_bias"],
    )


def _shown_metric(value):
    """A metric as the reports print it: 4 decimals, or 4 significant digits below 0.01 (an mse)."""
    return f"{value:.4f}" if abs(value) >= 0.01 or value == 0 else f"{value:.4g}"


def _report(task, metrics):
    baseline, chance = task.baseline(), task.chance()
    what = f"windows of {task.seq_len} characters from blocks" if task.name == "text" else "sequences"
    print(f"held-out metrics (1000 {what} never trained on):")
    for name, value in metrics.items():
        also = f"; chance {chance[name]:.4f}: {task.chance_meaning}" if name in chance else ""
        print(
            f"  {name:13s} {_shown_metric(value)}   (baseline {_shown_metric(baseline[name])}: "
            f"{task.baseline_meaning}{also})"
        )
    if not task.beats_baseline(metrics):
        print(
            f"The model is no better than the baseline on {task.metric}: it has not learned the task "
            "(more --steps, another --seed or --lr may help)."
        )


if __name__ == "__main__":
    sys.exit(main())
