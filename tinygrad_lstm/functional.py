"""Composites built from the primitive ops: softmax, log_softmax and the losses.

None of these has a backward of its own: autograd differentiates the ops they are made of.
Losses refuse shapes that would broadcast into a different question (a (B, 1) prediction
against a (B,) target would silently compare every pair), naming both shapes.
"""

import functools

import numpy as np

from . import ops
from .checks import as_indices
from .convert import as_tensor
from .errors import ShapeError
from .grad_mode import scope
from .tensor import Tensor


def _a_loss(loss):
    """The loss's ops run in a scope of its name: a picture of the graph draws them in one box."""

    @functools.wraps(loss)
    def run(*args, **kwargs):
        with scope(loss.__name__):
            return loss(*args, **kwargs)

    return run


def log_softmax(x, axis=-1, *, dim=None):
    """log softmax(x) = x - log sum exp(x), computed as z - log sum exp(z) with z = x - max(x):
    the same value (softmax ignores a constant shift), and exp never overflows."""
    axis = axis if dim is None else dim
    if x.ndim and x.shape[axis] == 0:
        return x + 0  # an empty axis: nothing to normalise (and no max to shift by)
    z = x - x.max(axis=axis, keepdims=True).detach()
    return z - z.exp().sum(axis=axis, keepdims=True).log()


def softmax(x, axis=-1, *, dim=None):
    return log_softmax(x, axis, dim=dim).exp()


def softplus(x):
    return x.softplus()


def leaky_relu(x, negative_slope=0.01):
    return x.leaky_relu(negative_slope)


def gelu(x, approximate="none"):
    return x.gelu(approximate)


@_a_loss
def mse_loss(prediction, target):
    """mean((prediction - target)^2)."""
    target = as_tensor(target, prediction)
    _same_shape("mse_loss", prediction, target)
    return ((prediction - target) ** 2).mean()


@_a_loss
def binary_cross_entropy_with_logits(logits, target):
    """mean over elements of  -[y log σ(x) + (1 - y) log(1 - σ(x))]  =  softplus(x) - x y,

    since -log σ(x) = ln(1 + e^-x) = softplus(x) - x and -log(1 - σ(x)) = softplus(x).
    softplus never overflows, and its derivative σ(x) is smooth through x = 0, so the
    gradient there is (1/2 - y) / N."""
    target = as_tensor(target, logits)
    _same_shape("binary_cross_entropy_with_logits", logits, target)
    return (logits.softplus() - logits * target).mean()


@_a_loss
def cross_entropy(logits, target):
    """Softmax cross-entropy: mean over rows of -log softmax(logits)[row, target[row]].

    logits (N, C) scores; target (N,) class indices in [0, C)."""
    target = np.asarray(target)
    if logits.ndim != 2 or target.shape != logits.shape[:1]:
        raise ShapeError(
            f"cross_entropy: expected logits (N, C) and target (N,), got {logits.shape} and {target.shape}"
        )
    target = Tensor._make(as_indices("cross_entropy", "target class indices", target))
    picked = ops.Pick.apply(log_softmax(logits, axis=1), target, who="cross_entropy", what="target class indices")
    return -picked.mean()


def _same_shape(name, a, b):
    if a.shape != b.shape:
        raise ShapeError(f"{name}: prediction and target must have the same shape, got {a.shape} and {b.shape}")
