"""Pictures: the computation graph (Graphviz), and what an LSTM does while it learns (matplotlib)."""

import numpy as np

from .explore import Explorer, derivative_rule, explore
from .graph import INSTALL_HINT, Graph, GraphTooLarge, draw_graph, render, step_tensors
from .tape import draw_tape
from .text_cells import TextCells, text_cells


def lstm_training_step(seq_len=3, hidden=4, input_size=2, seed=0):
    """One LSTM training step's loss, before backward: an LSTM over seq_len steps, a Linear
    head on the last output, MSE loss. Returns (loss, {parameter name: Tensor}).
    The model's inputs are named as in the tutorial (x, h0, c0, target), so pictures say them."""
    from .. import functional, nn
    from ..random import manual_seed
    from ..tensor import Tensor

    manual_seed(seed)
    lstm, head = nn.LSTM(input_size, hidden), nn.Linear(hidden, 1)
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((seq_len, 1, input_size)).astype(np.float32)).named("x")
    # requires_grad: the gradient that reaches the initial state is part of the story
    h0, c0 = (Tensor(np.zeros((1, 1, hidden), np.float32), requires_grad=True).named(n) for n in ("h0", "c0"))
    target = Tensor(np.zeros((1, 1), np.float32)).named("target")
    out, _ = lstm(x, (h0, c0))
    loss = functional.mse_loss(head(out[-1]), target).named("loss")  # its pieces drawn in a box "mse_loss"
    params = {
        **{f"lstm.{k}": p for k, p in lstm.named_parameters()},
        **{f"head.{k}": p for k, p in head.named_parameters()},
    }
    return loss, params


def lstm_training_step_graph(seq_len=3, hidden=4, input_size=2, collapse="auto", seed=0):
    """The graph of one LSTM training step (lstm_training_step), after backward, so
    parameters show their gradient norms."""
    loss, params = lstm_training_step(seq_len, hidden, input_size, seed)
    loss.backward(retain_graph=True)  # keep the graph, to draw it with its gradients
    return draw_graph(loss, params=params, show_grads=True, collapse=collapse)


def write_training_step(path, seq_len=3, hidden=4, collapse="auto", timeout=60):
    """One LSTM training step's graph written to path, for `tinygrad-lstm graph -o FILE`: the
    suffix picks the format, .html for the explorer page (explore), else as render (.svg, .png,
    .pdf, .dot). Returns the path written."""
    import os

    if os.path.splitext(os.fsdecode(path))[1].lower() == ".html":
        loss, params = lstm_training_step(seq_len, hidden)
        return explore(loss, params=params, collapse=collapse, timeout=timeout).save(path)
    return render(lstm_training_step_graph(seq_len, hidden, collapse=collapse), path, timeout=timeout)


__all__ = [
    "Explorer",
    "Graph",
    "GraphTooLarge",
    "INSTALL_HINT",
    "derivative_rule",
    "draw_graph",
    "draw_tape",
    "explore",
    "render",
    "step_tensors",
    "text_cells",
    "TextCells",
    "lstm_training_step",
    "lstm_training_step_graph",
    "write_training_step",
]
