"""Pictures of what the recurrent layers do while they work (matplotlib, an optional extra).

gate_activations: the LSTM's f, i, o at every step and unit, for one sequence.
gradient_norms:   ||dL/dh_t|| for every step t: how much the loss at the end still
                  depends on (and so can teach) the state t steps back. In a plain RNN it
                  shrinks geometrically going back: the vanishing gradient; along the LSTM's
                  cell state it can survive.
plot_history:     a training run's loss and held-out metric against the step.
"""

import numpy as np

from .graph import step_tensors


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plots need matplotlib: pip install matplotlib "
                          "(or pip install 'tinygrad_lstm[plots]')") from None
    return plt


def gate_activations(model, inputs, gates=("f", "i", "o")):
    """{gate: array (T, H)} for the first sequence of inputs, from model's first LSTM layer."""
    model.eval()
    try:
        outputs = model(inputs[:1])
    finally:
        model.train()
    return {g: np.stack([t.numpy()[0] for t in step_tensors(outputs, g)]) for g in gates}


def gradient_norms(task, model, inputs, targets):
    """||dL/dh_t|| for each step t of the first recurrent layer, averaged over the batch."""
    outputs = model(inputs)
    states = [h.retain_grad() for h in step_tensors(outputs, "h")]
    task.loss(outputs, targets).backward()
    model.zero_grad()
    return np.array([np.linalg.norm(h.grad.numpy(), axis=-1).mean() for h in states])


def plot_gates(activations, words=None, title="LSTM gates"):
    """Heatmaps, time x unit, one per gate. Returns the matplotlib Figure."""
    plt = _pyplot()
    names = list(activations)
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 0.22 * len(activations[names[0]]) + 1.6),
                             sharey=True, squeeze=False)
    for ax, name in zip(axes[0], names):
        image = ax.imshow(activations[name], aspect="auto", cmap="viridis", vmin=0, vmax=1,
                          interpolation="nearest")
        ax.set_title({"f": "forget gate f (1 = keep)", "i": "input gate i (1 = write)",
                      "o": "output gate o (1 = show)"}.get(name, name))
        ax.set_xlabel("unit")
    axes[0][0].set_ylabel("time step")
    if words is not None:
        axes[0][0].set_yticks(range(len(words)))
        axes[0][0].set_yticklabels(words, fontsize=7)
    fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8)
    fig.suptitle(title)
    return fig


def plot_gradient_norms(norms, title="how far back the gradient reaches"):
    """norms: {label: array over t}. One log-scale line each. Returns the Figure."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, values in norms.items():
        ax.semilogy(np.arange(len(values)), values, label=label)
    ax.set_xlabel("time step t (the loss is at the last step)")
    ax.set_ylabel("mean ||dL/dh_t||")
    ax.set_title(title)
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_history(losses, held_out, metric, baseline, title="training"):
    """losses: [(step, loss)]; held_out: [(step, {metric: value})], as a Training keeps them.
    Two panels: the loss, and the held-out metric with the baseline (what a model that learned
    nothing scores) as a horizontal line. Returns the Figure."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    steps, values = zip(*losses) if losses else ((), ())
    left.plot(steps, values, color="tab:blue")
    left.set_title("training loss (one batch)")
    steps, values = zip(*[(step, metrics[metric]) for step, metrics in held_out]) if held_out else ((), ())
    right.plot(steps, values, marker="o", markersize=3, color="tab:green", label="model")
    right.axhline(baseline, color="tab:red", linestyle="--", label=f"baseline {baseline:.4g}")
    right.set_title(f"held-out {metric}")
    right.legend()
    if metric == "mse":  # spans decades as the model learns; an accuracy stays within [0, 1]
        right.set_yscale("log")
    if all(v > 0 for _, v in losses):
        left.set_yscale("log")
    for ax in (left, right):
        ax.set_xlabel("step")
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
