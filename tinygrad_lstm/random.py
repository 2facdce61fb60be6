"""The one random generator behind parameter initialization and dropout.

tl.manual_seed(n) makes every later model build and training run repeat exactly.
"""

import numpy as np

_generator = np.random.default_rng(0)


def manual_seed(seed):
    global _generator
    _generator = np.random.default_rng(seed)


def generator():
    return _generator
