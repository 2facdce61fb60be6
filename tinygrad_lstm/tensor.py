"""Tensor: an ndarray that remembers which op made it, so gradients can flow back.

A Tensor holds
  data           the numpy array (its dtype is kept; Python lists become float32). Writing
                 into it is not tracked: the escape hatch, as torch's .data
  requires_grad  whether backward() should compute d(root)/d(this)
  grad           after backward(): a Tensor without graph, same shape and dtype as data
  _ctx           the Function (op) that produced it, None for a leaf
  _index         which output of that Function it is (split/unbind have several)
  _version       how many times the library changed data in place (x.add_(...), an
                 optimizer step): backward refuses to use values that changed since

Every operator below is a thin call into ops.py, where each op's forward and
derivative sit side by side. A one-element tensor is a number to Python (float(),
f"{x:.3f}", bool(), round()) and any tensor an array to numpy (np.asarray).
"""

import math

import numpy as np

from .convert import axis_of, check_fits, int_tuple, is_real_number, needs_grad, operand, to_array
from .errors import ShapeError
from .grad_mode import is_grad_enabled, no_grad
from .versions import mark_changed


class Tensor:
    # The fields ops touch live in slots (fast; `_index` is set, and read, only for the
    # outputs of ops with several); the rarely set ones fall back to these class defaults
    # until an instance sets its own.
    __slots__ = ("data", "requires_grad", "_ctx", "_index", "__dict__", "__weakref__")
    grad = None
    name = None
    _retains_grad = False
    _version = 0  # how many times the library changed .data in place (mark_changed)

    # Makes numpy hand `ndarray * tensor` to Tensor.__rmul__ instead of looping itself.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        self.data = to_array(data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"Tensor: requires_grad needs a floating dtype, got {self.data.dtype}; "
                "pass dtype=np.float32 or np.float64"
            )
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        if name is not None:
            self.name = name

    @classmethod
    def _make(cls, data, requires_grad=False, ctx=None):
        """Fast internal constructor: `data` is already a valid ndarray, nothing is checked or copied."""
        t = object.__new__(cls)
        t.data, t.requires_grad, t._ctx = data, requires_grad, ctx
        return t

    # ----- looking at it ---------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    is_leaf = property(lambda self: self._ctx is None)
    grad_fn = property(lambda self: self._ctx)

    def named(self, name):
        """Give this tensor a name, shown in graph pictures; returns the tensor."""
        self.name = name
        return self

    # ----- autograd --------------------------------------------------------------------
    def backward(self, grad=None, retain_graph=None, create_graph=False):
        """Fill .grad of every leaf that requires grad with d(self)/d(leaf), summed over paths.
        The graph's saved values are freed on the way; retain_graph=True keeps them, to go back again.
        create_graph=True records the backward pass too: the .grad it gives can be differentiated."""
        autograd.backward(self, grad, retain_graph, create_graph)

    def detach(self):
        """The same data, cut from the graph (shares memory, like torch)."""
        return Tensor._make(self.data)

    def retain_grad(self):
        """Keep .grad on this non-leaf tensor too (leaves always keep theirs)."""
        self._retains_grad = True
        return self

    def requires_grad_(self, flag=True):
        if flag and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad_: needs a floating dtype, got {self.data.dtype}")
        self.requires_grad = bool(flag)
        return self

    def zero_grad(self):
        self.grad = None

    # ----- arithmetic: Python operators and their reflected forms ----------------------
    # fmt: off
    def __add__(self, other): return ops.Add.apply(self, other)
    def __radd__(self, other): return ops.Add.apply(other, self)
    def __sub__(self, other): return ops.Sub.apply(self, other)
    def __rsub__(self, other): return ops.Sub.apply(other, self)
    def __mul__(self, other): return ops.Mul.apply(self, other)
    def __rmul__(self, other): return ops.Mul.apply(other, self)
    def __truediv__(self, other): return ops.Div.apply(self, other)
    def __rtruediv__(self, other): return ops.Div.apply(other, self)
    def __matmul__(self, other): return ops.MatMul.apply(self, other)
    def __rmatmul__(self, other): return ops.MatMul.apply(other, self)
    def __neg__(self): return ops.Neg.apply(self)
    def __pos__(self): return self
    def __getitem__(self, index): return ops.GetItem.apply(self, index=index)
    # fmt: on

    def __pow__(self, exponent):
        check_fits(exponent, "pow: the exponent")
        if not is_real_number(exponent):
            raise TypeError(
                f"pow: the exponent must be a real scalar (an int or float), got {exponent!r}; "
                "for a tensor exponent write (b.log() * e).exp()"
            )
        # a Python number, so that float32 ** np.float64(2) stays float32, as for the other operators
        return ops.Pow.apply(self, exponent=exponent.item() if isinstance(exponent, np.generic) else exponent)

    def __rpow__(self, base):
        check_fits(base, "pow: the base")
        if not is_real_number(base):
            raise TypeError(f"pow: the base must be a real number (an int or float), got {base!r}")
        return ops.PowOf.apply(self, base=base.item() if isinstance(base, np.generic) else base)

    # ----- comparisons: elementwise, bool tensors without grad (hashing stays by identity) --
    # fmt: off
    def __eq__(self, other): return self._compare(other, np.equal)
    def __ne__(self, other): return self._compare(other, np.not_equal)
    def __lt__(self, other): return self._compare(other, np.less)
    def __le__(self, other): return self._compare(other, np.less_equal)
    def __gt__(self, other): return self._compare(other, np.greater)
    def __ge__(self, other): return self._compare(other, np.greater_equal)
    __hash__ = object.__hash__
    # fmt: on

    def _compare(self, other, ufunc):
        if other is None or isinstance(other, str):
            return NotImplemented  # x == None is False, x < None a TypeError, as in Python
        other = operand(other)
        try:
            with no_grad():  # an op, so a compiled function replays it; no gradient
                if isinstance(other, np.ndarray):
                    return ops.Compare.apply(self, Tensor._make(other), compare=ufunc)
                return ops.Compare.apply(self, compare=ufunc, number=other)
        except ValueError:
            raise ShapeError(f"{ufunc.__name__}: cannot compare shapes {self.shape} and {np.shape(other)}") from None

    # ----- elementwise functions -------------------------------------------------------
    # fmt: off
    def exp(self): return ops.Exp.apply(self)
    def log(self): return ops.Log.apply(self)
    def sigmoid(self): return ops.Sigmoid.apply(self)
    def tanh(self): return ops.Tanh.apply(self)
    def relu(self): return ops.ReLU.apply(self)
    def softplus(self): return ops.Softplus.apply(self)
    def sqrt(self): return ops.Sqrt.apply(self)
    def abs(self): return ops.Abs.apply(self)
    def sin(self): return ops.Sin.apply(self)
    def cos(self): return ops.Cos.apply(self)
    def erf(self): return ops.Erf.apply(self)
    def matmul(self, other): return ops.MatMul.apply(self, other)
    def maximum(self, other): return ops.Maximum.apply(self, other)
    def minimum(self, other): return ops.Minimum.apply(self, other)
    def where(self, condition, other): return ops.where(condition, self, other)  # (torch's x.where(c, y))
    __abs__ = abs
    # fmt: on

    def leaky_relu(self, negative_slope=0.01):
        if not is_real_number(negative_slope):
            raise TypeError(f"leaky_relu: negative_slope must be a real number, got {negative_slope!r}")
        return ops.LeakyReLU.apply(self, slope=negative_slope)

    def gelu(self, approximate="none"):
        """a Φ(a), Φ the standard normal's distribution function (torch's gelu). approximate="tanh"
        is the older formula a/2 (1 + tanh(√(2/π) (a + 0.044715 a³))), built from ops."""
        if approximate == "none":
            return ops.GELU.apply(self)
        if approximate != "tanh":
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return 0.5 * self * (1 + (math.sqrt(2 / math.pi) * (self + 0.044715 * self**3)).tanh())

    def clamp(self, min=None, max=None):
        """Each element limited to [min, max] (either may be None); the gradient passes where
        the element was inside, the ends included, as torch's."""
        if min is None and max is None:
            raise ValueError("clamp: give min, max or both")
        for bound in (min, max):
            if bound is not None and not is_real_number(bound):
                raise TypeError(f"clamp: min and max must be real numbers or None, got {bound!r}")
        return ops.Clamp.apply(self, low=min, high=max)

    clip = clamp

    def to(self, dtype):
        """The same numbers in another dtype (as torch's x.to(torch.float64)); gradients flow back
        in this tensor's dtype."""
        return ops.Cast.apply(self, dtype=np.dtype(dtype))

    # ----- reductions: axis= and keepdims= as numpy, or dim= and keepdim= as torch -------
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        return ops.Sum.apply(self, axis=axis_of(axis, dim), keepdims=keepdims or keepdim)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        """The largest values (not torch's (values, indices) pair: argmax gives the indices).
        Ties share the gradient equally."""
        return ops.Max.apply(self, axis=axis_of(axis, dim), keepdims=keepdims or keepdim)

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        """The smallest values; ties share the gradient, as in max."""
        return ops.Min.apply(self, axis=axis_of(axis, dim), keepdims=keepdims or keepdim)

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        """Where the largest value is (the first, for ties), as int64; no gradient."""
        return self._arg(np.argmax, axis_of(axis, dim), keepdims or keepdim)

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        return self._arg(np.argmin, axis_of(axis, dim), keepdims or keepdim)

    def _arg(self, find, axis, keepdims):
        if axis is not None:
            ops.check_int_axis(axis, find.__name__)  # one axis, as torch (a tuple's first would be a wrong answer)
            axis = ops.normalize_axes(axis, self.ndim, find.__name__)
            axis = axis[0] if axis else None
        if self.data.size == 0 and (axis is None or self.shape[axis] == 0):  # (other axes may be empty)
            raise ValueError(f"{find.__name__}: the tensor is empty, it has no largest or smallest element")
        with no_grad():  # an op, so a compiled function replays it; no gradient
            return ops.ArgFind.apply(self, find=find, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        """sum / n, n the count of elements each output averages over (n = 0 gives nan, as numpy and torch)."""
        axis, keepdims = axis_of(axis, dim), keepdims or keepdim
        if self.data.dtype.kind != "f":
            raise TypeError(
                f"mean: needs a floating dtype, got {self.data.dtype}; convert first, e.g. x.to(np.float32)"
            )
        if self.data.dtype == np.float16:  # as torch: add up and divide in float32, round once
            return self.to(np.float32).mean(axis, keepdims).to(np.float16)
        n = self._count(axis, "mean")
        total = self.sum(axis=axis, keepdims=keepdims)
        return total / n if n else total * total.data.dtype.type(np.nan)

    def var(self, axis=None, keepdims=False, *, correction=1, dim=None, keepdim=False):
        """sum (x - mean)^2 / (n - correction): with correction=1 (torch's default) the unbiased
        estimate, with 0 the mean square deviation (numpy's default). n - correction <= 0 gives nan or inf."""
        axis, keepdims = axis_of(axis, dim), keepdims or keepdim
        if not is_real_number(correction):
            raise TypeError(f"var: correction must be a number, got {correction!r}")
        deviation = self - self.mean(axis, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (deviation * deviation).sum(axis, keepdims) / max(self._count(axis, "var") - correction, 0)

    def std(self, axis=None, keepdims=False, *, correction=1, dim=None, keepdim=False):
        """√var. Where there is no spread (var = 0) the slope of √ is infinite and the deviations are
        0: torch calls the gradient 0 there, and so do we. The √ is taken of 1 in those places, so no
        inf * 0 = nan reaches the gradient through the branch not taken."""
        var = self.var(axis, keepdims, correction=correction, dim=dim, keepdim=keepdim)
        spread = var != 0  # (nan and inf included: their √ is theirs)
        return ops.where(spread, ops.where(spread, var, 1).sqrt(), 0)

    def logsumexp(self, axis=None, keepdims=False, *, dim=None, keepdim=False):
        """ln sum e^x over axis, without overflow; its gradient is the softmax."""
        return ops.LogSumExp.apply(self, axis=axis_of(axis, dim), keepdims=keepdims or keepdim)

    # fmt: off
    def _count(self, axis, op):  # how many elements each output of a reduction over axis takes
    # fmt: on
        return math.prod(self.shape[a] for a in ops.normalize_axes(axis, self.ndim, op))

    # ----- shape -----------------------------------------------------------------------
    def reshape(self, *shape):
        return ops.Reshape.apply(self, shape=int_tuple(shape, "reshape", "the new shape"))

    def transpose(self, *axes):
        return ops.Transpose.apply(self, axes=int_tuple(axes, "transpose", "axes") or None)

    T = property(lambda self: self.transpose())

    def permute(self, *axes):
        """The axes in a new order (torch's permute): x.permute(2, 0, 1)."""
        axes = int_tuple(axes, "permute", "axes")
        if len(axes) != self.ndim:
            raise ShapeError(f"permute: needs one axis per dimension ({self.ndim}), got {axes}")
        return ops.Transpose.apply(self, axes=axes)

    def squeeze(self, axis=None, *, dim=None):
        """Drop axes of size 1: all of them, or the one(s) given (an axis of another size stays, as torch)."""
        axis = axis_of(axis, dim)
        axes = ops.normalize_axes(axis, self.ndim, "squeeze") if axis is not None else range(self.ndim)
        return self.reshape([n for k, n in enumerate(self.shape) if not (k in axes and n == 1)])

    def unsqueeze(self, axis=None, *, dim=None):
        """A new axis of size 1 at `axis` (counted in the result: -1 puts it last)."""
        axis = axis_of(axis, dim)
        if axis is None:
            raise TypeError("unsqueeze: needs the axis where the new one goes")
        axis = ops.normalize_axis(axis, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def flatten(self, start_dim=0, end_dim=-1):
        """Axes start_dim..end_dim (both included) merged into one, as torch.flatten."""
        if self.ndim == 0:
            return self.reshape(1)
        start, end = (ops.normalize_axes(d, self.ndim, "flatten")[0] for d in (start_dim, end_dim))
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        return self.reshape(self.shape[:start] + (math.prod(self.shape[start:end + 1]),) + self.shape[end + 1:])

    def expand(self, *shape):
        """A view repeated along axes of size 1 and new leading axes, as torch's expand
        (-1 keeps an axis's size); the gradient sums the copies."""
        shape = int_tuple(shape, "expand", "the new shape")
        new = len(shape) - self.ndim  # new leading axes; axis k >= new of the result is axis k - new of ours
        shape = tuple(self.shape[k - new] if n == -1 and k >= new >= 0 else n for k, n in enumerate(shape))
        return ops.Expand.apply(self, shape=shape)

    def broadcast_to(self, shape):
        return self.expand(shape)

    def split(self, split_size_or_sections, axis=0, *, dim=None):
        """Pieces along `axis`: an int is each piece's size, a list gives every size (as torch.split)."""
        return ops.Split.apply(self, sizes=split_size_or_sections, axis=axis_of(axis, dim))

    def unbind(self, axis=0, *, dim=None):
        """The slices along `axis`, that axis removed: x.unbind(0)[t] is x[t], with one backward for all."""
        return ops.Unbind.apply(self, axis=axis_of(axis, dim))

    # ----- in place: records no op, so refused where the graph would need to know -------
    # fmt: off
    def copy_(self, source): return self._change_in_place("copy_()", source)
    def fill_(self, value): return self._change_in_place("fill_()", value)
    def zero_(self): return self._change_in_place("zero_()", 0)
    def mul_(self, other): return self._change_in_place("mul_()", other, np.multiply)
    # fmt: on

    def add_(self, other, alpha=1):
        if not is_real_number(alpha):
            raise TypeError(f"add_(): alpha must be a real number, got {alpha!r}")
        return self._change_in_place("add_()", other if alpha == 1 else operand(other) * alpha, np.add)

    # x += y changes x in place, as in torch (`p -= lr * p.grad` under no_grad is an SGD step).
    # A tensor in a graph that needs its value gets a new tensor x + y instead: the same numbers
    # and gradients (only another name for the old tensor keeps the old value).
    # fmt: off
    def __iadd__(self, other): return self._operator_in_place("+=", other, np.add, ops.Add)
    def __isub__(self, other): return self._operator_in_place("-=", other, np.subtract, ops.Sub)
    def __imul__(self, other): return self._operator_in_place("*=", other, np.multiply, ops.Mul)
    def __itruediv__(self, other): return self._operator_in_place("/=", other, np.divide, ops.Div)
    # fmt: on

    def _operator_in_place(self, symbol, other, ufunc, op):
        if is_grad_enabled() and (self._ctx is not None or needs_grad(other)):
            return op.apply(self, other)  # the result needs a graph: a new tensor records it
        return self._change_in_place(symbol, other, ufunc)

    def _change_in_place(self, method, value, ufunc=None):
        """self.data = ufunc(self.data, value), or value copied in (ufunc None), in place, where
        torch allows it: not on a tensor that requires grad while grad mode is on (an optimizer
        steps under no_grad). The change is stamped (mark_changed), so that backward
        through a graph that saved the old values refuses rather than use the new ones."""
        if is_grad_enabled() and needs_grad(value):
            raise RuntimeError(
                f"{method}: the value requires grad, and an in-place change records no op, so its "
                "gradient would be lost; write x = x + value (or change it under no_grad)"
            )
        if self.requires_grad and is_grad_enabled():
            if self._ctx is not None:
                raise RuntimeError(
                    f"{method}: this tensor was made by an op ({type(self._ctx).__name__}) and "
                    "requires grad: compute a new tensor instead (x = x * 2)"
                )
            raise RuntimeError(
                f"{method}: a leaf tensor that requires grad is being changed in place; "
                "do it inside `with no_grad():`, as an optimizer step does"
            )
        if not self.data.flags.writeable:
            raise ValueError(f"{method}: this tensor's data is read-only; change a copy instead")
        value, data = operand(value), self.data
        if ufunc is None and data.dtype.kind in "biu" and not np.isfinite(value).all():
            raise ValueError(f"{method}: {value} cannot be stored in a tensor of dtype {data.dtype}")
        try:
            if ufunc is None:
                np.copyto(data, value, casting="unsafe")  # copy_ and fill_ convert, as torch's
            else:  # same_kind: a float result is not silently truncated into ints
                ufunc(data, value, out=data, casting="same_kind")
        except TypeError as err:  # numpy's UFuncTypeError: the result's dtype does not fit ours
            raise TypeError(
                f"{method}: the result (dtype {np.result_type(data, value)}) cannot be stored in "
                f"a tensor of dtype {data.dtype}: {err}"
            ) from None
        except ValueError as err:  # a value whose shape does not broadcast to ours
            raise ShapeError(
                f"{method}: cannot change a tensor of shape {self.shape} with a value of shape {np.shape(value)}: {err}"
            ) from None
        mark_changed(self, method)
        return self

    # ----- Python and NumPy protocols: a tensor as an array, a number, a sequence -----------
    def numpy(self):
        """The data as an ndarray, sharing memory. For a tensor that requires grad it is a
        read-only view: writing into it would silently change what backward computes (torch
        refuses numpy() there); .data is the writable escape hatch."""
        if not self.requires_grad:
            return self.data
        view = self.data.view()
        view.flags.writeable = False
        return view

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            if copy is False:
                raise ValueError(f"np.array(copy=False): a {self.data.dtype} tensor needs a copy to become {dtype}")
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.numpy()

    # ----- as a Python number: one element only, as torch -----------------------------
    def item(self):
        return self._one_number("item()").item()

    # fmt: off
    def __float__(self): return float(self._one_number("float()").item())
    def __int__(self): return int(self._one_number("int()").item())
    # fmt: on

    # fmt: off
    def __index__(self):  # range(t), lst[t]: integer tensors only
    # fmt: on
        if self.data.dtype.kind not in "biu":
            raise TypeError(f"only integer tensors of a single element can be used as an index, got {self.data.dtype}")
        return int(self._one_number("index").item())

    def __bool__(self):
        if self.data.size != 1:
            several = "no values" if self.data.size == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {several} is ambiguous; use .any() or .all() "
                               "on .numpy()")
        return bool(self.data)

    def __round__(self, ndigits=None):
        return round(self._one_number("round()").item(), ndigits)

    # fmt: off
    def __format__(self, spec):  # f"{loss:.4f}" formats the number; a bare f"{x}" prints the tensor
    # fmt: on
        if self.data.size == 1 and spec:
            return format(self.data.item(), spec)
        if spec:
            raise TypeError(f"unsupported format string {spec!r} for a Tensor of shape {self.shape}: "
                            "only one-element tensors take a number format")
        return str(self)

    def _one_number(self, what):
        if self.data.size != 1:
            raise ValueError(f"{what}: only one-element tensors can be converted to Python scalars, "
                             f"this one has shape {self.shape} ({self.data.size} elements)")
        return self.data

    # ----- as a sequence: along the first axis -------------------------------------------
    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    # fmt: off
    def __iter__(self):  # `for row in x`, `a, b = x`: one op for all rows, as torch
    # fmt: on
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __contains__(self, value):
        return bool(np.any(self.data == operand(value)))

    def __repr__(self):
        extra = ""
        if self._ctx is not None:
            extra = f", grad_fn=<{type(self._ctx).__name__}>"
        elif self.requires_grad:
            extra = ", requires_grad=True"
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        return f"Tensor({body}, dtype={self.data.dtype}{extra})"


# ops.py and autograd.py build on Tensor, and Tensor's methods call into them: import last.
from . import autograd, ops  # noqa: E402
