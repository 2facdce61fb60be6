"""The `tinygrad-lstm` command (also `python -m tinygrad_lstm`).

    tinygrad-lstm demo                       the LSTM learns the context task (three to six minutes)
    tinygrad-lstm train adding --seq-len 100 --steps 1500
    tinygrad-lstm train adding --model rnn   the same for a plain RNN, to compare
    tinygrad-lstm graph -o lstm_step.svg     a picture of one LSTM training step

Nothing ends in a traceback: bad arguments, or a path that cannot be written, print what was
expected and exit with status 2 (paths are checked before training starts); what the machine
lacks or a run that goes wrong (no Graphviz, out of memory, a diverging loss) prints one line
and exits with 1; Ctrl-C stops at once (an optimizer update in hand is finished first), saves
what `train` has trained so far, and exits with 130.
"""

import argparse
import os
import sys
import time

import numpy as np

from . import tasks
from .checkpoint import save
from .files import check_writable
from .random import manual_seed
from .train import RECURRENT, SequenceModel, TrainingInterrupted, evaluate, held_out_stream, predict, train

# Per task: the options a first run should use (each can be overridden on the command line).
DEFAULTS = {
    "adding": dict(seq_len=100, steps=1500, lr=1e-2, hidden=32),
    "copy": dict(seq_len=10, steps=3000, lr=1e-2, hidden=64),
    # Binding names to jobs is hard to find: training sits at "one of the two mentioned jobs"
    # (loss ln 2) until it does, for a number of steps that varies with the seed and with the
    # last bit of rounding. With 128 hidden units and 32-wide embeddings, after 10000 steps
    # seeds 0-5 scored 89.7-100% held out; after 6000, 49-93% (docs/tutorial.md).
    "context": dict(seq_len=2, steps=10000, lr=5e-3, hidden=128, embedding=32),
    "sine": dict(seq_len=50, steps=1000, lr=1e-2, hidden=32),
}


def _number(convert, low, inclusive, expected):
    """An argparse type: convert(text), which must be finite and above (or at) low."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if convert is int and abs(value) >= 2**31:  # (before np.isfinite, which cannot take an int this large)
            raise argparse.ArgumentTypeError(f"expected {expected} below 2**31, got {text}")
        if not (np.isfinite(value) and (value >= low if inclusive else value > low)):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value
    return parse


positive_int = _number(int, 0, False, "a positive integer")
non_negative_int = _number(int, 0, True, "an integer >= 0")
positive_float = _number(float, 0, False, "a positive number")


def file_path(text):
    """An argparse type: the path of a file to write, which can't be empty."""
    if not text:
        raise argparse.ArgumentTypeError("expected a file path, got ''")
    return text


class Failed(Exception):
    """A run that cannot go on for a reason other than its options: one line, exit status 1."""


def build_parser():
    parser = argparse.ArgumentParser(prog="tinygrad-lstm", description="Train LSTMs on toy sequence tasks "
                                     "and draw their computation graphs.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("train", help="train a model on a toy task, report held-out metrics, save it")
    run.add_argument("task", choices=list(tasks.TASKS), help="which task")
    run.add_argument("--model", choices=list(RECURRENT), default="lstm", help="recurrent layer (default lstm)")
    run.add_argument("--hidden", type=positive_int, help="hidden units (default: per task)")
    run.add_argument("--layers", type=positive_int, default=1, help="stacked recurrent layers (default 1)")
    run.add_argument("--seq-len", type=non_negative_int,
                     help="sequence length: adding/sine steps, copy gap, context filler sentences")
    run.add_argument("--steps", type=positive_int, help="training steps (default: per task)")
    run.add_argument("--batch-size", type=positive_int, default=32)
    run.add_argument("--lr", type=positive_float, help="Adam learning rate (default: per task)")
    run.add_argument("--seed", type=non_negative_int, default=0)
    run.add_argument("--checkpoint", type=file_path, help="where to save (default runs/TASK-MODEL.npz)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")

    demo = commands.add_parser("demo", help="train the LSTM on the context task and show its answers")
    demo.add_argument("--steps", type=positive_int, default=DEFAULTS["context"]["steps"])
    demo.add_argument("--seed", type=non_negative_int, default=0)
    demo.add_argument("--no-progress", action="store_true")

    graph = commands.add_parser("graph", help="draw one LSTM training step's computation graph")
    graph.add_argument("-o", "--output", type=file_path, default="lstm_step.svg", help="file to write; its "
                       "suffix picks the format: .svg (default), .png, .pdf, or .dot for the DOT text alone")
    graph.add_argument("--seq-len", type=positive_int, default=3)
    graph.add_argument("--hidden", type=positive_int, default=4)
    graph.add_argument("--collapse", action="store_true", help="show one time step, marked x T")
    graph.add_argument("--timeout", type=positive_float, default=60,
                       help="seconds Graphviz's dot may take (default 60)")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    who = f"tinygrad-lstm {args.command}"
    try:
        return {"train": run_train, "demo": run_demo, "graph": run_graph}[args.command](args)
    except KeyboardInterrupt as stop:  # TrainingInterrupted says where training stopped
        parser.exit(130, f"{who}: {str(stop) or 'stopped by Ctrl-C'}\n")
    except BrokenPipeError:  # the output was closed (| head): stop quietly, as a Unix tool does
        sys.stdout = open(os.devnull, "w")
        return 1
    except (ValueError, TypeError, OSError) as err:  # a bad combination of options, a path we cannot write
        parser.exit(2, f"{who}: error: {err}\n")
    except (Failed, FloatingPointError) as err:  # FloatingPointError: the loss diverged
        parser.exit(1, f"{who}: error: {err}\n")
    except MemoryError as err:  # numpy's says how much it asked for
        parser.exit(1, f"{who}: out of memory ({err or 'no details'}); try a smaller model, batch or sequence\n")


def run_train(args):
    settings = {**DEFAULTS[args.task], **{k: v for k, v in (("seq_len", args.seq_len), ("steps", args.steps),
                                                            ("lr", args.lr), ("hidden", args.hidden))
                                           if v is not None}}
    task = tasks.make(args.task, seq_len=settings["seq_len"])
    checkpoint = args.checkpoint or os.path.join("runs", f"{args.task}-{args.model}.npz")
    check_writable(checkpoint)  # now, not after an hour of training
    manual_seed(args.seed)
    model = _make_model(task, args.model, settings, args.layers)
    meta = {"task": args.task, "model": args.model, **settings, "layers": args.layers, "seed": args.seed}
    print(f"training {args.model} (hidden {settings['hidden']}, layers {args.layers}) on {args.task} "
          f"(seq-len {settings['seq_len']}) for {settings['steps']} steps, lr {settings['lr']}, seed {args.seed}")
    start, trained = time.perf_counter(), False
    try:
        train(task, model, steps=settings["steps"], lr=settings["lr"], batch_size=args.batch_size, seed=args.seed,
              progress=None if args.no_progress else sys.stderr)
        seconds, trained = time.perf_counter() - start, True
        metrics = evaluate(task, model, seed=args.seed)
    except KeyboardInterrupt as stop:  # the model so far is kept, whenever Ctrl-C came
        if isinstance(stop, TrainingInterrupted):
            step, when = stop.step, str(stop)
        elif trained:
            step, when = settings["steps"], "stopped by Ctrl-C while evaluating"
        else:  # a second Ctrl-C, half-way through an update: no whole model to keep
            raise KeyboardInterrupt("stopped at once by a second Ctrl-C, half-way through a step; "
                                    "nothing was saved") from None
        save(model.state_dict(), checkpoint, meta={**meta, "interrupted_at": step})
        raise KeyboardInterrupt(f"{when}; the model so far is saved to {checkpoint}") from None
    # saved before anything more is printed: a closed or full output cannot lose the model
    save(model.state_dict(), checkpoint, meta={**meta, "metrics": metrics})
    print(f"done in {seconds:.1f}s")
    _report(task, metrics)
    print(f"checkpoint saved to {checkpoint}")
    return 0


def run_demo(args):
    settings = DEFAULTS["context"]
    task = tasks.make("context", seq_len=settings["seq_len"])
    manual_seed(args.seed)
    model = _make_model(task, "lstm", settings)
    print("The tutorial's claim: an LSTM keeps context that a plain RNN forgets. Here it learns to answer")
    print("'what does X do ?' from facts given a dozen words earlier.\n")
    train(task, model, steps=args.steps, lr=settings["lr"], seed=args.seed,
          progress=None if args.no_progress else sys.stderr)
    _report(task, evaluate(task, model, seed=args.seed))
    inputs, targets = task.sample(5, held_out_stream(args.seed + 1))
    outputs = predict(model, inputs)
    print("\nheld-out examples:")
    for k in range(len(inputs)):
        print("  " + task.describe(inputs, targets, outputs, k))
    print("\nCompare a plain RNN: tinygrad-lstm train context --model rnn")
    return 0


def run_graph(args):
    from .viz import lstm_training_step_graph, render
    dot = lstm_training_step_graph(seq_len=args.seq_len, hidden=args.hidden, collapse=args.collapse)
    text_only = f"`-o {os.path.splitext(args.output)[0]}.dot` writes the DOT text, which needs no Graphviz"
    try:
        written = render(dot, args.output, timeout=args.timeout)
    except RuntimeError as err:  # Graphviz's dot is missing, or failed
        raise Failed(f"{err}; {text_only}") from None
    except TimeoutError as err:
        raise Failed(f"{err}; --timeout SECONDS waits longer, {text_only}") from None
    print(f"graph written to {written}")
    return 0


def _make_model(task, kind, settings, num_layers=1):
    sizes = {k: settings[k] for k in ("hidden", "embedding") if k in settings}
    return SequenceModel(task, kind=kind, num_layers=num_layers, **sizes)


def _report(task, metrics):
    baseline, chance = task.baseline(), task.chance()
    print("held-out metrics (1000 sequences never trained on):")
    for name, value in metrics.items():
        also = f"; chance {chance[name]:.4f}: {task.chance_meaning}" if name in chance else ""
        print(f"  {name:10s} {value:.4f}   (baseline {baseline[name]:.4f}: {task.baseline_meaning}{also})")
    if not task.beats_baseline(metrics):
        print(f"The model is no better than the baseline on {task.metric}: it has not learned the task "
              "(more --steps, another --seed or --lr may help).")


if __name__ == "__main__":
    sys.exit(main())
