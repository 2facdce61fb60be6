"""What a Tensor is made of: user data turned into arrays, numbers into constants, and the dtype
rules (as torch's: a Python float beside a float32 tensor stays float32). Machinery that
tensor.py, ops.py and the layers share; nothing here is about gradients.
"""

import numpy as np


def to_array(data, dtype):
    """Turn user data into an ndarray, refusing what cannot be numbers."""
    if isinstance(data, tensor.Tensor):
        data = data.data
    from_numpy = isinstance(data, (np.ndarray, np.generic))
    try:
        array = np.array(data)  # let numpy say what it is, then check
    except ValueError as err:
        raise ValueError(
            f"Tensor: data must be a rectangular nest of numbers (every inner list the same length): {err}"
        ) from None
    if dtype is not None or not from_numpy:  # Python numbers and lists default to float32
        try:
            wanted = np.dtype(dtype if dtype is not None else np.float32)
        except TypeError as err:
            raise TypeError(f"Tensor: {dtype!r} is not a dtype: {err}") from None
        check_dtype(wanted, f"dtype={dtype!r}")
        if array.dtype.kind in "biuf" and from_numpy:
            array = array.astype(wanted, copy=False)  # numpy's own conversion, as asked
        elif array.dtype.kind in "biuf":  # Python numbers: one that does not fit (300 as int8) is refused
            try:
                array = np.array(data, dtype=wanted)
            except OverflowError as err:
                raise OverflowError(f"Tensor: {data!r} does not fit in dtype {wanted}: {err}") from None
    check_dtype(array.dtype, f"{type(data).__name__} that numpy reads as dtype {array.dtype}")
    return array


def check_dtype(dtype, what):
    """Only numbers make tensors: bool, integer and floating. Complex, strings, objects and
    dates are refused, however they come in."""
    if dtype.kind not in "biuf":
        raise TypeError(f"Tensor: data must be bool, int or float numbers, got {what}")


def axis_of(axis, dim):
    """The axis from numpy's word (axis=) or torch's (dim=)."""
    return axis if dim is None else dim


def int_tuple(args, op, what):
    """f(2, 3) or f((2, 3)) or f([2, 3]) as (2, 3), every entry an integer."""
    if len(args) == 1 and isinstance(args[0], (tuple, list, np.ndarray)):
        args = tuple(args[0])
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_)) for n in args):
        raise TypeError(f"{op}: {what} must be integers, got {args!r}")
    return tuple(int(n) for n in args)


def check_fits(number, what):
    if isinstance(number, int) and abs(number) >= 2**63:  # numpy would say "int too large to convert"
        raise OverflowError(f"{what} is a Python int too large for numpy (|x| >= 2**63)")


def needs_grad(x):
    return isinstance(x, tensor.Tensor) and x.requires_grad


def is_real_number(x):
    return isinstance(x, (int, float, np.integer, np.floating, np.bool_))


def operand(value):
    """The other side of a comparison or an in-place change, as numpy should see it: a
    Tensor's data; a Python or numpy number as it is, so that numpy compares and computes in
    the tensor's own dtype (x == 0.1 for float64 x, x == 2**53 for int64 x); else an array."""
    if isinstance(value, tensor.Tensor):
        return value.data
    if is_real_number(value):
        return value
    value = np.asarray(value)
    check_dtype(value.dtype, f"an operand of dtype {value.dtype}")
    return value


def as_tensor(value, like=None):
    """A Tensor as is; an array as a constant; a number as a constant in the dtype torch
    would give it beside `like`: like's own for a float tensor (float32 stays float32) and
    for an integer one meeting an integer (int64 + 1 stays int64); float32 otherwise."""
    if isinstance(value, tensor.Tensor):
        return value
    if isinstance(value, np.ndarray):
        check_dtype(value.dtype, f"an array of dtype {value.dtype}")
        return tensor.Tensor._make(value)
    dtype = None
    if like is not None and is_real_number(value):
        kind, whole = like.data.dtype.kind, not isinstance(value, (float, np.floating))
        if kind == "f" or (kind in "iu" and whole) or isinstance(value, (bool, np.bool_)):
            dtype = like.data.dtype
        elif kind == "b" and whole:
            dtype = np.int64
    return tensor.Tensor(value, dtype=dtype)


# tensor.py builds on this module, and as_tensor makes Tensors: import last (Tensor is read at call time).
from . import tensor  # noqa: E402
