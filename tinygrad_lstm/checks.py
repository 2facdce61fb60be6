"""Checks of arguments that layers, losses, tasks and training share: one mistake, one message."""

import numbers

import numpy as np


def is_integer(value, low=0, high=None):
    """Whether value is an integer (Python or numpy, not a bool) from low up to, not including, high."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        return False
    return low <= value and (high is None or value < high)


def is_real(value):
    """Whether value is a real number (Python or numpy, not a bool), finite or not."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def check_positive_ints(who, **values):
    """Each value must be an integer (Python or numpy) above 0; the error names who and which."""
    for name, value in values.items():
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{who}: {name} must be a positive integer, got {value!r}")


def check_seed(who, seed):
    """A seed must be an integer >= 0 (numpy's generators take no other)."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{who}: seed must be an integer >= 0, got {seed!r} ({type(seed).__name__})")
    if seed < 0:
        raise ValueError(f"{who}: seed must be an integer >= 0, got {seed}")


def check_number(who, name, value, expected, in_range):
    """value as a float, if it is a real number (not a bool) for which in_range(value) holds;
    else an error naming who and name and saying what was expected."""
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{who}: {name} must be {expected}, got {value!r} ({type(value).__name__})")
    if not in_range(value):
        raise ValueError(f"{who}: {name} must be {expected}, got {value!r}")
    return float(value)


def as_indices(who, what, indices):
    """indices (array-like or Tensor) as an integer array (the ops that use them check their range)."""
    indices = np.asarray(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{who}: {what} must be integers, got dtype {indices.dtype}")
    return indices


def check_in_range(who, what, indices, n):
    """Every value of the integer array indices lies in [0, n), or an IndexError says which do not."""
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise IndexError(f"{who}: {what} must lie in [0, {n}), got values from {indices.min()} to {indices.max()}")
