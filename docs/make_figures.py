"""Make the tutorial's figures (docs/figures/). About two minutes:

    python docs/make_figures.py

1. lstm_step.svg / lstm_step_collapsed.svg: the graph of one LSTM training step
2. gates_context.png: f, i, o of an LSTM trained on the context task, for one sentence
3. gradient_norms.png: ||dL/dh_t|| over t, plain RNN vs LSTM, on the adding problem
4. backward_pass.svg: a gradient made with create_graph=True, whose graph is the backward pass
"""

import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")


import numpy as np  # noqa: E402

import tinygrad_lstm as tl  # noqa: E402
from tinygrad_lstm.cli import DEFAULTS  # noqa: E402
from tinygrad_lstm.train import SequenceModel, evaluate, held_out_stream, train  # noqa: E402
from tinygrad_lstm.viz import lstm_training_step_graph, plots, render  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "figures")


def backward_pass_graph():
    """dL/dw for one neuron, L = (tanh(w . x) - 1/2)^2, made with create_graph=True: its graph
    is the backward pass, each op's derivative rule drawn beside the op it differentiates."""
    w = tl.Tensor(np.array([0.5, -0.3]), requires_grad=True)
    x = tl.Tensor(np.array([1.0, 2.0])).named("x")
    loss = (((w * x).sum().tanh() - 0.5) ** 2).named("L")
    (dl_dw,) = tl.grad(loss, [w], create_graph=True)
    return tl.viz.draw_graph(dl_dw.named("dL/dw"), params={"w": w})


def main():
    os.makedirs(HERE, exist_ok=True)
    render(backward_pass_graph(), os.path.join(HERE, "backward_pass.svg"))
    render(lstm_training_step_graph(seq_len=3), os.path.join(HERE, "lstm_step.svg"))
    render(lstm_training_step_graph(seq_len=20, collapse=True), os.path.join(HERE, "lstm_step_collapsed.svg"))

    settings = DEFAULTS["context"]  # the model `tinygrad-lstm demo` trains
    context = tl.tasks.make("context", seq_len=settings["seq_len"])
    tl.manual_seed(0)
    model = SequenceModel(context, hidden=settings["hidden"], embedding=settings["embedding"])
    train(context, model, steps=settings["steps"], lr=settings["lr"], seed=0)
    print(f"context task: {evaluate(context, model)['accuracy']:.1%} of held-out sentences right")
    inputs, _ = context.sample(1, held_out_stream(7))
    fig = plots.plot_gates(plots.gate_activations(model, inputs), words=context.decode(inputs[0]).split(),
                           title="LSTM gates on a held-out sentence (trained on the context task)")
    fig.savefig(os.path.join(HERE, "gates_context.png"), dpi=90)

    adding = tl.tasks.make("adding", seq_len=100)
    inputs, targets = adding.sample(32, held_out_stream(7))
    norms = {}
    for kind in ("rnn", "lstm"):
        tl.manual_seed(0)
        norms[f"{kind}, untrained"] = plots.gradient_norms(adding, SequenceModel(adding, kind=kind), inputs, targets)
    tl.manual_seed(0)
    trained = SequenceModel(adding, kind="lstm")
    train(adding, trained, steps=1500, lr=1e-2, seed=0)
    norms["lstm, trained"] = plots.gradient_norms(adding, trained, inputs, targets)
    fig = plots.plot_gradient_norms(norms, title="Adding problem, T=100: gradient reaching step t")
    fig.savefig(os.path.join(HERE, "gradient_norms.png"), dpi=90)
    for label, values in norms.items():
        print(f"{label:18s} ||dL/dh_0|| = {values[0]:.3g}   ||dL/dh_99|| = {values[-1]:.3g}")


if __name__ == "__main__":
    main()
