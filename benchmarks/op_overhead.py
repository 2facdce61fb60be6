"""Per-op overhead: a chain of 10,000 small ops on shape-(4,) tensors, forward + backward.

Prints microseconds per op for tinygrad_lstm, for raw numpy doing the same forward math
(the floor: what the arithmetic itself costs), and for PyTorch when it is installed,
all measured in this run.   python benchmarks/op_overhead.py [--ops 10000] [--repeat 10]
"""

import argparse
import os
import sys

import numpy as np

import tinygrad_lstm as tl

sys.path.insert(0, os.path.dirname(__file__))
from timing import best_times  # noqa: E402

# One link of the chain: four ops, the elementwise kinds an LSTM step uses.
OPS_PER_LINK = 4


def chain_tinygrad(n_links, x0, w):
    x = tl.Tensor(x0, requires_grad=True)
    wt = tl.Tensor(w, requires_grad=True)
    h = x
    for _ in range(n_links):
        h = ((h * wt).tanh() + x).sigmoid()
    h.sum().backward()


def chain_numpy(n_links, x0, w):
    h = x0
    for _ in range(n_links):
        h = 0.5 * (np.tanh(0.5 * (np.tanh(h * w) + x0)) + 1)


def chain_torch(torch, n_links, x0, w):
    x = torch.tensor(x0, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    h = x
    for _ in range(n_links):
        h = ((h * wt).tanh() + x).sigmoid()
    h.sum().backward()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    n_links = args.ops // OPS_PER_LINK
    n_ops = n_links * OPS_PER_LINK
    rng = np.random.default_rng(0)
    x0, w = rng.standard_normal(4).astype(np.float32), rng.standard_normal(4).astype(np.float32)

    contenders = {
        "numpy, forward only (floor)": lambda: chain_numpy(n_links, x0, w),
        "tinygrad_lstm, forward + backward": lambda: chain_tinygrad(n_links, x0, w),
    }
    try:
        import torch

        torch.set_num_threads(1)
        contenders["torch, forward + backward"] = lambda: chain_torch(torch, n_links, x0, w)
    except ImportError:
        torch = None
    rows = list(zip(contenders, best_times(list(contenders.values()), args.repeat)))
    if torch is None:
        rows.append(("torch, forward + backward", None))

    print(f"chain of {n_ops} ops on shape (4,), best of {args.repeat}")
    numpy_seconds = rows[0][1]
    for name, seconds in rows:
        if seconds is None:
            print(f"  {name:36s}  (not installed)")
        else:
            print(f"  {name:36s} {seconds / n_ops * 1e6:6.2f} us/op   {seconds / numpy_seconds:5.1f}x numpy")


if __name__ == "__main__":
    main()
