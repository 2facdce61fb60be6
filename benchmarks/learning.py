"""The claim, measured: an LSTM learns the adding problem at T=100, a plain RNN does not.

Both models are trained the same way (hidden 32, Adam lr 0.01, batch 32, clipped
gradients, same seed and data) and scored on 1000 held-out sequences: a sequence counts
as solved when |error| < 0.04 (Hochreiter & Schmidhuber 1997). Takes about a minute.

    python benchmarks/learning.py [--seq-len 100] [--steps 1500] [--seed 0]
"""

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import time  # noqa: E402

import tinygrad_lstm as tl  # noqa: E402
from tinygrad_lstm.train import SequenceModel, evaluate, train  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    task = tl.tasks.make("adding", seq_len=args.seq_len)
    baseline = task.baseline()
    print(f"adding problem, T={args.seq_len}, {args.steps} steps, seed {args.seed}")
    print(f"  {'constant 0.5 (baseline)':26s} accuracy {baseline['accuracy']:.3f}  mse {baseline['mse']:.4f}")
    for kind in ("rnn", "lstm"):
        tl.manual_seed(args.seed)
        model = SequenceModel(task, kind=kind, hidden=32)
        start = time.perf_counter()
        train(task, model, steps=args.steps, lr=1e-2, seed=args.seed)
        metrics = evaluate(task, model, seed=args.seed)
        print(
            f"  {kind:26s} accuracy {metrics['accuracy']:.3f}  mse {metrics['mse']:.4f}  "
            f"({time.perf_counter() - start:.0f}s)"
        )


if __name__ == "__main__":
    main()
