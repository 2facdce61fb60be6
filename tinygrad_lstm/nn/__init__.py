"""Layers with parameters: Module, Parameter, Linear, Embedding, Dropout, RNN/LSTM/GRU and their cells."""

from .layers import Dropout, Embedding, Linear
from .module import Module, Parameter
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__all__ = [
    "Module",
    "Parameter",
    "Linear",
    "Embedding",
    "Dropout",
    "RNN",
    "LSTM",
    "GRU",
    "RNNCell",
    "LSTMCell",
    "GRUCell",
]
