"""Each task's `tinygrad-lstm train TASK` with its defaults, as a user types it (no environment
variable), one after another: its held-out metric against the baseline, its steps and its time,
as a Markdown table (README.md quotes it).

    python benchmarks/tasks.py [--runs "train adding" "train adding --model rnn" ...]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

RUNS = [
    "train adding",
    "train adding --model rnn",
    "train copy",
    "train context",
    "train context --model rnn",
    "train sine",
    "train text",
]
METRIC = re.compile(r"^  (\w+)\s+([-\d.e]+)\s+\(baseline ([-\d.e]+):")
DONE = re.compile(r"^done in ([\d.]+)s; (.*)$")


def run(command):
    """(first metric, its value, its baseline, how the run ended, wall seconds) of one command."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "tinygrad_lstm", *command.split(), "--no-progress"],
            capture_output=True,
            text=True,
            env=env,
            cwd=folder,
        )
        wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command} failed:\n{done.stderr}")
    lines = done.stdout.splitlines()
    metric = next(m for m in map(METRIC.match, lines) if m)
    ended = next(m for m in map(DONE.match, lines) if m)
    return metric[1], float(metric[2]), float(metric[3]), ended[2], wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=RUNS)
    args = parser.parse_args()
    print("| command | held out | baseline | how it ended | time |")
    print("| --- | --- | --- | --- | --- |")
    for command in args.runs:
        metric, value, baseline, ended, wall = run(command)
        print(
            f"| `tinygrad-lstm {command}` | {metric} {value:.4g} | {baseline:.4g} | {ended} | {wall:.0f} s |",
            flush=True,
        )


if __name__ == "__main__":
    main()
