"""One LSTM training step (forward, MSE loss over all outputs, backward), three sizes.

tinygrad_lstm's nn.LSTM against a hand-written NumPy LSTM with manual BPTT
(benchmarks/numpy_lstm.py) and torch.nn.LSTM when installed, all in this run, float32,
one thread.   python benchmarks/lstm_step.py [--repeat 10]
"""

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads BLAS
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

import tinygrad_lstm as tl  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from numpy_lstm import lstm_forward_backward  # noqa: E402
from timing import best_times  # noqa: E402

SIZES = {"tiny": (1, 8, 16, 20), "small": (16, 32, 64, 50), "medium": (32, 128, 256, 100)}  # B, I, H, T


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    args = parser.parse_args()
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None

    print(f"one training step (forward + MSE + backward), float32, 1 thread, best of {args.repeat}")
    print(f"{'size':8s} {'B,I,H,T':16s} {'numpy ms':>9s} {'ours ms':>9s} {'torch ms':>9s} "
          f"{'ours/numpy':>11s} {'ours/torch':>11s}")
    for name in args.sizes:
        B, I, H, T = SIZES[name]
        rng = np.random.default_rng(0)
        x = rng.standard_normal((T, B, I)).astype(np.float32)
        target = rng.standard_normal((T, B, H)).astype(np.float32)
        tl.manual_seed(0)
        lstm = tl.nn.LSTM(I, H)
        params = [p.numpy() for p in lstm.parameters()]

        def ours():
            lstm.zero_grad()
            out, _ = lstm(x)
            loss = tl.functional.mse_loss(out, target)
            loss.backward()
            return loss

        def numpy_step():
            return lstm_forward_backward(x, target, *params)

        # the reference must compute the same thing, or the ratio means nothing
        loss = ours()
        ref_loss, ref_grads = numpy_step()
        assert abs(loss.item() - ref_loss) < 1e-4 * max(1, abs(ref_loss))
        for p, g in zip(lstm.parameters(), ref_grads):
            assert np.allclose(p.grad.numpy(), g, atol=1e-5), "reference LSTM disagrees with tinygrad_lstm"

        steps = [numpy_step, ours]
        if torch is not None:
            module = torch.nn.LSTM(I, H)
            xt, yt = torch.tensor(x), torch.tensor(target)

            def torch_step():
                module.zero_grad()
                out, _ = module(xt)
                torch.nn.functional.mse_loss(out, yt).backward()
            steps.append(torch_step)
        inner = max(1, int(0.1 / max(best_times([numpy_step], 1, 1)[0], 1e-4)))
        times = best_times(steps, args.repeat, inner)
        t_numpy, t_ours = times[:2]
        t_torch = times[2] if torch is not None else None
        torch_ms = f"{t_torch * 1e3:9.2f}" if t_torch else f"{'-':>9s}"
        vs_torch = f"{t_ours / t_torch:10.2f}x" if t_torch else f"{'-':>11s}"
        print(f"{name:8s} {f'{B},{I},{H},{T}':16s} {t_numpy * 1e3:9.2f} {t_ours * 1e3:9.2f} {torch_ms} "
              f"{t_ours / t_numpy:10.2f}x {vs_torch}")


if __name__ == "__main__":
    main()
