"""What backward() does, for one neuron, checked two more ways.

The neuron y = σ(w x + b) with the loss L = (y - target)^2. backward() walks the graph
from L back to w and b. Here the same gradients are also worked out by hand with the
chain rule, and by nudging w and b a little (finite differences); all three must agree.

    python examples/backward_by_hand.py [--graph neuron.svg]
"""

import argparse
import os

import numpy as np

import tinygrad_lstm as tl
from tinygrad_lstm import Tensor


def recorded_ops(root):
    """The ops behind root, newest first: the order backward() runs them in."""
    found, todo = set(), [root]
    while todo:
        fn = todo.pop().grad_fn
        if fn is not None and fn not in found:
            found.add(fn)
            todo.extend(fn.parents)
    return sorted(found, key=lambda fn: -fn.seq)


def describe(t):
    if t.name:
        return t.name
    if t.grad_fn is not None:
        return f"{type(t.grad_fn).__name__}'s output"
    return "an input" if t.requires_grad else "a constant"


def main(graph=None):
    x, target = 1.5, 0.2
    w = Tensor(np.array(0.8), requires_grad=True, name="w")
    b = Tensor(np.array(-0.3), requires_grad=True, name="b")

    z = w * x + b
    y = z.sigmoid()
    loss = (y - target) ** 2
    loss.backward(retain_graph=True)  # keep the graph: we look at it below

    print("the graph, in the order backward() walks it (the newest op first):")
    for fn in recorded_ops(loss):
        print(f"  {type(fn).__name__:8s} inputs: {', '.join(describe(p) for p in fn.parents)}")

    # The chain rule by hand, from the loss down, one local derivative per op:
    #   dL/dy = 2 (y - target),  dy/dz = y (1 - y),  dz/dw = x,  dz/db = 1
    dL_dy = 2 * (y.item() - target)
    dL_dz = dL_dy * y.item() * (1 - y.item())
    by_hand = {"w": dL_dz * x, "b": dL_dz * 1.0}

    # Finite differences: dL/dp ≈ (L(p + eps) - L(p - eps)) / (2 eps), with numpy alone.
    def plain_loss(w_value, b_value):
        return (1 / (1 + np.exp(-(w_value * x + b_value))) - target) ** 2

    eps, wv, bv = 1e-6, w.item(), b.item()
    numeric = {
        "w": (plain_loss(wv + eps, bv) - plain_loss(wv - eps, bv)) / (2 * eps),
        "b": (plain_loss(wv, bv + eps) - plain_loss(wv, bv - eps)) / (2 * eps),
    }

    print(f"\nL = {loss.item():.6f}")
    print(f"{'':6s} {'backward()':>14s} {'chain rule':>14s} {'nudging':>14s}")
    worst = 0.0
    for name, param in (("dL/dw", w), ("dL/db", b)):
        key = name[-1]
        auto = param.grad.item()
        print(f"{name:6s} {auto:14.9f} {by_hand[key]:14.9f} {numeric[key]:14.9f}")
        worst = max(worst, abs(auto - by_hand[key]), abs(auto - numeric[key]))
    print(f"largest disagreement: {worst:.1e}")

    if graph:
        try:
            tl.viz.render(tl.viz.draw_graph(loss, show_values=True, show_grads=True), graph)
        except RuntimeError as err:  # Graphviz's dot is missing, or failed
            raise SystemExit(
                f"{err}; `--graph {os.path.splitext(graph)[0]}.dot` writes the DOT text, which needs no Graphviz"
            ) from None
        print(f"the graph, with values and gradients: {graph}")
    return worst


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", help="also draw the graph to this file (.svg, .png or .pdf; needs Graphviz)")
    main(parser.parse_args().graph)
