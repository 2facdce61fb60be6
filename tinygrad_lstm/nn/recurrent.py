"""Recurrent layers: RNNCell, RNN, LSTMCell, LSTM, GRUCell, GRU.

Each is composed from the engine's ops, so its backward (backpropagation through time)
is the engine's, not written by hand. Parameter names, shapes, gate order and initial
values' distribution are torch.nn's:

    weight_ih_l{k}  (G*H, input)   weight_hh_l{k}  (G*H, H)   bias_ih_l{k}, bias_hh_l{k}  (G*H,)

with G gate blocks stacked: LSTM (i, f, g, o), GRU (r, z, n), RNN just one.

LSTM, GRU and RNN also take and give Keras's weights (load_keras_weights, keras_weights: keras.py),
as Keras's LSTM, GRU (reset_after=True, its default) and SimpleRNN hold them.
"""

import math

import numpy as np

from .. import random
from ..checks import check_number, check_positive_ints
from ..errors import ShapeError
from ..grad_mode import scope
from ..ops import addmm, stack
from ..tensor import Tensor
from .keras import KerasWeights
from .layers import dropout
from .module import Module, uniform

# ----- one time step of each cell: the equations, in the tutorial's names ----------------


def lstm_step(x_gates, state, w_hh_t):
    """One LSTM step, the tutorial's factory line.

    x_gates is W x_t + b for all four gates at once, shape (B, 4H); state is (h_{t-1}, C_{t-1}).

        f_t = σ(W_f x_t + U_f h_{t-1} + b_f)      forget gate: what to erase from C_{t-1}
        i_t = σ(W_i x_t + U_i h_{t-1} + b_i)      input gate: which new values to write
        g_t = tanh(W_g x_t + U_g h_{t-1} + b_g)   candidate values C~_t
        o_t = σ(W_o x_t + U_o h_{t-1} + b_o)      output gate: what part of C_t to show
        C_t = f_t ⊙ C_{t-1} + i_t ⊙ g_t           the cell state, "the conveyor belt"
        h_t = o_t ⊙ tanh(C_t)
    """
    h, c = state
    gates = addmm(x_gates, h, w_hh_t)  # x_gates + h @ U: all four pre-activations, (B, 4H)
    i, f, g, o = gates.split(h.shape[-1], axis=-1)  # torch's order: i, f, g, o
    i = i.sigmoid().named("i")
    f = f.sigmoid().named("f")
    g = g.tanh().named("g")
    o = o.sigmoid().named("o")
    c = (f * c + i * g).named("c")  # erase what f lets go, write what i lets in
    h = (o * c.tanh()).named("h")
    return h, c


def rnn_step(x_gates, state, w_hh_t, nonlinearity="tanh"):
    """h_t = tanh(W x_t + U h_{t-1} + b): one memory, rewritten in full at every step."""
    (h,) = state
    pre = addmm(x_gates, h, w_hh_t)  # x_gates + h @ U
    h = pre.tanh() if nonlinearity == "tanh" else pre.relu()
    return (h.named("h"),)


def gru_step(x_gates, state, w_hh_t, b_hh):
    """One GRU step (torch's form; gate order r, z, n):

    r_t = σ(W_r x_t + U_r h_{t-1} + b_r)            reset gate
    z_t = σ(W_z x_t + U_z h_{t-1} + b_z)            update gate
    n_t = tanh(W_n x_t + b_in + r_t ⊙ (U_n h_{t-1} + b_hn))
    h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}
    """
    (h,) = state
    hidden = h.shape[-1]
    h_gates = h @ w_hh_t
    if b_hh is not None:
        h_gates = h_gates + b_hh
    x_r, x_z, x_n = x_gates.split(hidden, axis=-1)
    h_r, h_z, h_n = h_gates.split(hidden, axis=-1)
    r = (x_r + h_r).sigmoid().named("r")
    z = (x_z + h_z).sigmoid().named("z")
    n = (x_n + r * h_n).tanh().named("n")
    h = ((1 - z) * n + z * h).named("h")
    return (h,)


# ----- cells: one step, parameters of their own -------------------------------------------


class _CellBase(Module):
    def __init__(self, input_size, hidden_size, bias=True, dtype=np.float32):
        super().__init__()
        check_positive_ints(type(self).__name__, input_size=input_size, hidden_size=hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        _init_weights(self, "", input_size, hidden_size, self.n_gates, bias, dtype)

    def forward(self, x, state=None):
        x = self.as_input(x)
        unbatched = x.ndim == 1
        if unbatched:
            x = x.reshape(1, -1)
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ShapeError(
                f"{type(self).__name__}: expected input of shape (batch, {self.input_size}) "
                f"or ({self.input_size},), got {x.shape}"
            )
        state = _initial_state(self, state, x.shape[0], unbatched, (), self.n_states)
        w_ih, w_hh, b_ih, b_hh = _layer_weights(self, "")
        new_state = self._step(_project(x, w_ih, b_ih, b_hh, self.fold_hidden_bias), state, w_hh.T, b_hh)
        if unbatched:
            new_state = tuple(s.reshape(-1) for s in new_state)
        return new_state if self.n_states > 1 else new_state[0]

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}"


class _RNNEquations:
    n_gates, n_states, fold_hidden_bias = 1, 1, True
    keras_name, keras_gates = "SimpleRNN", (0,)

    def _step(self, x_gates, state, w_hh_t, b_hh):
        return rnn_step(x_gates, state, w_hh_t, self.nonlinearity)


class _LSTMEquations:
    n_gates, n_states, fold_hidden_bias = 4, 2, True
    keras_name, keras_gates = "LSTM", (0, 1, 2, 3)  # Keras's i, f, c, o are our i, f, g, o

    def _step(self, x_gates, state, w_hh_t, b_hh):
        return lstm_step(x_gates, state, w_hh_t)


class _GRUEquations:
    n_gates, n_states, fold_hidden_bias = 3, 1, False  # b_hn sits inside r ⊙ (...): not foldable
    keras_name, keras_gates = "GRU (reset_after=True)", (1, 0, 2)  # our r, z, n: Keras's blocks 1, 0, 2 (its z, r, h)

    def _step(self, x_gates, state, w_hh_t, b_hh):
        return gru_step(x_gates, state, w_hh_t, b_hh)


class RNNCell(_RNNEquations, _CellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh). Call: h = cell(x, h)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=np.float32):
        _check_nonlinearity(nonlinearity)
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, dtype)


class LSTMCell(_LSTMEquations, _CellBase):
    """One LSTM step with its own weights. Call: h, c = cell(x, (h, c))."""


class GRUCell(_GRUEquations, _CellBase):
    """One GRU step with its own weights. Call: h = cell(x, h)."""


# ----- layers over whole sequences ----------------------------------------------------


class _RecurrentBase(KerasWeights, Module):
    """Runs a cell over a sequence, layer by layer, as torch.nn.RNN/LSTM/GRU do.

    Input (T, B, input_size), or (B, T, input_size) with batch_first, or (T, input_size)
    unbatched. Each layer projects the inputs of all T steps in one matmul, then steps
    through time; its outputs (with dropout in training, except after the last layer)
    feed the next layer.
    """

    def __init__(
        self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0, dtype=np.float32
    ):
        super().__init__()
        name = type(self).__name__
        check_positive_ints(name, input_size=input_size, hidden_size=hidden_size, num_layers=num_layers)
        check_number(name, "dropout", dropout, "a number in [0, 1)", lambda p: 0 <= p < 1)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        for layer in range(num_layers):
            _init_weights(
                self, f"_l{layer}", input_size if layer == 0 else hidden_size, hidden_size, self.n_gates, bias, dtype
            )

    def forward(self, x, state=None):
        given, x = x, self.as_input(x)
        if x is not given:  # made here from an array: named for pictures (a Tensor passed in keeps its own)
            x.named("x")
        name = type(self).__name__
        unbatched = x.ndim == 2
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            layout = "(batch, seq, " if self.batch_first else "(seq, batch, "
            raise ShapeError(
                f"{name}: expected input of shape {layout}{self.input_size}) or (seq, {self.input_size}), got {x.shape}"
            )
        if x.shape[1 if self.batch_first and not unbatched else 0] == 0:
            raise ShapeError(
                f"{name}: the sequence has length 0, got input of shape {x.shape}; give at least one time step"
            )
        if unbatched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        state = _initial_state(self, state, x.shape[1], unbatched, (self.num_layers,), self.n_states)

        final = []
        for layer in range(self.num_layers):
            if layer > 0:
                x = dropout(x, self.dropout, self.training)
            with scope(f"layer {layer}"):
                x, last = self._run_layer(x, tuple(_layer_state(s, layer) for s in state), layer)
            final.append(last)
        final = tuple(stack([f[k] for f in final]) for k in range(self.n_states))  # (L, B, H) each

        if unbatched:
            x = x.reshape(x.shape[0], self.hidden_size)
            final = tuple(s.reshape(self.num_layers, self.hidden_size) for s in final)
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        return x, (final if self.n_states > 1 else final[0])

    def _run_layer(self, x, state, layer):
        w_ih, w_hh, b_ih, b_hh = self.layer_weights(layer)
        x_gates = _project(x, w_ih, b_ih, b_hh, self.fold_hidden_bias)  # every step at once: (T, B, G*H)
        w_hh_t = w_hh.T  # transposed once, used at every step
        outputs = []
        for t, x_t in enumerate(x_gates.unbind(0)):
            with scope(f"t={t}"):
                state = self._step(x_t, state, w_hh_t, b_hh)
            outputs.append(state[0])
        return stack(outputs), state

    def layer_weights(self, layer):
        """Layer `layer`'s (weight_ih, weight_hh, bias_ih, bias_hh); the biases None without bias."""
        return _layer_weights(self, f"_l{layer}")

    def extra_repr(self):
        extra = "".join(
            f", {k}={getattr(self, k)}"
            for k, default in (("num_layers", 1), ("bias", True), ("batch_first", False), ("dropout", 0.0))
            if getattr(self, k) != default
        )
        return f"{self.input_size}, {self.hidden_size}{extra}"


class RNN(_RNNEquations, _RecurrentBase):
    """Elman RNN with tanh (or relu). Call: output, h_n = rnn(x, h0)."""

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        nonlinearity="tanh",
        bias=True,
        batch_first=False,
        dropout=0.0,
        dtype=np.float32,
    ):
        _check_nonlinearity(nonlinearity)
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, dtype)


class LSTM(_LSTMEquations, _RecurrentBase):
    """Call: output, (h_n, c_n) = lstm(x, (h0, c0)), shapes and semantics as torch.nn.LSTM."""


class GRU(_GRUEquations, _RecurrentBase):
    """Call: output, h_n = gru(x, h0), shapes and semantics as torch.nn.GRU."""


# ----- shared pieces --------------------------------------------------------------------


def _init_weights(module, suffix, input_size, hidden_size, n_gates, bias, dtype):
    """torch's names, shapes and init: every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H))."""
    bound, rng = 1 / math.sqrt(hidden_size), random.generator()
    setattr(module, f"weight_ih{suffix}", uniform((n_gates * hidden_size, input_size), bound, dtype, rng))
    setattr(module, f"weight_hh{suffix}", uniform((n_gates * hidden_size, hidden_size), bound, dtype, rng))
    if bias:
        setattr(module, f"bias_ih{suffix}", uniform((n_gates * hidden_size,), bound, dtype, rng))
        setattr(module, f"bias_hh{suffix}", uniform((n_gates * hidden_size,), bound, dtype, rng))


def _layer_weights(module, suffix):
    get = lambda name: getattr(module, name + suffix, None)
    return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")


def _project(x, w_ih, b_ih, b_hh, fold_hidden_bias):
    """W x (+ b_ih, + b_hh where the cell adds it unchanged at every step: fold it in once)."""
    x_gates = x @ w_ih.T
    if b_ih is not None:
        x_gates = x_gates + (b_ih + b_hh if fold_hidden_bias else b_ih)
    return x_gates


def _initial_state(module, state, batch, unbatched, leading, n_states):
    """The state as a tuple of n_states tensors of shape leading + (B, H); zeros when not given."""
    name, hidden = type(module).__name__, module.hidden_size
    dtype = module._dtype()
    expected = leading + ((hidden,) if unbatched else (batch, hidden))
    if state is None:  # (named as the tutorial names them, so pictures of the graph say them)
        state = tuple(Tensor._make(np.zeros(expected, dtype=dtype)).named(n) for n in ("h0", "c0")[:n_states])
    else:
        what = "(h, c)" if n_states == 2 else "h"
        if not isinstance(state, (Tensor, np.ndarray, tuple, list)):
            raise TypeError(f"{name}: expected the initial state {what} as tensors, got {type(state).__name__}")
        state = (state,) if isinstance(state, (Tensor, np.ndarray)) else tuple(state)
        if len(state) != n_states:
            raise ValueError(
                f"{name}: expected a state of {n_states} tensor(s) "
                f"{'(h, c)' if n_states == 2 else 'h'}, got {len(state)}"
            )
        state = tuple(module.as_input(s, "initial state") for s in state)
        for s in state:
            if s.shape != expected:
                raise ShapeError(f"{name}: expected initial state of shape {expected}, got {s.shape}")
    if unbatched:  # give the state its batch axis of 1
        state = tuple(s.reshape(leading + (1, hidden)) for s in state)
    return state


def _layer_state(state, layer):
    """One layer's slice of an initial state (L, B, H), with the state's name (h0, c0)."""
    piece = state[layer]
    return piece.named(state.name) if state.name is not None else piece


def _check_nonlinearity(nonlinearity):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
