"""The tutorial's claim as a measured curve: held-out accuracy on the context task against the
distance between the facts and the question (filler sentences), for an LSTM, a GRU and a plain
RNN, each with its own tuned recipe, over several seeds.

Every model: 48 units, embeddings of 32, batch 128, Adam at its own learning rate (RATES, from
--tune), at most 3000 steps, stopping once 99.5% of the validation sentences are right, and the
curriculum: no filler first, then half the distance, each stage until 99% of its validation
sentences are right, or until it has had an equal share of the 3000 steps (a model that never
reaches a stage's mark trains as long on each stage). The LSTM's forget gate starts open (bias
5), as the demo's.
Held out: sets of facts no training sentence has (tinygrad_lstm/tasks/context.py).

    python benchmarks/memory_span.py [--seeds 0 1 2] [--distances 0 2 4 8 12] [--jobs 2]
        [--figure docs/figures/memory_span.png]
    python benchmarks/memory_span.py --tune    # each model's learning rate, at distance 4

Takes some 15 minutes with two processes on two cores; each run on one BLAS thread.
"""

import argparse
import os
import sys
import time
from multiprocessing import Pool

KINDS = ("lstm", "gru", "rnn")
# Each model's learning rate: the best mean validation accuracy at distance 4, seeds 0 and 1, over
# 1e-3, 3e-3 and 1e-2, the fewest steps among those that reach the stopping mark
# (python benchmarks/memory_span.py --tune; docs/tutorial.md section 4).
RATES = {"lstm": 1e-2, "gru": 1e-2, "rnn": 3e-3}
STEPS = 3000


def train_one(job):
    """Train one model at one distance: (kind, distance, seed, lr, held-out accuracy, validation
    accuracy at the end, steps, seconds)."""
    kind, distance, seed, lr = job
    from threadpoolctl import threadpool_limits

    import tinygrad_lstm as tl
    from tinygrad_lstm.train import SequenceModel, Training, evaluate

    threadpool_limits(1)
    task = tl.tasks.make("context", seq_len=distance)
    tl.manual_seed(seed)
    model = SequenceModel(task, kind=kind, hidden=48, embedding=32, forget_bias=5.0)
    run = Training(
        task,
        model,
        lr=lr,
        batch_size=128,
        seed=seed,
        curriculum=True,
        until=0.995,
        stage_steps=STEPS // (len(task.easier()) + 1),
    )
    start = time.perf_counter()
    run.run(STEPS)
    final = [value for _, stage, value in run.validation if stage == len(run.stages) - 1]
    return (
        kind,
        distance,
        seed,
        lr,
        evaluate(task, model, seed=seed)["accuracy"],
        final[-1] if final else float("nan"),
        run.step,
        time.perf_counter() - start,
    )


def run_all(jobs, processes):
    results = []
    with Pool(processes, maxtasksperchild=1) as pool:
        for result in pool.imap_unordered(train_one, jobs):
            kind, distance, seed, lr, accuracy, validation, steps, seconds = result
            print(
                f"  {kind:4s} distance {distance:2d} seed {seed} lr {lr:g}: held out {accuracy:6.1%}, validation "
                f"{validation:6.1%}, {steps} steps, {seconds:.0f}s",
                flush=True,
            )
            results.append(result)
    return results


def curve(results, distances, seeds, figure):
    import numpy as np

    from tinygrad_lstm import tasks
    from tinygrad_lstm.viz.plots import _pyplot

    task = tasks.make("context")
    table = {(k, d): [r[4] for r in results if r[0] == k and r[1] == d] for k in KINDS for d in distances}
    print(f"\nheld-out accuracy, mean [min, max] over seeds {' '.join(map(str, seeds))}:")
    print(f"{'fillers':>8s}" + "".join(f"{k.upper():>22s}" for k in KINDS))
    for d in distances:
        print(
            f"{d:8d}"
            + "".join(f"{np.mean(table[k, d]):10.1%} [{min(table[k, d]):4.0%}, {max(table[k, d]):4.0%}]" for k in KINDS)
        )
    if not figure:
        return
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for kind, colour in zip(KINDS, ("tab:orange", "tab:green", "tab:blue")):
        means = [np.mean(table[kind, d]) for d in distances]
        low = [min(table[kind, d]) for d in distances]
        high = [max(table[kind, d]) for d in distances]
        ax.plot(distances, means, marker="o", color=colour, label=f"{kind.upper()} (lr {RATES[kind]:g})")
        ax.fill_between(distances, low, high, color=colour, alpha=0.2)
    ax.axhline(
        task.baseline()["accuracy"],
        color="tab:red",
        linestyle="--",
        label="baseline: one of the two jobs, not knowing whose",
    )
    ax.axhline(task.chance()["accuracy"], color="gray", linestyle=":", label="chance: any of the 8 jobs")
    ax.set_xlabel("filler sentences between the facts and the question (5 words each)")
    ax.set_ylabel("held-out accuracy")
    ax.set_ylim(0, 1.02)
    ax.set_xticks(distances)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(f"Remembering across a distance: {len(seeds)} seeds each (band: min to max)", fontsize=10)
    fig.tight_layout()
    fig.savefig(figure, dpi=90)
    print(f"figure written to {figure}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--distances", type=int, nargs="+", default=[0, 2, 4, 8, 12])
    parser.add_argument("--jobs", type=int, default=2, help="processes side by side (default: 2)")
    parser.add_argument("--figure", default=None, help="where to draw the curve (.png)")
    parser.add_argument("--tune", action="store_true", help="compare learning rates at distance 4 instead")
    args = parser.parse_args()
    if args.tune:
        rates = (1e-3, 3e-3, 1e-2)
        results = run_all([(k, 4, s, lr) for k in KINDS for lr in rates for s in (0, 1)], args.jobs)
        for kind in KINDS:  # the best validation (all that reach the stopping mark tie), then the fewest steps
            runs = {lr: [r for r in results if r[0] == kind and r[3] == lr] for lr in rates}
            score = {
                lr: (sum(min(r[5], 0.995) for r in rs) / len(rs), -sum(r[6] for r in rs) / len(rs))
                for lr, rs in runs.items()
            }
            print(
                f"{kind}: mean validation accuracy, steps by lr "
                + ", ".join(f"{lr:g} {v:.1%} {-n:.0f}" for lr, (v, n) in score.items())
                + f"; best {max(score, key=score.get):g}"
            )
        return
    jobs = [(k, d, s, RATES[k]) for d in sorted(args.distances, reverse=True) for k in KINDS for s in args.seeds]
    curve(run_all(jobs, args.jobs), args.distances, args.seeds, args.figure)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    main()
