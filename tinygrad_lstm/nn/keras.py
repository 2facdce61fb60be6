"""Keras's weights in and out of our recurrent layers (LSTM, GRU, RNN), layer by layer.

Keras holds a layer as [kernel (I, G*H), recurrent_kernel (H, G*H), bias]: our matrices
transposed, its gate blocks in its own order (each layer's keras_gates), and one bias (G*H,)
where torch has two, which act as their sum. Except the GRU's: its recurrent bias sits inside
r ⊙ (U h + b), as ours does (fold_hidden_bias is False), so Keras keeps both, (2, G*H).

    lstm.load_keras_weights(keras_layer.get_weights(), layer=0)
    keras_layer.set_weights(lstm.keras_weights(layer=0))
"""

import numpy as np

from ..checks import is_integer
from ..versions import mark_changed


class KerasWeights:
    """keras_weights and load_keras_weights for a recurrent layer (mixed into LSTM, GRU, RNN)."""

    def keras_weights(self, layer=0):
        """Layer `layer`'s weights as the list Keras's set_weights takes (new arrays)."""
        w_ih, w_hh, b_ih, b_hh = self.layer_weights(self._keras_layer(layer))
        to_keras = np.argsort(self.keras_gates)
        weights = [w_ih.data.T, w_hh.data.T]
        if b_ih is not None:
            weights.append(b_ih.data + b_hh.data if self.fold_hidden_bias else np.stack([b_ih.data, b_hh.data]))
        return [_gate_blocks(w, to_keras, self.hidden_size) for w in weights]

    def load_keras_weights(self, weights, layer=0, reset_after=None):
        """Copy Keras's layer.get_weights() into layer `layer`: from a Keras LSTM into an LSTM, a
        GRU (reset_after=True) into a GRU, a SimpleRNN into an RNN. Anything else (another kind's
        weights, wrong shapes or count) is refused, naming what was expected, and then no
        parameter has been changed. reset_after: a GRU without bias must say it (True), as its
        weights look the same as those of Keras's other GRU, which this one does not compute."""
        layer, who = self._keras_layer(layer), f"{type(self).__name__}.load_keras_weights"
        self._check_variant(who, reset_after)
        expected = _keras_shapes(
            self.n_gates,
            not self.fold_hidden_bias,
            self.bias,
            self.input_size if layer == 0 else self.hidden_size,
            self.hidden_size,
        )
        if not isinstance(weights, (list, tuple)):
            raise TypeError(
                f"{who}: expected the list Keras's layer.get_weights() returns, got {type(weights).__name__}"
            )
        arrays = [np.asarray(w) for w in weights]
        got = [a.shape for a in arrays]
        if got != expected or any(a.dtype.kind not in "biuf" for a in arrays):
            raise ValueError(
                f"{who}: expected the weights of a Keras {self.keras_name} for layer {layer}, "
                f"[kernel, recurrent_kernel{', bias' if self.bias else ''}] of shapes "
                f"{', '.join(map(str, expected))}; got {_describe_weights(arrays, self.bias)}"
                " (no parameter was changed)"
            )
        from_keras = np.asarray(self.keras_gates)
        kernel, recurrent, *bias = [_gate_blocks(a, from_keras, self.hidden_size) for a in arrays]
        values = {"weight_ih": kernel.T, "weight_hh": recurrent.T}
        if bias:
            two = not self.fold_hidden_bias  # Keras's one bias goes in b_ih; ours add b_hh to it
            values.update(bias_ih=bias[0][0] if two else bias[0], bias_hh=bias[0][1] if two else np.zeros_like(bias[0]))
        for name, value in values.items():
            param = getattr(self, f"{name}_l{layer}")
            param.data[...] = value  # in place: optimizers keep pointing at the same arrays
            mark_changed(param, f"load_keras_weights ({name}_l{layer})")  # a graph made before can't go back

    def _check_variant(self, who, reset_after):
        if self.keras_name.startswith("GRU"):
            if reset_after is False:
                raise ValueError(
                    f"{who}: reset_after=False: Keras's GRU with reset_after=False applies the reset gate "
                    "before the recurrent matrix; this GRU computes reset_after=True (Keras's default, "
                    "torch's GRU) only (no parameter was changed)"
                )
            if reset_after is None and not self.bias:
                raise ValueError(
                    f"{who}: without bias, Keras's two GRUs hold weights of the same shapes; say which "
                    "these are: reset_after=True (Keras's default, the one this GRU computes) "
                    "(no parameter was changed)"
                )
        elif reset_after is not None:
            raise TypeError(f"{who}: reset_after is for a GRU's weights, not a {type(self).__name__}'s")

    def _keras_layer(self, layer):
        if not is_integer(layer, 0, self.num_layers):
            raise ValueError(
                f"{type(self).__name__}: layer must be an integer from 0 to {self.num_layers - 1} "
                f"(num_layers is {self.num_layers}), got {layer!r}"
            )
        return int(layer)


def _gate_blocks(w, order, hidden):
    """w with its gate blocks (of `hidden` columns each, along the last axis) taken in `order`."""
    return np.concatenate([w[..., k * hidden : (k + 1) * hidden] for k in order], axis=-1)


def _keras_shapes(n_gates, two_biases, bias, inputs, hidden):
    """The shapes of Keras's get_weights() for a recurrent layer of this kind and size."""
    shapes = [(inputs, n_gates * hidden), (hidden, n_gates * hidden)]
    return shapes + [(2, n_gates * hidden) if two_biases else (n_gates * hidden,)] * bias


def _describe_weights(arrays, bias):
    """What was given, in words: its shapes, and which Keras layer they fit if another does."""
    got = f"{len(arrays)} array(s) of shapes {', '.join(str(a.shape) for a in arrays)}" if arrays else "no arrays"
    bad = [str(a.dtype) for a in arrays if a.dtype.kind not in "biuf"]
    if bad:
        return f"{got} and dtype {', '.join(bad)}, not numbers"
    if len(arrays) == 2 + bias and all(a.ndim == 2 for a in arrays[:2]):
        inputs, hidden = arrays[0].shape[0], arrays[1].shape[0]
        for name, n_gates, two_biases in (
            ("LSTM", 4, False),
            ("GRU (reset_after=True)", 3, True),
            ("SimpleRNN", 1, False),
            ("GRU with reset_after=False", 3, False),
        ):
            if [a.shape for a in arrays] == _keras_shapes(n_gates, two_biases, bias, inputs, hidden):
                return f"{got}, as a Keras {name} of {hidden} units holds them"
    return got
