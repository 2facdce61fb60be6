"""The one random generator behind parameter initialization and dropout.

tl.manual_seed(n) makes every later model build and training run repeat exactly.
"""

import contextlib

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed):
    global _generator
    _generator = np.random.default_rng(seed)


def generator():
    return _generator


@contextlib.contextmanager
def seeded(seed):
    """Within: the generator as manual_seed(seed) makes it; after: the one before, untouched (so
    a model built inside does not change what the caller's later draws are)."""
    global _generator
    before, _generator = _generator, np.random.default_rng(seed)
    try:
        yield
    finally:
        _generator = before
