"""gradcheck and gradgradcheck: autograd's derivatives against finite differences, in float64.

    tl.gradcheck(lambda x, w: (x @ w).tanh(), [x, w])       first derivatives
    tl.gradgradcheck(lambda x: x.sigmoid(), [x])            second derivatives (create_graph)

What every op in ops.py is tested with, and what a learner's own op is checked with
(docs/own_op.md).
"""

import numpy as np

from .autograd import grad
from .grad_mode import enable_grad, no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    pass


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0):
    """Check autograd against central differences, in float64.

    fn(*inputs) may return any shape: it is reduced along a fixed random direction r,
    L = sum(fn(*inputs) * r), so every output element is checked. For each element of
    each input that requires grad:   dL/dx ~ (L(x + eps) - L(x - eps)) / (2 eps).
    Returns True, or raises GradcheckError naming the input and its worst element.
    Leaves the inputs' data and .grad as they were.
    """
    inputs = [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]
    checked = [x for x in inputs if x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, nothing to check")
    for x in checked:
        if x.data.dtype != np.float64:
            raise TypeError(
                f"gradcheck: inputs must be float64 (finite differences in float32 are too coarse), got {x.data.dtype}"
            )
        if not x.data.flags.writeable:
            x.data = x.data.copy()
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    direction = np.random.default_rng(seed).standard_normal(out.shape)

    analytic = [np.zeros_like(x.data) for x in checked]  # (an output with no graph depends on no input)
    if out.requires_grad:
        found = grad(out, checked, direction, allow_unused=True)
        analytic = [a if g is None else g.data for a, g in zip(analytic, found)]

    def loss():
        with no_grad():
            return float(np.sum(fn(*inputs).data * direction))

    for number, (x, auto) in enumerate(zip(checked, analytic)):
        numeric = np.zeros_like(x.data)
        for idx in np.ndindex(x.shape):
            original = x.data[idx]
            try:
                x.data[idx] = original + eps
                up = loss()
                x.data[idx] = original - eps
                down = loss()
            finally:  # even when fn raises: the input is left as it was
                x.data[idx] = original
            numeric[idx] = (up - down) / (2 * eps)
        if not np.allclose(auto, numeric, atol=atol, rtol=rtol):
            worst = tuple(int(k) for k in np.unravel_index(np.argmax(np.abs(auto - numeric)), x.shape))
            raise GradcheckError(
                f"gradcheck: input {number} (shape {x.shape}) autograd and finite differences disagree; "
                f"worst at index {worst}: autograd {auto[worst]:.8g}, numeric {numeric[worst]:.8g}"
            )
    return True


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0):
    """Check second derivatives against finite differences of the first, in float64.

    For a fixed random v of fn's output shape, the gradient g(x, v) = d/dx sum(fn(x) * v)
    is itself a function of the inputs and of v, computed by grad(..., create_graph=True).
    gradcheck differentiates that function by autograd (the backward of the backward) and
    by finite differences, so every second derivative, and the dependence on v, is checked.
    """
    inputs = [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]
    if not any(x.requires_grad for x in inputs):
        raise ValueError("gradgradcheck: no input has requires_grad=True, nothing to check")
    with enable_grad():
        shape = fn(*inputs).shape
    rng = np.random.default_rng(seed + 1)
    v = Tensor(rng.standard_normal(shape), requires_grad=True)
    weights = [rng.standard_normal(x.shape) for x in inputs if x.requires_grad]

    def first_derivatives(*args):
        *xs, v = args
        with enable_grad():
            wrt = [x for x in xs if x.requires_grad]
            found = grad(fn(*xs), wrt, v, create_graph=True, allow_unused=True)
        total = Tensor(np.zeros(()))
        for g, w in zip(found, weights):  # one number that depends on every element of every gradient
            if g is not None:
                total = total + (g * w).sum()
        return total

    return gradcheck(first_derivatives, inputs + [v], eps=eps, atol=atol, rtol=rtol, seed=seed)
