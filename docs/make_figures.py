"""Make the tutorial's figures (docs/figures/). About a minute, most of it training the demo's
LSTM on the context task and the adding problem's two models:

    python docs/make_figures.py

1. lstm_step.svg / lstm_step_collapsed.svg: the graph of one LSTM training step
2. memory_context.png: on the context task, the 3 units whose cell state at the question's
   last word "?" tells the answer best (the correlation ratio η over 1000 held-out sentences,
   plots.memory_units), and their c, f, i across 60 of those sentences
3. gates_context.png: tanh(c), f, i, o for one held-out sentence, the units sorted by that η
4. gradient_norms.png: ||dL/dh_t|| over t, plain RNN vs LSTM, untrained and trained, on the
   adding problem
5. backward_pass.svg: a gradient made with create_graph=True, whose graph is the backward pass
6. tape_passes.svg: a compiled LSTM step's tape as traced and after tl.compile's rewrite passes

    python docs/make_figures.py tape     only the pictures whose file name starts with "tape"
"""

import os
import sys

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")


import numpy as np  # noqa: E402

import tinygrad_lstm as tl  # noqa: E402
from tinygrad_lstm.cli import demo_run  # noqa: E402
from tinygrad_lstm.tasks.context import JOBS, NAMES  # noqa: E402
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


def tape_graph():
    """The tape of a compiled training step of a 3-step LSTM (loss: MSE over every output)."""
    tl.manual_seed(0)
    lstm = tl.nn.LSTM(2, 4)
    target = np.zeros((3, 1, 4), np.float32)
    step = tl.compile(lambda x: tl.functional.mse_loss(lstm(x)[0], target))
    step(np.ones((3, 1, 2), np.float32))
    return tl.viz.draw_tape(step, params=lstm)


FIGURES = {  # file name -> what draws it (a graph to render, or a function that saves its own)
    "backward_pass.svg": backward_pass_graph,
    "lstm_step.svg": lambda: lstm_training_step_graph(seq_len=3),
    "lstm_step_collapsed.svg": lambda: lstm_training_step_graph(seq_len=20, collapse=True),
    "tape_passes.svg": tape_graph,
}


def main(only=()):
    os.makedirs(HERE, exist_ok=True)
    for name, draw in FIGURES.items():
        if not only or name.startswith(tuple(only)):
            render(draw(), os.path.join(HERE, name))
    if not only:
        context_figures()
        gradient_norm_figure()


def template(words):
    """One label for a step of many context sentences: the word if all have it there, NAME or
    JOB if all have one of those, else ... (the filler sentences differ)."""
    if len(set(words)) == 1:
        return words[0]
    return "NAME" if set(words) <= set(NAMES) else "JOB" if set(words) <= set(JOBS) else "..."


def context_figures():
    training, _ = demo_run("lstm", seed=0)  # the LSTM `tinygrad-lstm demo` trains
    context, model = training.task, training.model
    print(
        f"context task: {evaluate(context, model)['accuracy']:.1%} of held-out sentences right "
        f"after {training.step} steps"
    )

    inputs, answers = context.sample(1000, held_out_stream(7), "test")
    sentences = [context.decode(x).split() for x in inputs]
    words = [template(column) for column in zip(*sentences)]
    k = 3
    units, eta = plots.memory_units(model, inputs, answers, step=-1, k=k)  # c at "?", where the answer is read
    fig = plots.plot_memory(
        model,
        inputs,
        answers,
        label_names=JOBS,
        words=words,
        step=-1,
        k=k,
        title=f"The {k} units whose cell state at '?' tells the answer best (largest η over "
        f"{len(inputs)} held-out sentences), in 60 of them",
    )
    fig.savefig(os.path.join(HERE, "memory_context.png"), dpi=90)
    values = plots.lstm_values(model, inputs, ("c", "f", "i"))
    jobs = [t for t, w in enumerate(words) if w == "JOB"]
    after = slice(jobs[0] + 1, len(words) - 1)  # from the first fact's job up to "do": the belt's stretch
    others = [t for t in range(len(words)) if t not in jobs]
    print(f"eta of c at '?' with the answer: median over {len(eta)} units {np.median(eta):.2f}")
    for unit in units:
        print(
            f"unit {unit:3d}: eta {eta[unit]:.2f}   mean f from the first job to 'do' "
            f"{values['f'][:, after, unit].mean():.3f}   mean i at the jobs {values['i'][:, jobs, unit].mean():.2f}, "
            f"elsewhere {values['i'][:, others, unit].mean():.3f}"
        )

    # which units hold still through the filler sentences (the belt), and what each holds there
    fillers = [t for t, w in enumerate(words) if w == "..."]
    still = np.flatnonzero(
        (values["f"][:, fillers].mean(axis=(0, 1)) > 0.9) & (values["i"][:, fillers].mean(axis=(0, 1)) < 0.1)
    )
    rank = np.argsort(np.argsort(-eta, kind="stable"))  # 0 for the largest η
    at_what = values["c"][:, words.index("what")]
    names = [t for t, w in enumerate(words) if w == "NAME"][:-1]  # the facts' names, not the question's
    facts = {
        kind: [np.array([vocabulary.index(sentence[t]) for sentence in sentences]) for t in steps]
        for kind, vocabulary, steps in (("job", JOBS, jobs), ("name", NAMES, names))
    }
    holds = {
        kind: np.max([plots.correlation_ratio(at_what[:, still], labels) for labels in facts[kind]], axis=0)
        for kind in facts
    }
    print(f"{len(still)} units hold still through the filler (mean f > 0.9, mean i < 0.1 there)")
    for kind in facts:
        which = still[holds[kind] > 0.5]
        print(
            f"  {len(which)} of them hold a fact's {kind} at 'what' (eta > 0.5); their ranks by eta "
            f"with the answer: {sorted(rank[which].tolist())}"
        )

    order = np.argsort(-eta, kind="stable")
    fig = plots.plot_gates(
        {n: v[0] for n, v in plots.lstm_values(model, inputs[:1], ("c", "f", "i", "o")).items()},
        words=sentences[0],
        order=order,
        marked=k,
        key=eta,
        order_label="units by η of c at '?' with the answer",
        title="An LSTM trained on the context task, on a held-out sentence; "
        f"the units sorted by η, largest left (red: the {k} largest)",
    )
    fig.savefig(os.path.join(HERE, "gates_context.png"), dpi=90, bbox_inches="tight")


def gradient_norm_figure():
    adding = tl.tasks.make("adding", seq_len=100)
    inputs, targets = adding.sample(32, held_out_stream(7), "test")
    norms, styles = {}, {}
    for kind, colour in (("rnn", "tab:blue"), ("lstm", "tab:orange")):
        tl.manual_seed(0)
        model = SequenceModel(adding, kind=kind)
        norms[f"{kind}, untrained"] = plots.gradient_norms(adding, model, inputs, targets)
        train(adding, model, steps=1500, lr=1e-2, seed=0)  # as benchmarks/learning.py trains both
        norms[f"{kind}, trained"] = plots.gradient_norms(adding, model, inputs, targets)
        styles[f"{kind}, untrained"] = dict(color=colour, linestyle="--")
        styles[f"{kind}, trained"] = dict(color=colour)
    fig = plots.plot_gradient_norms(norms, title="Adding problem, T=100: gradient reaching step t", styles=styles)
    fig.savefig(os.path.join(HERE, "gradient_norms.png"), dpi=90)
    for label, values in norms.items():
        reached = np.flatnonzero(values)  # float32 underflows to exactly 0 far back in a plain RNN
        print(
            f"{label:16s} ||dL/dh_0|| = {values[0]:.3g}   ||dL/dh_80|| = {values[-20]:.3g}   "
            f"||dL/dh_99|| = {values[-1]:.3g}   nonzero from step {reached[0]}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
