"""Gradients of gradients: a Hessian-vector product on an LSTM loss, and Newton's method.

backward() computes a gradient by running each op's derivative rule. With
create_graph=True those rules run on Tensors, so the gradient has a graph of its own and
can be differentiated again: the second derivative is one more backward pass.

1. Hessian-vector product. For the loss L(θ) of an LSTM and any direction v,
       H v = d/dθ (∇L(θ) · v)
   is the gradient of one number, so it costs about two backward passes, never the whole
   Hessian. It is checked against finite differences of the gradient:
       H v ≈ (∇L(θ + εv) - ∇L(θ - εv)) / 2ε.

2. Newton's method on Rosenbrock's function f(x, y) = (1 - x)² + 100 (y - x²)²: each step
   solves H Δ = -∇f, the Hessian H built one row at a time from the gradient's gradient.
   From (-1.2, 1) it reaches the minimum (1, 1) in a handful of steps, where gradient
   descent takes thousands.

    python examples/second_order.py
"""

import numpy as np

import tinygrad_lstm as tl
from tinygrad_lstm import Tensor


def lstm_loss(lstm, x, target):
    out, _ = lstm(x)
    return tl.functional.mse_loss(out, target)


def hessian_vector_product(seed=0, eps=1e-6):
    """H v for an LSTM's loss, by autograd and by finite differences; returns the worst relative gap."""
    rng = np.random.default_rng(seed)
    lstm = tl.nn.LSTM(input_size=3, hidden_size=4, dtype=np.float64)
    x, target = rng.standard_normal((6, 2, 3)), rng.standard_normal((6, 2, 4))  # (T, B, features)
    params = list(lstm.parameters())
    v = [rng.standard_normal(p.shape) for p in params]

    # autograd: the gradient, with its graph; then the gradient of (gradient · v)
    grads = tl.grad(lstm_loss(lstm, x, target), params, create_graph=True)
    grad_dot_v = sum((g * vk).sum() for g, vk in zip(grads, v))
    hv = [h.numpy() for h in tl.grad(grad_dot_v, params)]

    # finite differences of the (first-order) gradient along v
    def gradient_at(step):
        with tl.no_grad():
            for p, vk in zip(params, v):
                p.data += step * vk
        try:
            return [g.numpy() for g in tl.grad(lstm_loss(lstm, x, target), params)]
        finally:
            with tl.no_grad():
                for p, vk in zip(params, v):
                    p.data -= step * vk

    up, down = gradient_at(eps), gradient_at(-eps)
    numeric = [(u - d) / (2 * eps) for u, d in zip(up, down)]
    worst = max(np.abs(a - n).max() / (np.abs(n).max() + 1e-12) for a, n in zip(hv, numeric))
    print(
        f"1. Hessian-vector product of an LSTM loss ({sum(p.size for p in params)} parameters; "
        "the first number of each shown):"
    )
    for (name, _), a, n in zip(lstm.named_parameters(), hv, numeric):
        print(f"   {name:14s} autograd {a.ravel()[0]: .8f}   finite differences {n.ravel()[0]: .8f}")
    print(f"   worst relative gap: {worst:.1e}")
    return worst


def rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def newton(start=(-1.2, 1.0), steps=20, tol=1e-12):
    """Newton's method with autograd's Hessian; returns the path it took."""
    p = np.array(start)
    path = [p.copy()]
    print("\n2. Newton's method on Rosenbrock's function, from", tuple(start))
    for k in range(steps):
        point = Tensor(p, requires_grad=True)
        (gradient,) = tl.grad(rosenbrock(point), [point], create_graph=True)
        # row i of the Hessian: the gradient of the i-th component of the gradient
        hessian = np.stack([tl.grad(gradient[i], [point], retain_graph=True)[0].numpy() for i in range(len(p))])
        p = p - np.linalg.solve(hessian, gradient.numpy())
        path.append(p.copy())
        print(f"   step {k + 1}: (x, y) = ({p[0]: .10f}, {p[1]: .10f})   f = {float(rosenbrock(Tensor(p))):.3e}")
        if np.abs(path[-1] - path[-2]).max() < tol:
            break
    return path


def main():
    worst = hessian_vector_product()
    path = newton()
    return worst, path


if __name__ == "__main__":
    main()
