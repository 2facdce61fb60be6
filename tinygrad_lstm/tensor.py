"""Tensor: an ndarray that remembers which op made it, so gradients can flow back.

A Tensor holds
  data           the numpy array (its dtype is kept; Python lists become float32)
  requires_grad  whether backward() should compute d(root)/d(this)
  grad           after backward(): a Tensor without graph, same shape as data
  _ctx           the Function (op) that produced it, None for a leaf
  _index         which output of that Function it is (split/unbind have several)

Every operator below is a thin call into ops.py, where each op's forward and
derivative sit side by side.
"""

import numpy as np


class Tensor:
    # The fields ops touch live in slots (fast; `_index` is set, and read, only for the
    # outputs of ops with several); the rarely set ones fall back to these class defaults
    # until an instance sets its own.
    __slots__ = ("data", "requires_grad", "_ctx", "_index", "__dict__", "__weakref__")
    grad = None
    name = None
    _retains_grad = False

    # Makes numpy hand `ndarray * tensor` to Tensor.__rmul__ instead of looping itself.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None, name=None):
        self.data = _to_array(data, dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"Tensor: requires_grad needs a floating dtype, got {self.data.dtype}; "
                            "pass dtype=np.float32 or np.float64")
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        if name is not None:
            self.name = name

    @classmethod
    def _make(cls, data, requires_grad=False, ctx=None):
        """Fast internal constructor: `data` is already a valid ndarray, nothing is checked or copied."""
        t = _new(cls)
        t.data, t.requires_grad, t._ctx = data, requires_grad, ctx
        return t

    # ----- looking at it ---------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    is_leaf = property(lambda self: self._ctx is None)
    grad_fn = property(lambda self: self._ctx)

    def numpy(self):
        return self.data

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def item(self):
        return self.data.item()

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __repr__(self):
        extra = ""
        if self._ctx is not None:
            extra = f", grad_fn=<{type(self._ctx).__name__}>"
        elif self.requires_grad:
            extra = ", requires_grad=True"
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        return f"Tensor({body}, dtype={self.data.dtype}{extra})"

    # ----- autograd --------------------------------------------------------------------
    def backward(self, grad=None):
        """Fill .grad of every leaf that requires grad with d(self)/d(leaf), summed over paths."""
        autograd.backward(self, grad)

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

    def named(self, name):
        """Give this tensor a name, shown in graph pictures; returns the tensor."""
        self.name = name
        return self

    # ----- arithmetic: Python operators and their reflected forms ----------------------
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
    def __getitem__(self, index): return ops.GetItem.apply(self, index=index)

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor) or not np.isscalar(exponent):
            raise TypeError(f"pow: the exponent must be a Python or numpy scalar, got {type(exponent).__name__}; "
                            "for a tensor exponent write (b.log() * e).exp()")
        return ops.Pow.apply(self, exponent=exponent)

    def __rpow__(self, base):
        # base ** t = exp(t * ln(base)), defined for base > 0
        if not (np.isscalar(base) and base > 0):
            raise ValueError(f"pow: a scalar base must be positive, got {base!r}")
        return (self * float(np.log(base))).exp()

    # ----- elementwise functions -------------------------------------------------------
    def exp(self): return ops.Exp.apply(self)
    def log(self): return ops.Log.apply(self)
    def sigmoid(self): return ops.Sigmoid.apply(self)
    def tanh(self): return ops.Tanh.apply(self)
    def relu(self): return ops.ReLU.apply(self)
    def sqrt(self): return self ** 0.5
    def matmul(self, other): return ops.MatMul.apply(self, other)

    # ----- reductions ------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False): return ops.Sum.apply(self, axis=axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        # mean = sum / n, where n counts the elements each output averages over
        total = self.sum(axis=axis, keepdims=keepdims)
        return total * (total.data.dtype.type(total.data.size / self.data.size) if self.data.size else 0.0)

    # ----- shape -----------------------------------------------------------------------
    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape=shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return ops.Transpose.apply(self, axes=axes or None)

    T = property(lambda self: self.transpose())

    def split(self, split_size_or_sections, axis=0):
        """Pieces along `axis`: an int is each piece's size, a list gives every size (as torch.split)."""
        return ops.Split.apply(self, sizes=split_size_or_sections, axis=axis)

    def unbind(self, axis=0):
        """The slices along `axis`, that axis removed: x.unbind(0)[t] is x[t], with one backward for all."""
        return ops.Unbind.apply(self, axis=axis)


_new = object.__new__


def _to_array(data, dtype):
    """Turn user data into an ndarray, refusing what cannot be numbers."""
    if isinstance(data, Tensor):
        data = data.data
    from_numpy = isinstance(data, (np.ndarray, np.generic))
    try:
        array = np.array(data)  # let numpy say what it is, then check
    except ValueError as err:
        raise ValueError(f"Tensor: data must be a rectangular nest of numbers "
                         f"(every inner list the same length): {err}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Tensor: data must be bool, int or float numbers, got {type(data).__name__} "
                        f"that numpy reads as dtype {array.dtype}")
    if dtype is not None or not from_numpy:  # Python numbers and lists default to float32
        array = array.astype(dtype if dtype is not None else np.float32, copy=False)
    return array


def as_tensor(value, like=None):
    """A Tensor as is; a number or array as a constant, in `like`'s dtype so float32 stays float32."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return Tensor._make(value)
    dtype = like.data.dtype if like is not None and like.data.dtype.kind == "f" else None
    return Tensor(value, dtype=dtype)


# ops.py and autograd.py build on Tensor, and Tensor's methods call into them: import last.
from . import autograd, ops  # noqa: E402
