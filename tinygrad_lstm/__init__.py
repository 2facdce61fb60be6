"""tinygrad_lstm: a small autograd engine on NumPy, and an LSTM built from its ops."""

from . import functional, nn, optim, tasks, viz
from .autograd import grad
from .checkpoint import load, save
from .compile import compile
from .errors import IndexOutOfRange, ShapeError
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import concat, maximum, minimum, stack, where
from .random import manual_seed
from .tensor import Tensor

__version__ = "0.1.0"
__all__ = [
    "Tensor",
    "grad",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled",
    "gradcheck",
    "gradgradcheck",
    "GradcheckError",
    "ShapeError",
    "IndexOutOfRange",
    "concat",
    "stack",
    "where",
    "maximum",
    "minimum",
    "manual_seed",
    "load",
    "save",
    "compile",
    "functional",
    "nn",
    "optim",
    "tasks",
    "viz",
]
