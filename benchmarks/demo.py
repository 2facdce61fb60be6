"""The demo as a user runs it: `tinygrad-lstm demo --seed S`, typed with no environment
variable, and again with OPENBLAS_NUM_THREADS=1 and with --threads 2, for each seed. One line
per run: each model's held-out accuracy, its steps and seconds, and the whole command's wall
time (start-up, both models, the report). The runs go one after another, never side by side.

    python benchmarks/demo.py [--seeds 0 1 2 ...] [--ways plain env1 threads2]
    python benchmarks/demo.py --tune      # the plain RNN's learning rate: 1e-3, 3e-3, 1e-2

--tune trains the demo's two models (in this process, one thread) for each seed and each of
the RNN's learning rates, and prints the RNN's validation accuracy (what the choice is made by)
beside its held-out accuracy (what the demo reports).
"""

import argparse
import os
import re
import subprocess
import sys
import time

WAYS = {  # how the command is run: (extra arguments, environment changes)
    "plain": ([], {}),
    "env1": ([], {"OPENBLAS_NUM_THREADS": "1"}),
    "threads2": (["--threads", "2"], {}),
}
LINE = re.compile(r"^(LSTM|plain RNN)\s+([\d.]+)% of 1000 held-out sentences right\s+\((\d+) steps, ([\d.]+)s;")


def run_demo(seed, way):
    """One `tinygrad-lstm demo` as a process: ({model: (accuracy, steps, seconds)}, wall seconds)."""
    extra, env_changes = WAYS[way]
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}  # as typed: none set
    env.update(env_changes)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tinygrad_lstm", "demo", "--seed", str(seed), "--no-progress", *extra],
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"demo --seed {seed} ({way}) failed:\n{done.stderr}")
    found = {m[1]: (float(m[2]) / 100, int(m[3]), float(m[4])) for m in map(LINE.match, done.stdout.splitlines()) if m}
    return found, wall


def table(seeds, ways):
    print(
        f"{'seed':>4} {'way':9s} {'LSTM':>7} {'steps':>6} {'s':>6}   {'RNN':>7} {'steps':>6} {'s':>6}   {'wall s':>6}"
    )
    rows = []
    for seed in seeds:
        for way in ways:
            found, wall = run_demo(seed, way)
            (la, ls, lt), (ra, rs, rt) = found["LSTM"], found["plain RNN"]
            rows.append((la, ra, wall))
            print(
                f"{seed:4d} {way:9s} {la:7.1%} {ls:6d} {lt:6.1f}   {ra:7.1%} {rs:6d} {rt:6.1f}   {wall:6.1f}",
                flush=True,
            )
    lstm, rnn, walls = zip(*rows)
    print(
        f"LSTM {min(lstm):.1%} to {max(lstm):.1%}; plain RNN {min(rnn):.1%} to {max(rnn):.1%}; "
        f"wall {min(walls):.1f} to {max(walls):.1f} s"
    )


def tune(seeds, rates):
    from threadpoolctl import threadpool_limits

    from tinygrad_lstm import tasks
    from tinygrad_lstm.cli import DEFAULTS, demo_run
    from tinygrad_lstm.train import evaluate

    threadpool_limits(1)
    task = tasks.make("context", seq_len=DEFAULTS["context"]["seq_len"])
    print(f"{'seed':>4} {'RNN lr':>7} {'validation':>10} {'held out':>9} {'steps':>6}")
    for seed in seeds:
        lstm, _ = demo_run("lstm", seed)
        for lr in rates:
            rnn, _ = demo_run("rnn", seed, lr=lr, follow=lstm)
            final = [v for _, stage, v in rnn.validation if stage == len(rnn.stages) - 1]
            held_out = evaluate(task, rnn.model, seed=seed)["accuracy"]
            print(
                f"{seed:4d} {lr:7g} {final[-1] if final else float('nan'):10.1%} {held_out:9.1%} {rnn.step:6d}",
                flush=True,
            )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--ways", nargs="+", choices=list(WAYS), default=list(WAYS))
    parser.add_argument("--tune", action="store_true", help="compare the plain RNN's learning rates instead")
    parser.add_argument("--rates", type=float, nargs="+", default=[1e-3, 3e-3, 1e-2])
    args = parser.parse_args()
    if args.tune:
        tune(args.seeds, args.rates)
    else:
        table(args.seeds, args.ways)


if __name__ == "__main__":
    main()
