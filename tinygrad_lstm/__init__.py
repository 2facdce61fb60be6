"""tinygrad_lstm: a small autograd engine on NumPy, and an LSTM built from its ops."""

from .tensor import Tensor
from .autograd import grad
from .errors import IndexOutOfRange, ShapeError
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import concat, maximum, minimum, stack, where
from .random import manual_seed
from . import functional, nn, optim, tasks, viz
from .checkpoint import load, save
from .compile import compile

__version__ = "0.1.0"
