"""tinygrad_lstm: a small autograd engine on NumPy, and an LSTM built from its ops."""

from .tensor import Tensor
from .autograd import (GradcheckError, IndexOutOfRange, ShapeError, enable_grad, gradcheck, is_grad_enabled,
                       no_grad, set_grad_enabled)
from .ops import concat, stack
from .random import manual_seed
from . import functional, nn, optim, tasks, viz
from .checkpoint import load, save

__version__ = "0.1.0"
