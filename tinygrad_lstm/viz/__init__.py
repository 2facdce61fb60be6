"""Pictures: the computation graph (Graphviz), and what an LSTM does while it learns (matplotlib)."""

import numpy as np

from .graph import INSTALL_HINT, Graph, draw_graph, render, step_tensors


def lstm_training_step_graph(seq_len=3, hidden=4, input_size=2, collapse=False, seed=0):
    """The graph of one LSTM training step: LSTM over seq_len steps, a Linear head on the last
    output, MSE loss, after backward (so parameters show their gradient norms)."""
    from .. import functional, nn
    from ..random import manual_seed
    manual_seed(seed)
    lstm, head = nn.LSTM(input_size, hidden), nn.Linear(hidden, 1)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((seq_len, 1, input_size)).astype(np.float32)
    out, _ = lstm(x)
    loss = functional.mse_loss(head(out[-1]), np.zeros((1, 1), np.float32)).named("loss")
    loss.backward(retain_graph=True)  # keep the graph, to draw it with its gradients
    params = {**{f"lstm.{k}": p for k, p in lstm.named_parameters()},
              **{f"head.{k}": p for k, p in head.named_parameters()}}
    return draw_graph(loss, params=params, show_grads=True, collapse=collapse)


__all__ = ["Graph", "INSTALL_HINT", "draw_graph", "render", "step_tensors", "lstm_training_step_graph"]
