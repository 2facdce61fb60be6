"""One LSTM training step (forward, MSE loss over all outputs, backward), four sizes.

tinygrad_lstm's nn.LSTM, eager and through tl.compile, against a hand-written NumPy LSTM
with manual BPTT (benchmarks/numpy_lstm.py) and torch.nn.LSTM when installed, all in this
run, in turns, float32, one thread. Times are the best of --repeat rounds; ratios are to
the NumPy reference.   python benchmarks/lstm_step.py [--repeat 10] [--sizes tiny long]

--passes: what each of tl.compile's rewrite passes saves: the compiled step with all passes,
with each one left out in turn, and exact=True, timed in turns in one run; and, per time step,
the NumPy calls the compiled step makes against the reference's.
"""

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads BLAS
    os.environ.setdefault(var, "1")

import argparse  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

import tinygrad_lstm as tl  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from numpy_lstm import lstm_forward_backward  # noqa: E402
from timing import best_times  # noqa: E402

SIZES = {
    "tiny": (1, 8, 16, 20),
    "small": (16, 32, 64, 50),
    "medium": (32, 128, 256, 100),
    "long": (8, 16, 32, 1000),
}  # B, I, H, T


class Setup:
    """One size's inputs, an LSTM, its weights as arrays, and a training step three ways:
    the NumPy reference, ours eager, and ours through tl.compile (None without it)."""

    def __init__(self, size):
        B, I, H, T = SIZES[size]
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((T, B, I)).astype(np.float32)
        self.target = rng.standard_normal((T, B, H)).astype(np.float32)
        tl.manual_seed(0)
        self.lstm = tl.nn.LSTM(I, H)
        self.params = [p.numpy() for p in self.lstm.parameters()]
        self.compiled_loss = (
            tl.compile(lambda x, target: tl.functional.mse_loss(self.lstm(x)[0], target))
            if hasattr(tl, "compile")
            else None
        )

    def numpy_step(self):
        return lstm_forward_backward(self.x, self.target, *self.params)

    def eager(self):
        self.lstm.zero_grad()
        loss = tl.functional.mse_loss(self.lstm(self.x)[0], self.target)
        loss.backward()
        return loss

    def compiled(self):
        self.lstm.zero_grad()
        loss = self.compiled_loss(self.x, self.target)
        loss.backward()
        return loss


def check(name, loss, parameters, ref_loss, ref_grads):
    """The reference must compute the same thing, or the ratio means nothing."""
    assert abs(loss.item() - ref_loss) < 1e-4 * max(1, abs(ref_loss)), f"{name}: loss differs from the reference"
    for p, g in zip(parameters, ref_grads):
        assert np.allclose(p.grad.numpy(), g, atol=1e-5), f"{name}: gradients differ from the reference"


def column(seconds, width=9):
    return f"{seconds * 1e3:{width}.2f}" if seconds is not None else f"{'-':>{width}s}"


def ratio(seconds, reference, width=9):
    return f"{seconds / reference:{width - 1}.2f}x" if seconds is not None else f"{'-':>{width}s}"


def compiled_without(size, left_out=(), exact=False):
    """A Setup whose compiled step was traced with the passes named in left_out turned off."""
    from tinygrad_lstm.compile import passes

    setup = Setup(size)
    setup.compiled_loss = tl.compile(setup.compiled_loss.fn, exact=exact)
    passes.OFF.update(left_out)
    try:
        for _ in range(3):  # the trace, the checked replay, a plain replay: the tape is made now
            setup.compiled()
    finally:
        passes.OFF.difference_update(left_out)
    return setup


def numpy_calls_per_step(setup, T):
    """The NumPy calls the compiled step's fused code makes per time step, forward and backward:
    its lines run (a line tracer counts them) that compute a value or write into one, not those
    that only name one (a view, a test of None)."""
    lines = {}
    for step in next(iter(setup.compiled_loss.tapes.values())).steps:
        source = getattr(step.op, "source", "")
        if source:
            lines[step.op.forward.__code__] = source.splitlines()
            lines[step.op.backward.__code__] = source.splitlines()
    calls = {"forward": 0, "backward": 0}

    def tracer(frame, event, arg):
        if frame.f_code not in lines:
            return None

        def each_line(frame, event, arg):
            if event == "line" and _is_a_call(lines[frame.f_code][frame.f_lineno - 1]):
                calls[frame.f_code.co_name] += 1
            return each_line

        return each_line

    sys.settrace(tracer)
    try:
        setup.compiled()
    finally:
        sys.settrace(None)
    return calls["forward"] / T, calls["backward"] / T


def _is_a_call(line):
    text = re.sub(r"^(else|elif owned\d+): ", "", line.strip())
    if " += " in text:
        return True
    if text.startswith(("if ", "self.", "return", "(")) or "; " in text:
        return False
    target, _, value = text.partition(" = ")
    names = r"[aguv]\d+|None|self\.\w+|[aguv]\d+(\.T|\[k\d+\]|\.reshape\(.*\))"
    return bool(value) and not re.fullmatch(names, value)


REFERENCE_CALLS = (10, 7)  # benchmarks/numpy_lstm.py's loops: _forward's 10 calls a step, _through_time's 7


def passes_table(repeat):
    from tinygrad_lstm.compile import passes

    names = [p.__name__ for p in passes.FAST] + list(passes.FAST_CODE)
    print("what each pass saves: the compiled step with every pass, without one, and exact=True; ms")
    print(f"{'size':7s} {'numpy':>8s} {'all':>8s} " + " ".join(f"{'-' + n:>24s}" for n in names) + f" {'exact':>8s}")
    for size in SIZES:
        variants = [compiled_without(size)] + [compiled_without(size, [n]) for n in names]
        variants.append(compiled_without(size, exact=True))
        reference = Setup(size)
        times = best_times([reference.numpy_step] + [v.compiled for v in variants], repeat)
        cells = [f"{t * 1e3:8.2f}" for t in times[:2]] + [f"{t * 1e3:24.2f}" for t in times[2:-1]]
        print(f"{size:7s} " + " ".join(cells) + f" {times[-1] * 1e3:8.2f}", flush=True)
    print()
    print("NumPy calls per time step, forward + backward (the loops'; what is done once for all steps aside)")
    print(f"{'size':7s} {'compiled':>14s} {'reference':>14s} {'compiled us/step':>17s} {'us per call':>12s}")
    for size in SIZES:
        T = SIZES[size][3]
        setup = compiled_without(size)
        forward, backward = numpy_calls_per_step(setup, T)
        seconds = best_times([setup.compiled], repeat)[0]
        per_step = seconds / T * 1e6
        print(
            f"{size:7s} {f'{forward:.1f} + {backward:.1f}':>14s} {'{} + {}'.format(*REFERENCE_CALLS):>14s} "
            f"{per_step:17.1f} {per_step / (forward + backward):12.2f}",
            flush=True,
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--passes", action="store_true", help="what each compiler pass saves (see above)")
    args = parser.parse_args()
    if args.passes:
        return passes_table(args.repeat)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        torch = None

    compiles = hasattr(tl, "compile")
    print(
        f"one training step (forward + MSE + backward), float32, 1 thread, best of {args.repeat}; "
        f"ms, and x the NumPy reference's time"
    )
    print(
        f"{'size':7s} {'B,I,H,T':14s} {'numpy':>9s} {'eager':>9s} {'compiled':>9s} {'torch':>9s} "
        f"{'eager/np':>9s} {'comp/np':>9s} {'torch/np':>9s}"
    )
    for name in args.sizes:
        B, I, H, T = SIZES[name]
        setup = Setup(name)
        x, target, lstm = setup.x, setup.target, setup.lstm
        steps = [setup.numpy_step, setup.eager]
        ref_loss, ref_grads = setup.numpy_step()
        check("eager", setup.eager(), lstm.parameters(), ref_loss, ref_grads)
        if compiles:
            for _ in range(3):  # the trace, the checked replay, a plain replay
                check("compiled", setup.compiled(), lstm.parameters(), ref_loss, ref_grads)
            steps.append(setup.compiled)
        if torch is not None:
            module = torch.nn.LSTM(I, H)
            xt, yt = torch.tensor(x), torch.tensor(target)

            def torch_step(module=module, xt=xt, yt=yt):
                module.zero_grad()
                out, _ = module(xt)
                torch.nn.functional.mse_loss(out, yt).backward()

            steps.append(torch_step)
        inner = max(1, int(0.1 / max(best_times([setup.numpy_step], 1, 1)[0], 1e-4)))
        times = iter(best_times(steps, args.repeat, inner))
        t_numpy, t_eager = next(times), next(times)
        t_compiled = next(times) if compiles else None
        t_torch = next(times) if torch is not None else None
        print(
            f"{name:7s} {f'{B},{I},{H},{T}':14s} {column(t_numpy)} {column(t_eager)} {column(t_compiled)} "
            f"{column(t_torch)} {ratio(t_eager, t_numpy)} {ratio(t_compiled, t_numpy)} {ratio(t_torch, t_numpy)}",
            flush=True,
        )


if __name__ == "__main__":
    main()
