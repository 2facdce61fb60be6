"""The primitive ops: one class each, forward and derivative side by side.

`grad` in every backward is dL/d(output); each backward returns dL/d(input), one per
input (None where the input needs none). Elementwise ops may return a gradient in the
output's broadcast shape: the engine sums it back to the input's shape (autograd.unbroadcast).
Everything else (mean, softmax, the losses, the LSTM) is composed from these.

One rule, two passes. A plain backward() runs each rule on arrays: numpy, fast. Under
create_graph=True the engine runs the same rule on Tensors (higher_order.py), so its
arithmetic is recorded and the gradient can be differentiated again. So a rule uses only
what takes both: Python's operators, .reshape/.sum/.transpose/.T, and the functions at the
end of this file (_exp, _where, _dot, ...), which call numpy on arrays and the op on
Tensors. What a rule reads from self is an input (saved under any name), the output
(`self.out`), or a constant: a mask, a shape, an index, or a float array listed in the
class's `constants` (a sign: piecewise constant). docs/own_op.md writes a new op this way.
"""

import functools
import math

import numpy as np

from . import random
from .autograd import Function, unbroadcast
from .checks import check_in_range
from .convert import as_tensor
from .errors import IndexOutOfRange, ShapeError
from .tensor import Tensor

# Constants as 0-d arrays of the input's dtype. numpy combines an array with a 0-d array of
# the same dtype about twice as fast as with a Python float, which it must first convert;
# at the small sizes of an LSTM step that is a good part of sigmoid's cost.
_ONE = {np.dtype(t): np.array(1.0, t) for t in (np.float32, np.float64)}
_EXP_LIMIT = {np.dtype(np.float32): np.array(88.7, np.float32), np.dtype(np.float64): np.array(709.7)}  # e^x finite


# ----- elementwise, two inputs ---------------------------------------------------------


class Add(Function):  # z = a + b;  dz/da = 1, dz/db = 1
    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Function):  # z = a - b;  dz/da = 1, dz/db = -1
    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, -grad


class Mul(Function):  # z = a * b;  dz/da = b, dz/db = a
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        return grad * self.b, grad * self.a


class Div(Function):  # z = a / b;  dz/da = 1/b, dz/db = -a/b^2 = -z/b
    def forward(self, a, b):
        self.b = b
        self.out = a / b
        return self.out

    def backward(self, grad):
        grad_a = grad / self.b
        return grad_a, -grad_a * self.out


class Maximum(Function):
    """z = max(a, b) elementwise; dz/da = 1 where a > b, 0 where a < b, and at a tie 1/2
    to each (as torch: the average of the two one-sided derivatives). A nan wins, and gets it all."""

    piecewise_linear, constants = True, ("to_a", "to_b")  # the shares are constant between kinks

    def forward(self, a, b):
        self.to_a, self.to_b = _tie_shares(a, b)
        return np.maximum(a, b)

    def backward(self, grad):
        return grad * self.to_a, grad * self.to_b


class Minimum(Function):  # z = min(a, b) elementwise: max's rule with a and b's roles swapped
    piecewise_linear, constants = True, ("to_a", "to_b")

    def forward(self, a, b):
        self.to_b, self.to_a = _tie_shares(a, b)
        return np.minimum(a, b)

    def backward(self, grad):
        return grad * self.to_a, grad * self.to_b


def _tie_shares(a, b):
    """For max(a, b): the share of the gradient a gets (1 where a > b, 1/2 at a tie, else 0)
    and the share b gets; where either is nan (no order) both get all of it, as torch."""
    dtype = np.result_type(a, b)
    tie = a == b
    return (
        np.where(tie, 0.5, np.where(a < b, 0, 1)).astype(dtype),
        np.where(tie, 0.5, np.where(a > b, 0, 1)).astype(dtype),
    )


class Where(Function):  # z = a where condition else b;  dz/da = 1 where condition, dz/db = 1 elsewhere
    def forward(self, condition, a, b):
        if condition.dtype != bool:
            raise TypeError(f"where: the condition must be a bool tensor (e.g. x > 0), got dtype {condition.dtype}")
        self.condition = condition
        return np.where(condition, a, b)

    def backward(self, grad):
        return None, _where(self.condition, grad, 0), _where(self.condition, 0, grad)


class ConstantOf(Function):
    """z = g, a value that does not change with the other inputs: dz/d(each of them) = 0
    (create_graph keeps a constant gradient in its inputs' graph with it, as torch does)."""

    def forward(self, g, *inputs):
        return g

    def backward(self, grad):
        return (None,) + tuple(np.zeros(t.shape, t.dtype) for t in self.parents[1:])


# ----- elementwise, one input ----------------------------------------------------------


class Neg(Function):  # z = -a;  dz/da = -1
    def forward(self, a):
        return -a

    def backward(self, grad):
        return (-grad,)


class Pow(Function):  # z = a^p (p a constant);  dz/da = p a^(p-1)  (0 for p = 0, even at a = 0)
    def forward(self, a, exponent):
        self.a, self.exponent = a, exponent
        return a**exponent

    def backward(self, grad):
        p = self.exponent
        if p == 0:  # a^0 = 1 is flat; p a^(p-1) would be 0 * inf = nan at a = 0
            return (np.zeros(grad.shape, grad.dtype),)
        slope = p * self.a ** (p - 1)
        if p != round(p):  # a^p of a negative a is nan, and so is its slope, -inf included (C's pow gives 0 there)
            slope = _where(np.asarray(self.a) < 0, np.nan, slope)
        return (grad * slope,)


class PowOf(Function):  # z = b^a (b a constant number);  dz/da = b^a ln b = z ln b
    def forward(self, a, base):
        self.base, self.a = base, a
        self.out = np.power(base, a)
        return self.out

    def backward(self, grad):
        base = self.out.dtype.type(self.base)
        if base > 0:
            return (grad * (self.out * np.log(base)),)
        with np.errstate(divide="ignore", invalid="ignore"):  # ln 0 = -inf, ln of a negative is nan, as torch
            dz_da = self.out * np.log(base)
        if base == 0:  # 0^a is 0 for a > 0 and 1 at a = 0: flat there, as torch (not 0 * -inf)
            dz_da = _where(np.asarray(self.a) >= 0, base, dz_da)
        return (grad * dz_da,)


class Exp(Function):  # z = e^a;  dz/da = e^a = z
    def forward(self, a):
        self.out = np.exp(a)
        return self.out

    def backward(self, grad):
        return (grad * self.out,)


class Log(Function):  # z = ln a;  dz/da = 1/a
    def forward(self, a):
        self.a = a
        return np.log(a)

    def backward(self, grad):
        return (grad / self.a,)


class Sigmoid(Function):  # z = 1 / (1 + e^-a);  dz/da = z (1 - z) = z - z^2
    def forward(self, a):
        self.out = sigmoid_array(a)
        return self.out

    def backward(self, grad):
        z = self.out
        return (grad * (z - z * z),)


def sigmoid_array(a):
    """1 / (1 + e^-a), as torch computes it: within 2 ulp everywhere the result is a normal
    number (sigmoid(-20) is 2e-9, where 1/2 + tanh(a/2)/2 rounds to 0 in float32).

    e^-a would overflow below a = -88.7 (float32; -709.7 in float64), so -a is capped there:
    below it the result stays at about 3e-39 (float32; 1e-308 in float64) where the true one
    is smaller still, a subnormal number (torch gives 0 there)."""
    if a.dtype == np.float16:  # in float32, rounded once at the end, as torch does
        return sigmoid_array(a.astype(np.float32)).astype(np.float16)
    one = _ONE.get(a.dtype, 1)
    return one / (one + np.exp(np.minimum(-a, _EXP_LIMIT.get(a.dtype, 709.7))))


class Tanh(Function):  # z = tanh a;  dz/da = 1 - z^2
    def forward(self, a):
        self.out = np.tanh(a)
        return self.out

    def backward(self, grad):
        z = self.out
        one = _ONE.get(z.dtype, 1)  # 1 as a 0-d array of z's dtype: numpy takes it twice as fast as a Python 1
        return (grad * (one - z * z),)


class ReLU(Function):  # z = max(a, 0);  dz/da = 0 where a <= 0 (the kink included, as torch), else 1
    piecewise_linear = True

    def forward(self, a):
        self.off = a <= 0  # (a nan is not <= 0: its gradient passes, as torch's)
        return np.maximum(a, a.dtype.type(0))  # (a * (a > 0) would make -inf * 0 = nan)

    def backward(self, grad):
        return (_where(self.off, grad.dtype.type(0), grad),)


class Softplus(Function):  # z = ln(1 + e^a);  dz/da = e^a / (1 + e^a) = sigmoid(a)
    def forward(self, a):
        self.a = a
        return np.logaddexp(a.dtype.type(0), a)  # ln(e^0 + e^a), computed without overflow

    def backward(self, grad):
        return (grad * _sigmoid(self.a),)


class Sqrt(Function):  # z = √a;  dz/da = 1 / (2√a) = 1 / (2z)  (inf at 0, as torch)
    def forward(self, a):
        self.out = np.sqrt(a)
        return self.out

    def backward(self, grad):
        return (grad / (2 * self.out),)


class Abs(Function):  # z = |a|;  dz/da = sign(a): -1, 1, and 0 at the kink and at nan (as torch)
    piecewise_linear, constants = True, ("sign",)

    def forward(self, a):
        self.sign = (a > 0).astype(a.dtype) - (a < 0)  # (np.sign(nan) is nan)
        return np.abs(a)

    def backward(self, grad):
        return (grad * self.sign,)


class LeakyReLU(Function):  # z = a for a > 0, else slope * a;  dz/da = 1 or slope (slope at 0, as torch)
    piecewise_linear, constants = True, ("factor",)

    def forward(self, a, slope):
        self.factor = np.where(a > 0, a.dtype.type(1), a.dtype.type(slope))
        return a * self.factor

    def backward(self, grad):
        return (grad * self.factor,)


class Clamp(Function):  # z = a limited to [low, high];  dz/da = 1 inside (the ends included, as torch), else 0
    piecewise_linear = True

    def forward(self, a, low, high):
        self.inside = np.ones(a.shape, bool)
        if low is not None:
            self.inside &= a >= low
        if high is not None:
            self.inside &= a <= high
        return np.clip(a, low, high)

    def backward(self, grad):
        return (_where(self.inside, grad, 0),)


class Sin(Function):  # z = sin a;  dz/da = cos a
    def forward(self, a):
        self.a = a
        return np.sin(a)

    def backward(self, grad):
        return (grad * _cos(self.a),)


class Cos(Function):  # z = cos a;  dz/da = -sin a
    def forward(self, a):
        self.a = a
        return np.cos(a)

    def backward(self, grad):
        return (-(grad * _sin(self.a)),)


class Erf(Function):  # z = erf a = 2/√π ∫_0^a e^(-t²) dt;  dz/da = 2/√π e^(-a²)
    def forward(self, a):
        self.a = a
        return _erf_array(a)

    def backward(self, grad):
        a = self.a
        return (grad * (_exp(-(a * a)) * _TWO_OVER_SQRT_PI),)


class GELU(Function):
    """z = a Φ(a), Φ the standard normal's cumulative distribution, Φ(a) = (1 + erf(a/√2)) / 2;
    dz/da = Φ(a) + a φ(a), φ(a) = e^(-a²/2) / √(2π) its density (torch's exact gelu)."""

    def forward(self, a):
        self.a = a
        return a * _normal_cdf(a)

    def backward(self, grad):
        a = self.a
        return (grad * (_normal_cdf(a) + a * (_exp(-0.5 * (a * a)) * _ONE_OVER_SQRT_2PI)),)


_TWO_OVER_SQRT_PI, _ONE_OVER_SQRT_2PI = 2 / math.sqrt(math.pi), 1 / math.sqrt(2 * math.pi)


def _normal_cdf(a):
    return 0.5 * (1 + _erf(a * math.sqrt(0.5)))


def _erf_array(a):
    """erf elementwise. numpy has no erf ufunc: Python's math.erf (exact to the last bit or
    so) once per element, about 0.1 µs each: fine for a learner's model, slow for a big one."""
    return np.asarray(np.vectorize(math.erf, otypes=[np.float64])(a), dtype=a.dtype)


class Dropout(Function):
    """z = a * keep / (1 - p): each element kept with probability 1 - p and scaled so the
    expected value is unchanged; dz/da = keep / (1 - p). The mask is drawn in forward, from
    the library's random generator, so a compiled function draws a new one at each call."""

    constants = ("scale",)

    def forward(self, a, p):
        keep = random.generator().random(a.shape) >= p
        self.scale = (keep / (1 - p)).astype(a.dtype)
        return a * self.scale

    def backward(self, grad):
        return (grad * self.scale,)


class Cast(Function):  # z = a in another dtype;  dz/da = 1 (the gradient goes back in a's dtype)
    def forward(self, a, dtype):
        if dtype.kind not in "biuf":
            raise TypeError(f"to: a tensor holds bool, int or float numbers, got dtype {dtype}")
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, grad):
        return (_cast(grad, self.dtype),)


# ----- matrix product ------------------------------------------------------------------


class MatMul(Function):
    """z = a @ b, 2-D or batched (leading axes broadcast as in numpy); 1-D vectors allowed.

    For matrices: dL/da = dL/dz @ b^T,  dL/db = a^T @ dL/dz.
    """

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(
                f"matmul: operands must have at least 1 dimension, got shapes {a.shape} and {b.shape}; "
                "use * to scale by a scalar"
            )
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            inner = b.shape[-2 if b.ndim > 1 else 0]
            raise ShapeError(
                f"matmul: shapes {a.shape} and {b.shape} do not line up: the last axis of the left "
                f"({a.shape[-1]}) must equal the {'second-to-last' if b.ndim > 1 else 'only'} "
                f"axis of the right ({inner})"
            )
        self.a, self.b = a, b
        # With a 2-D b, np.dot is the same product as @ with less dispatch overhead (it
        # matters for small matrices: 0.6 us against 0.9 us for a 1x16 @ 16x64).
        if a.ndim <= 2 and b.ndim == 2:
            return np.dot(a, b)
        if b.ndim == 2:  # (..., k) @ (k, n): fold the leading axes into rows, one BLAS call
            return np.dot(a.reshape(-1, a.shape[-1]), b).reshape(a.shape[:-1] + b.shape[1:])
        return a @ b

    def backward(self, grad):
        return self.grads(grad, *self.needs_input_grad)

    def grads(self, grad, need_a, need_b):
        """(dL/da, dL/db), each only where needed (None otherwise)."""
        a, b = self.a, self.b
        if a.ndim == 2 and b.ndim == 2:  # the rule: dL/da = dL/dz @ b^T,  dL/db = a^T @ dL/dz
            return (_dot(grad, b.T) if need_a else None), (_dot(a.T, grad) if need_b else None)
        if b.ndim == 2:  # x @ W with x of more axes (or a vector): x's leading axes are rows of one matrix
            rows, grad_rows = a.reshape(-1, a.shape[-1]), grad.reshape(-1, b.shape[1])
            grad_a = _dot(grad_rows, b.T).reshape(a.shape) if need_a else None
            return grad_a, (_dot(rows.T, grad_rows) if need_b else None)
        # Batched b, or a vector b: treat vectors as matrices (a row on the left, a column on
        # the right) and drop that axis after; the engine sums broadcast batch axes.
        a2 = a.reshape((1,) + a.shape) if a.ndim == 1 else a
        b2 = b.reshape(b.shape + (1,)) if b.ndim == 1 else b
        g = grad if b.ndim > 1 else grad.reshape(grad.shape + (1,))  # the output's column axis back,
        if a.ndim == 1:
            g = g.reshape(g.shape[:-1] + (1,) + g.shape[-1:])  # then its row axis
        grad_a = grad_b = None
        if need_a:
            grad_a = g @ _swap_last_two(b2)
            if a.ndim == 1:
                grad_a = grad_a.reshape(grad_a.shape[:-2] + grad_a.shape[-1:])
        if need_b:
            grad_b = _swap_last_two(a2) @ g
            if b.ndim == 1:
                grad_b = grad_b.reshape(grad_b.shape[:-1])
        return grad_a, grad_b


class AddMatMul(MatMul):
    """z = c + a @ b as one op (BLAS's gemm, torch's addmm): dL/dc = dL/dz, and a, b as in MatMul.

    An RNN step adds its input's contribution to the hidden state's, x_gates + h @ U;
    one op instead of two is one less node to record and walk back at every time step.
    """

    def forward(self, c, a, b):
        out = super().forward(a, b)
        self.product_shape = np.shape(out)
        if c.dtype == out.dtype:
            try:  # add c into the product, a fresh array, rather than make another
                out += c
                return out
            except ValueError:  # c has more elements than a @ b: broadcasting needs a new array
                pass
        return c + out

    def backward(self, grad):
        product_grad = grad  # where c was the bigger one, a @ b was copied along c's extra axes: sum them
        if grad.shape != self.product_shape:
            product_grad = unbroadcast(grad, self.product_shape)
        return (grad,) + self.grads(product_grad, *self.needs_input_grad[1:])


def addmm(c, a, b):
    return AddMatMul.apply(c, a, b)


# ----- reductions ----------------------------------------------------------------------


def normalize_axis(axis, ndim, op):
    """One axis (negatives count from the end) as a non-negative int, checked against ndim."""
    check_int_axis(axis, op)
    if not -ndim <= axis < ndim:
        raise IndexOutOfRange(
            f"{op}: axis {axis} is out of range for a tensor with {ndim} dimensions (expected {-ndim} to {ndim - 1})"
            if ndim
            else f"{op}: axis {axis} is out of range: a 0-d tensor has no axes"
        )
    return axis % ndim


def check_int_axis(axis, op):
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{op}: an axis must be an integer, got {axis!r}")


def normalize_axes(axis, ndim, op):
    """axis (None, int or tuple, negatives allowed) as a sorted tuple of non-negative axes.
    As in torch, an empty tuple means every axis, like None; a 0-d tensor takes axis 0 or -1
    and reduces over nothing."""
    many = isinstance(axis, (tuple, list))
    if axis is None or (many and len(axis) == 0):
        return tuple(range(ndim))
    if ndim == 0 and all(ax in (0, -1) for ax in (axis if many else (axis,))):
        return ()
    if not many:
        return (normalize_axis(axis, ndim, op),)
    axes = sorted([normalize_axis(ax, ndim, op) for ax in axis])
    if len(set(axes)) != len(axes):
        raise ShapeError(f"{op}: axis {tuple(axis)} names an axis more than once")
    return tuple(axes)


class Sum(Function):  # z = sum of a over axes;  dz/da = 1 for every summed element
    def forward(self, a, axis, keepdims):
        axes = normalize_axes(axis, a.ndim, "sum")
        self.shape, self.kept_shape = a.shape, tuple(1 if k in axes else n for k, n in enumerate(a.shape))
        if a.dtype == np.float16:  # add up in float32 and round once, as torch
            return a.sum(axis=axes, keepdims=keepdims, dtype=np.float32).astype(np.float16)
        return a.sum(axis=axes, keepdims=keepdims)

    def backward(self, grad):  # every summed element gets the gradient of its sum: grad copied along the summed axes
        return (_expand(grad.reshape(self.kept_shape), self.shape),)


class Max(Function):
    """z = max of a over axes. The gradient goes to the element(s) that were the max;
    ties share it equally (so it is the derivative of the average of the tied maxima), as
    torch's max() and amax() do. A nan is the max, and takes the gradient."""

    name, find = "max", staticmethod(np.max)
    piecewise_linear, constants = True, ("peak",)  # (which elements won is a constant: its derivative is zero)

    def forward(self, a, axis, keepdims):
        self.axes = normalize_axes(axis, a.ndim, self.name)
        if any(a.shape[ax] == 0 for ax in self.axes):
            raise ShapeError(
                f"{self.name}: cannot take the {self.name} over an empty axis of a tensor of shape {a.shape}"
            )
        self.a = a
        self.peak = self.find(a, axis=self.axes, keepdims=True)
        return self.peak if keepdims else np.squeeze(self.peak, axis=self.axes)

    def backward(self, grad):
        a = np.asarray(self.a)  # (which elements won is a constant: its derivative is zero)
        winners = a == self.peak
        if a.dtype.kind == "f":  # a nan is the max (numpy's and torch's), and takes the gradient
            winners |= np.isnan(a) & np.isnan(self.peak)
        share = (winners / winners.sum(axis=self.axes, keepdims=True)).astype(a.dtype)
        return (grad.reshape(self.peak.shape) * share,)


class Min(Max):  # z = min of a over axes: max's rule, the smallest element(s) winning (nan too)
    name, find = "min", staticmethod(np.min)


class LogSumExp(Function):
    """z = ln sum e^a over axes, computed as m + ln sum e^(a - m), m the max (so e^ never
    overflows); dz/da = e^a / sum e^a = e^(a - z), the softmax."""

    def forward(self, a, axis, keepdims):
        axes = normalize_axes(axis, a.ndim, "logsumexp")
        self.a, self.kept_shape = a, tuple(1 if k in axes else n for k, n in enumerate(a.shape))
        peak = a.max(axis=axes, keepdims=True) if a.size else np.zeros(self.kept_shape, a.dtype)
        peak = np.where(np.isfinite(peak), peak, 0)  # all -inf (or an inf): shift by nothing
        with np.errstate(divide="ignore"):  # an empty sum is 0, and ln 0 = -inf, as torch
            self.out = np.log(np.exp(a - peak).sum(axis=axes, keepdims=True)) + peak
        if not keepdims:
            self.out = self.out.reshape([n for k, n in enumerate(a.shape) if k not in axes])
        return self.out

    def backward(self, grad):
        return (grad.reshape(self.kept_shape) * _exp(self.a - self.out.reshape(self.kept_shape)),)


# ----- shape ---------------------------------------------------------------------------


class Reshape(Function):  # same numbers, new shape; the gradient takes the old shape back
    def forward(self, a, shape):
        self.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ShapeError(f"reshape: cannot reshape {a.shape} ({a.size} elements) into {tuple(shape)}") from None

    def backward(self, grad):
        return (grad.reshape(self.shape),)


class Expand(Function):  # z = a repeated along size-1 and new leading axes (a view);  dL/da sums the copies
    def forward(self, a, shape):
        self.shape = a.shape
        try:
            return np.broadcast_to(a, shape)
        except ValueError:
            raise ShapeError(
                f"expand: cannot expand shape {a.shape} to {tuple(shape)}: only axes of size 1 "
                "can grow, and new axes go in front"
            ) from None

    def backward(self, grad):
        return (unbroadcast(grad, self.shape),)


class Transpose(Function):
    """Permute axes; the gradient is permuted back by the inverse permutation.

    The result is a contiguous copy, not a view: a transposed weight is typically the
    right operand of many matmuls (W^T at every time step), and OpenBLAS multiplies by a
    transposed (Fortran-order) right operand up to 2.5x slower."""

    def forward(self, a, axes):
        if axes is not None and sorted(ax % a.ndim if -a.ndim <= ax < a.ndim else -1 for ax in axes) != list(
            range(a.ndim)
        ):
            raise IndexOutOfRange(
                f"transpose: axes {tuple(axes)} are not a permutation of the {a.ndim} axes of {a.shape}"
            )
        self.axes = axes
        out = np.transpose(a, axes)
        return out if out.flags.c_contiguous else out.copy()  # (np.ascontiguousarray makes 0-d 1-d)

    def backward(self, grad):
        if self.axes is None:
            return (grad.transpose(),)
        return (grad.transpose(*np.argsort([ax % grad.ndim for ax in self.axes])),)  # the inverse permutation


class GetItem(Function):
    """z = a[index]: slicing, integers, and integer/boolean arrays.
    The gradient is zeros of a's shape with grad written back where z came from;
    for integer arrays an index may repeat, so repeated places add up (np.add.at)."""

    def forward(self, a, index):
        # Index arrays are copied (as torch copies them): backward must scatter to the places
        # read now, even if the caller changes the list or array afterwards.
        index = tuple(map(_own_index, index)) if isinstance(index, tuple) else _own_index(index)
        self.shape, self.index = a.shape, index
        try:
            return a[index]
        except IndexError as err:
            raise IndexOutOfRange(f"getitem: index {index!r} does not fit shape {a.shape}: {err}") from None

    def backward(self, grad):
        return (_scatter(grad, self.index, self.shape),)


class Rows(Function):
    """z = the rows of a that ids name (an embedding's lookup): z[k] = a[ids[k]]. Each row's
    gradient is the sum of the gradients of the places that read it.

    ids must lie in [0, len(a)): the check is here, in the op, so a compiled function's replay
    makes it at every call too (a -1 would otherwise quietly read the last row)."""

    def forward(self, a, ids, who="rows", what="indices"):
        check_in_range(who, what, ids, a.shape[0])
        self.shape, self.ids = a.shape, ids.copy()  # (a copy: the caller may change theirs)
        return a[ids]

    def backward(self, grad):
        return _scatter(grad, self.ids, self.shape), None


class Pick(Function):
    """z[n] = a[n, picks[n]]: one column from each row (the log-probability of each row's
    target class). dL/da: zeros, with grad[n] at (n, picks[n]). picks must lie in [0, columns):
    checked here, in the op, so a compiled replay checks them at every call."""

    def forward(self, a, picks, who="pick", what="indices"):
        check_in_range(who, what, picks, a.shape[1])
        self.shape, self.where = a.shape, (np.arange(len(picks)), picks.copy())
        return a[self.where]

    def backward(self, grad):
        return _scatter(grad, self.where, self.shape), None


class Scatter(Function):
    """z = zeros of `shape` with a added at `index` (a repeated place adds up, np.add.at):
    getitem's derivative, and getitem is its derivative, dL/da = grad[index]."""

    def forward(self, a, index, shape):
        self.index = index
        return _scatter_array(a, index, shape)

    def backward(self, grad):
        return (grad[self.index],)


def _scatter_array(a, index, shape):
    full = np.zeros(shape, dtype=a.dtype)
    if isinstance(index, np.ndarray) and index.dtype.kind in "iu":
        _add_rows(full, index, a)
    elif _is_advanced(index):
        np.add.at(full, index, a)
    else:
        full[index] = a
    return full


def _add_rows(full, rows, a):
    """full[rows[k]] += a[k] for every k, a repeated row adding up: what np.add.at does, but
    (for an embedding's gradient, thousands of rows) some ten times faster. Sort the places,
    then add each run of equal places in one go: sorted, k = [3, 3, 5] -> row 3 gets a0 + a1."""
    rows = rows.ravel() % full.shape[0]  # (-1 and n-1 are one row)
    if rows.size == 0:
        return
    order = np.argsort(rows, kind="stable")
    rows = rows[order]
    starts = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))
    full[rows[starts]] = np.add.reduceat(a.reshape(len(order), *full.shape[1:])[order], starts, axis=0)


def _own_index(part):
    if isinstance(part, Tensor):
        part = part.data
    return np.array(part) if isinstance(part, (list, np.ndarray)) else part


def _is_advanced(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (list, np.ndarray)) for p in parts)


class Concat(Function):  # z = [a1, a2, ...] along axis; each input gets its own stretch of grad back
    def forward(self, *arrays, axis=0):
        _check_same_except(arrays, axis, "concat")
        self.axis, self.sizes = axis, [a.shape[axis] for a in arrays]
        return np.concatenate(arrays, axis=axis)

    def backward(self, grad):
        return _split(grad, self.sizes, self.axis)


class Stack(Function):  # z = arrays stacked on a new axis; input k gets grad's k-th slice on that axis
    def forward(self, *arrays, axis=0):
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise ShapeError(f"stack: all tensors must have the same shape, got {[a.shape for a in arrays]}")
        self.axis = axis
        return np.stack(arrays, axis=axis)

    def backward(self, grad):
        return _unbind(grad, self.axis)


class Split(Function):
    """Several outputs: consecutive pieces of a along axis (sizes as in torch.split).
    The gradient is the pieces' gradients put back together (zeros for unused pieces)."""

    def forward(self, a, sizes, axis):
        axis = normalize_axis(axis, a.ndim, "split")
        if isinstance(sizes, bool) or not isinstance(sizes, (int, np.integer, tuple, list)):
            raise TypeError(f"split: sizes must be an int or a list of ints, got {sizes!r}")
        if not isinstance(sizes, (int, np.integer)):
            sizes = tuple(sizes)  # hashable, so the slices can be remembered
        self.slices = split_slices(a.shape, sizes, axis)
        self.axis, self.shape, self.dtype = axis, a.shape, a.dtype
        return tuple([a[where] for where in self.slices])  # plain slicing: views, no copies

    def backward(self, grads):
        if some_missing(grads):  # an unused piece's gradient is zeros
            zeros = np.zeros(self.shape, self.dtype)
            grads = [zeros[where] if g is None else g for g, where in zip(grads, self.slices)]
        return (_concat(grads, self.axis),)


@functools.lru_cache(maxsize=256)
def split_slices(shape, sizes, axis):
    """The index of each piece when `axis` of `shape` is cut into `sizes` (an int: pieces of
    that size, the last one shorter). An LSTM splits the same shape at every time step, so
    the answer is remembered."""
    n = shape[axis]
    if isinstance(sizes, (int, np.integer)):
        if sizes <= 0:
            raise ShapeError(f"split: piece size must be a positive integer, got {sizes}")
        sizes = [sizes] * (n // sizes) + ([n % sizes] if n % sizes or n == 0 else [])  # (n = 0: one empty piece)
    elif not all(isinstance(k, (int, np.integer)) and k >= 0 for k in sizes):
        raise ShapeError(f"split: sizes must be integers >= 0, got {list(sizes)}")
    elif sum(sizes) != n:
        raise ShapeError(f"split: sizes {list(sizes)} add up to {sum(sizes)}, but axis {axis} of {shape} has {n}")
    before, start, slices = (slice(None),) * axis, 0, []
    for size in sizes:
        slices.append(before + (slice(start, start + size),))
        start += size
    return tuple(slices)


class Unbind(Function):
    """Several outputs: the slices a[k] along axis, that axis removed (as torch.unbind).
    The gradient stacks the slices' gradients back (zeros for unused slices)."""

    def forward(self, a, axis):
        axis = normalize_axis(axis, a.ndim, "unbind")
        self.axis, self.shape, self.dtype = axis, a.shape, a.dtype
        rows = np.moveaxis(a, axis, 0)
        return tuple([rows[k, ...] for k in range(len(rows))])  # (`...` keeps a 0-d row an array, not a scalar)

    def backward(self, grads):
        if some_missing(grads):  # an unused slice's gradient is zeros
            zeros = np.zeros(self.shape[: self.axis] + self.shape[self.axis + 1 :], self.dtype)
            grads = [zeros if g is None else g for g in grads]
        return (_stack(grads, self.axis),)


def some_missing(grads):  # (a plain loop: `None in grads` would compare arrays with None)
    for g in grads:
        if g is None:
            return True
    return False


def _check_same_except(arrays, axis, op):
    if not arrays:
        raise ShapeError(f"{op}: needs at least one tensor")
    ndim = arrays[0].ndim
    if not -ndim <= axis < ndim:
        raise IndexOutOfRange(f"{op}: axis {axis} is out of range for tensors with {ndim} dimensions")
    rest = {a.shape[: axis % ndim] + a.shape[axis % ndim + 1 :] if a.ndim == ndim else None for a in arrays}
    if len(rest) != 1 or None in rest:
        raise ShapeError(f"{op}: shapes {[a.shape for a in arrays]} must match on every axis but {axis}")


# ----- ops without a gradient: run as ops so that a compiled function replays them too ----


class Compare(Function):  # z = a == b, a < b, ...: bool, with no gradient (made under no_grad)
    def forward(self, a, *b, compare, number=None):
        return compare(a, b[0] if b else number)  # (a Python number as it is: numpy compares it in a's dtype)

    def backward(self, grad):
        raise RuntimeError("compare: a comparison has no gradient")


class ArgFind(Function):  # z = where the max (min) is, as int64, with no gradient (made under no_grad)
    def forward(self, a, find, axis, keepdims):
        return np.asarray(find(a, axis=axis, keepdims=keepdims)).astype(np.int64)

    def backward(self, grad):
        raise RuntimeError("argmax: an index has no gradient")


# ----- functions over several tensors --------------------------------------------------


def concat(tensors, axis=0, *, dim=None):
    axis = axis if dim is None else dim
    return Concat.apply(*_some_tensors(tensors, axis, "concat"), axis=axis)


def stack(tensors, axis=0, *, dim=None):
    axis = axis if dim is None else dim
    return Stack.apply(*_some_tensors(tensors, axis, "stack"), axis=axis)


def where(condition, a, b):
    """a where condition is true, else b (broadcast together); condition a bool tensor or array."""
    if not isinstance(condition, Tensor):  # (an array as it is: a bare True would become a number of a's dtype)
        condition = Tensor._make(np.asarray(condition))
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None  # a number: the other's dtype
    return Where.apply(condition, as_tensor(a, like), as_tensor(b, like))


def maximum(a, b):
    return Maximum.apply(a, b)


def minimum(a, b):
    return Minimum.apply(a, b)


def _some_tensors(tensors, axis, op):
    """A list of at least one tensor (arrays and numbers are taken as constants); an int axis."""
    check_int_axis(axis, op)
    if isinstance(tensors, (Tensor, np.ndarray)) or not hasattr(tensors, "__iter__"):
        raise TypeError(f"{op}: expected a list of tensors, got {type(tensors).__name__}")
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor, got an empty list")
    return tensors


# ----- functions a derivative rule may call: numpy on arrays, the op on Tensors -------------


def _exp(x):
    return Exp.apply(x) if isinstance(x, Tensor) else np.exp(x)


def _sin(x):
    return Sin.apply(x) if isinstance(x, Tensor) else np.sin(x)


def _cos(x):
    return Cos.apply(x) if isinstance(x, Tensor) else np.cos(x)


def _erf(x):
    return Erf.apply(x) if isinstance(x, Tensor) else _erf_array(x)


def _sigmoid(x):
    return Sigmoid.apply(x) if isinstance(x, Tensor) else sigmoid_array(x)


def _cast(x, dtype):
    return Cast.apply(x, dtype=dtype) if isinstance(x, Tensor) else x.astype(dtype)


def _where(condition, a, b):
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return Where.apply(condition, a, b)
    return np.where(condition, a, b)


def _dot(a, b):  # a matrix product of 2-D operands
    return MatMul.apply(a, b) if isinstance(a, Tensor) or isinstance(b, Tensor) else np.dot(a, b)


def _swap_last_two(x):
    return x.transpose(*range(x.ndim - 2), x.ndim - 1, x.ndim - 2) if isinstance(x, Tensor) else x.swapaxes(-1, -2)


def _expand(x, shape):
    if isinstance(x, Tensor):
        return Expand.apply(x, shape=shape)
    full = np.empty(shape, x.dtype)  # (a copy: broadcast_to's view costs more to make, and later ops want it whole)
    full[...] = x
    return full


def _scatter(x, index, shape):
    return Scatter.apply(x, index=index, shape=shape) if isinstance(x, Tensor) else _scatter_array(x, index, shape)


def _concat(pieces, axis):
    for p in pieces:
        if isinstance(p, Tensor):
            return Concat.apply(*pieces, axis=axis)
    return np.concatenate(pieces, axis=axis)


def _split(x, sizes, axis):
    if isinstance(x, Tensor):
        return Split.apply(x, sizes=sizes, axis=axis)
    return tuple(np.split(x, np.cumsum(sizes)[:-1], axis=axis))


def _stack(pieces, axis):
    for p in pieces:
        if isinstance(p, Tensor):
            return Stack.apply(*pieces, axis=axis)
    return np.stack(pieces, axis=axis)


def _unbind(x, axis):
    return Unbind.apply(x, axis=axis) if isinstance(x, Tensor) else tuple(np.moveaxis(x, axis, 0))
