"""Pictures of what the recurrent layers do while they work (matplotlib, an optional extra).

gate_activations: the LSTM's f, i, o at every step and unit, for one sequence.
lstm_values:      the same for many sequences, and the cell state c too: {name: (N, T, H)}.
memory_units:     the units whose cell state c at one step tells a class (the context task's
                  answer) best, by the correlation ratio: the few that carry a fact.
plot_memory:      those units' c, f and i across many sequences: the conveyor belt at work.
plot_gates:       heatmaps of the gates (and tanh c), the units in a given order.
gradient_norms:   ||dL/dh_t|| for every step t: how much the loss at the end still
                  depends on (and so can teach) the state t steps back. In a plain RNN it
                  shrinks geometrically going back: the vanishing gradient; along the LSTM's
                  cell state it can survive.
plot_history:     a training run's loss, validation and held-out metric against the step, with
                  its curriculum's phases and the step it was solved at.
"""

import os

import numpy as np

from .graph import step_tensors


def _pyplot():
    try:
        import matplotlib

        if not os.environ.get("MPLBACKEND"):  # (a notebook's kernel sets it: figures show inline there)
            matplotlib.use("Agg")  # no window: figures are saved to files
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "plots need matplotlib: pip install matplotlib (or pip install 'tinygrad_lstm[plots]')"
        ) from None
    return plt


def lstm_values(model, inputs, names=("c", "f", "i", "o")):
    """{name: array (N, T, H)}: the tensors called name ("c", "f", "i", "g", "o", "h") at every
    step of model's first LSTM layer, for each of the N sequences of inputs."""
    model.eval()
    try:
        outputs = model(inputs)
    finally:
        model.train()
    return {n: np.stack([t.numpy() for t in step_tensors(outputs, n)], axis=1) for n in names}


def gate_activations(model, inputs, gates=("f", "i", "o")):
    """{gate: array (T, H)} for the first sequence of inputs, from model's first LSTM layer."""
    return {g: v[0] for g, v in lstm_values(model, inputs[:1], gates).items()}


def correlation_ratio(values, labels):
    """η for each column of values (N, H) with the class labels (N,): the square root of the
    share of the column's variance that the class explains, between-class over total,

        η² = Σ_k n_k (mean_k - mean)² / Σ_n (v_n - mean)²,

    0 when the class tells nothing about the value, 1 when it fixes it. (Pearson's correlation
    needs numbers on both sides; an answer such as "coder" is a class.) A constant column: 0."""
    values, labels = np.asarray(values, np.float64), np.asarray(labels)
    centred = values - values.mean(axis=0)
    between = sum((labels == k).sum() * centred[labels == k].mean(axis=0) ** 2 for k in np.unique(labels))
    total = (centred**2).sum(axis=0)
    return np.sqrt(np.divide(between, total, out=np.zeros_like(total), where=total > 0))


def memory_units(model, inputs, labels, step=-1, k=3):
    """The rule for "the units that carry the fact": over all sequences of inputs, the
    correlation ratio η (correlation_ratio) between each unit's cell state c at `step` and
    labels (e.g. the answer, the job asked for). Returns (units, eta): eta (H,) for every unit,
    units the k with the largest η, largest first."""
    eta = correlation_ratio(lstm_values(model, inputs, ("c",))["c"][:, step], labels)
    return np.argsort(-eta, kind="stable")[:k], eta


def gradient_norms(task, model, inputs, targets):
    """||dL/dh_t|| for each step t of the first recurrent layer, averaged over the batch."""
    outputs = model(inputs)
    states = [h.retain_grad() for h in step_tensors(outputs, "h")]
    task.loss(outputs, targets).backward()
    model.zero_grad()
    return np.array([np.linalg.norm(h.grad.numpy(), axis=-1).mean() for h in states])


GATE_TITLES = {
    "f": "forget gate f (1 = keep)",
    "i": "input gate i (1 = write)",
    "o": "output gate o (1 = show)",
    "g": "candidate g",
    "c": "cell state tanh(c), the belt",
}


def plot_gates(activations, words=None, title="LSTM gates", order=None, order_label=None, marked=0, key=None):
    """Heatmaps, time x unit, one per entry of activations ({name: array (T, H)}). Gates on one
    0..1 scale; "c" is drawn as tanh(c) on -1..1 (what h = o tanh(c) reads of the belt).
    order: the units' order left to right (default 0..H-1); order_label: what it is sorted by,
    for the x axis; the first `marked` units are named on the axis and marked by a red bar;
    key: (H,) the value sorted by, one per unit, shown at five places along the x axis, so the
    axis reads as the key falling (or rising). Returns the matplotlib Figure."""
    plt = _pyplot()
    names = list(activations)
    steps, width = activations[names[0]].shape
    order = np.arange(width) if order is None else np.asarray(order)
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 0.22 * steps + 1.6), sharey=True, squeeze=False)
    gate_axes = []
    for ax, name in zip(axes[0], names):
        values = activations[name][:, order]
        if name == "c":
            image = ax.imshow(np.tanh(values), aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
            fig.colorbar(image, ax=ax, shrink=0.8, location="bottom", pad=0.12, aspect=30)
        else:
            gate_image = ax.imshow(values, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
            gate_axes.append(ax)
        ax.set_title(GATE_TITLES.get(name, name))
        ax.set_xlabel(
            (order_label or "unit")
            + (f"\nfirst {marked}: " + ", ".join(str(u) for u in order[:marked]) if marked else "")
        )
        if key is not None:
            ticks = np.linspace(0, width - 1, 5).round().astype(int)
            ax.set_xticks(ticks)
            ax.set_xticklabels([f"{key[order[t]]:.2f}" for t in ticks])
        if marked:  # a red bar over the units named in the axis's label (a line inside would hide a column)
            ax.axvspan(-0.5, marked - 0.5, ymin=1.0, ymax=1.025, color="red", clip_on=False, linewidth=0)
    axes[0][0].set_ylabel("time step")
    if words is not None:
        axes[0][0].set_yticks(range(len(words)))
        axes[0][0].set_yticklabels(words, fontsize=7)
    if gate_axes:
        fig.colorbar(gate_image, ax=gate_axes, shrink=0.8, location="bottom", pad=0.12, aspect=30)
    fig.suptitle(title)
    return fig


def plot_memory(
    model, inputs, labels, label_names=None, words=None, step=-1, k=3, lines=60, what="the answer", title=None
):
    """The units memory_units(model, inputs, labels, step, k) chooses (η over all of inputs):
    one column per unit, rows its cell state c_t, forget gate f_t and input gate i_t across the
    sequence, one line for each of the first `lines` sequences of inputs, coloured by its label
    (label_names[label] in the legend). The sequences should share their structure (the
    context task's do: the facts and the question at the same steps), so words, the x axis's
    labels, can stand for all of them. The step the rule reads c at is a dashed line.
    Returns the matplotlib Figure."""
    plt = _pyplot()
    units, eta = memory_units(model, inputs, labels, step, k)
    values = lstm_values(model, inputs[:lines], ("c", "f", "i"))
    labels = np.asarray(labels)[:lines]
    steps = values["c"].shape[1]
    colours = plt.get_cmap("tab10")
    fig, axes = plt.subplots(3, k, figsize=(4.2 * k + 1.5, 7.5), sharex=True, squeeze=False)
    rows = (("c", "cell state c_t"), ("f", "forget gate f_t (1 = keep)"), ("i", "input gate i_t (1 = write)"))
    for column, unit in enumerate(units):
        for (name, row_title), ax in zip(rows, axes[:, column]):
            for n in range(len(labels)):
                ax.plot(values[name][n, :, unit], color=colours(int(labels[n]) % 10), alpha=0.5, linewidth=1)
            ax.axvline(step % steps, color="grey", linestyle="--", linewidth=1)
            ax.grid(True, alpha=0.3)
            if name != "c":
                ax.set_ylim(-0.05, 1.05)
            if column == 0:
                ax.set_ylabel(row_title)
        axes[0, column].set_title(f"unit {unit}: η = {eta[unit]:.2f}")
    for ax in axes[-1]:
        ax.set_xticks(range(steps))
        if words is not None:
            ax.set_xticklabels(words, rotation=90)
    present = sorted(set(int(v) for v in labels))
    handles = [plt.Line2D([], [], color=colours(v % 10)) for v in present]
    fig.legend(
        handles,
        [str(label_names[v]) if label_names is not None else str(v) for v in present],
        title=what,
        loc="center right",
    )
    fig.suptitle(
        title
        or f"the {k} units whose cell state at step {step % steps} tells {what} best "
        f"(largest η over {len(inputs)} sequences); {len(labels)} of them drawn"
    )
    fig.tight_layout(rect=(0, 0, 1 - 1.3 / fig.get_figwidth(), 1))
    return fig


def plot_gradient_norms(norms, title="how far back the gradient reaches", styles=None):
    """norms: {label: array over t}. One log-scale line each; styles: {label: matplotlib line
    keywords}, e.g. one colour per model and dashes for untrained. Returns the Figure."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, values in norms.items():
        ax.semilogy(np.arange(len(values)), values, label=label, **(styles or {}).get(label, {}))
    ax.set_xlabel("time step t (the loss is at the last step)")
    ax.set_ylabel("mean ||dL/dh_t||")
    ax.set_title(title)
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_history(
    losses, held_out, metric, baseline, title="training", validation=(), stages=(), solved_at=None, until=None
):
    """losses: [(step, loss)]; held_out: [(step, {metric: value})], as a Training keeps them;
    validation: [(step, stage, value)]; stages: [(step it started after, its name)], the
    curriculum's phases, shaded; solved_at: the step validation reached `until`, marked.
    Two panels: the loss, and the metric, held out and on validation, with the baseline (what
    a model that learned nothing scores) as a horizontal line. Returns the Figure."""
    plt = _pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    steps, values = zip(*losses) if losses else ((), ())
    left.plot(steps, values, color="tab:blue")
    left.set_title("training loss (one batch)")
    steps, values = zip(*[(step, metrics[metric]) for step, metrics in held_out]) if held_out else ((), ())
    right.plot(steps, values, marker="o", markersize=3, color="tab:green", label="test (reported)")
    if validation:
        steps, _, values = zip(*validation)
        right.plot(steps, values, color="tab:purple", alpha=0.7, label="validation, of the stage trained then")
    right.axhline(baseline, color="tab:red", linestyle="--", label=f"baseline {baseline:.4g}")
    if until is not None:
        right.axhline(until, color="tab:gray", linestyle=":", label=f"until {until:.4g}")
    right.set_title(f"held-out {metric.replace('_', ' ')}")
    if metric == "mse":  # spans decades as the model learns; an accuracy stays within [0, 1]
        right.set_yscale("log")
    positive = [v for _, v in losses if v > 0]
    if positive and len(positive) == len(losses) and max(positive) > 10 * min(positive):  # (decades apart)
        left.set_yscale("log")
    last = max([s for s, _ in losses] + [s for s, _ in held_out] + [0])
    for ax in (left, right):
        ax.set_xlabel("step")
        ax.grid(True, which="both", alpha=0.3)
        if len(stages) > 1:  # the curriculum's phases: alternate shading, named at the top
            for k, (start, name) in enumerate(stages):
                end = stages[k + 1][0] if k + 1 < len(stages) else last
                ax.axvspan(start, end, color="0.85" if k % 2 else "0.93", zorder=0)
                ax.text(
                    (start + end) / 2,
                    0.02,
                    name,
                    transform=ax.get_xaxis_transform(),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    color="0.3",
                )
        if solved_at is not None:
            ax.axvline(solved_at, color="black", linewidth=1, label=f"solved at step {solved_at}")
    right.legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig
