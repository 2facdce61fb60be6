"""viz.plots: the numbers behind the pictures (the units chosen, their order) and what the
figures draw, checked on the drawn data itself."""

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm.tasks.context import JOBS
from tinygrad_lstm.train import SequenceModel

pytest.importorskip("matplotlib")
from tinygrad_lstm.viz import plots  # noqa: E402

HIDDEN, CARRIER = 6, 4


@pytest.fixture(scope="module")
def carrier():
    """A context model (one fact per sentence) whose unit CARRIER is built to be a conveyor
    belt: its input gate opens only on a job word, which writes tanh(a code of that job); its
    forget gate is shut to 1 everywhere. The other units keep their random weights. So CARRIER's
    c at the end is fixed by the answer (η = 1) and no other unit's is."""
    task = tl.tasks.make("context", seq_len=1, n_facts=1)
    tl.manual_seed(0)
    model = SequenceModel(task, hidden=HIDDEN, embedding=4)
    jobs = [task.vocab.index(j) for j in JOBS]
    emb = model.embed.weight.data
    emb[:, :2] = 0
    emb[jobs, 0] = 1  # "this is a job"
    emb[jobs, 1] = (np.arange(len(JOBS)) + 1) / len(JOBS)  # which one
    rnn = model.rnn
    rows = {gate: k * HIDDEN + CARRIER for k, gate in enumerate("ifgo")}  # torch's gate order
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
        getattr(rnn, name).data[list(rows.values())] = 0
    rnn.bias_ih_l0.data[rows["i"]], rnn.weight_ih_l0.data[rows["i"], 0] = -30, 60  # i: 1 on a job, else 0
    rnn.bias_ih_l0.data[rows["f"]] = 30  # f: 1
    rnn.weight_ih_l0.data[rows["g"], 1] = 1  # g: the job's code
    inputs, answers = task.sample(200, np.random.default_rng(0))
    return task, model, inputs, answers


def test_correlation_ratio_is_the_share_of_variance_the_class_explains():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=500)
    values = np.stack(
        [
            labels * 2.0 - 1,  # fixed by the class
            rng.standard_normal(500),  # unrelated
            labels + rng.standard_normal(500),  # partly
            np.full(500, 3.0),
        ],
        axis=1,
    )  # constant
    eta = plots.correlation_ratio(values, labels)
    # the same share computed another way: R² of a least-squares fit on the class's one-hot columns
    onehot = np.eye(4)[labels]
    fitted = onehot @ np.linalg.lstsq(onehot, values, rcond=None)[0]
    centred = values - values.mean(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = 1 - ((values - fitted) ** 2).sum(axis=0) / (centred**2).sum(axis=0)
    np.testing.assert_allclose(eta[:3] ** 2, r2[:3], atol=1e-12)
    assert eta[0] == pytest.approx(1) and eta[1] < 0.15 and 0.6 < eta[2] < 0.9 and eta[3] == 0


def test_lstm_values_are_the_cells_own_numbers(carrier):
    task, model, inputs, _ = carrier
    values = plots.lstm_values(model, inputs[:5], ("c", "f", "i", "g"))
    steps = inputs.shape[1]
    assert all(v.shape == (5, steps, HIDDEN) for v in values.values())
    # the belt's equation, c_t = f_t c_{t-1} + i_t g_t, from c_{-1} = 0
    previous = np.concatenate([np.zeros((5, 1, HIDDEN)), values["c"][:, :-1]], axis=1)
    np.testing.assert_allclose(values["c"], values["f"] * previous + values["i"] * values["g"], atol=1e-5)
    first = plots.gate_activations(model, inputs[:5])  # the first sequence alone: a batch of 1 rounds its own way
    np.testing.assert_allclose(first["f"], values["f"][0], rtol=1e-6)


def test_memory_units_choose_the_unit_built_to_carry_the_answer(carrier):
    task, model, inputs, answers = carrier
    units, eta = plots.memory_units(model, inputs, answers, step=-1, k=3)
    assert eta.shape == (HIDDEN,) and units.shape == (3,)
    assert units[0] == CARRIER and eta[CARRIER] > 0.9999
    assert np.max(np.delete(eta, CARRIER)) < 0.99
    # the k largest, largest first, and no unit left out has a larger η
    assert list(eta[units]) == sorted(eta[units], reverse=True)
    assert eta[units].min() >= np.max(np.delete(eta, units))
    # the rule's η is the correlation ratio of c at that step, recomputed here
    c = plots.lstm_values(model, inputs, ("c",))["c"]
    np.testing.assert_allclose(eta, plots.correlation_ratio(c[:, -1], answers))
    # the carrier's gates: the belt kept (f = 1), written only on the job word
    values = plots.lstm_values(model, inputs[:20], ("f", "i"))
    job = [t for t, w in enumerate(task.decode(inputs[0]).split()) if w in JOBS]
    assert values["f"][:, :, CARRIER].min() > 0.999999
    np.testing.assert_allclose(values["i"][:, job, CARRIER], 1, atol=1e-6)
    assert np.delete(values["i"][:, :, CARRIER], job, axis=1).max() < 1e-6


def test_plot_memory_draws_the_chosen_units_c_f_i_per_sentence(carrier):
    task, model, inputs, answers = carrier
    words = task.decode(inputs[0]).split()
    fig = plots.plot_memory(model, inputs, answers, label_names=JOBS, words=words, k=2, lines=10)
    units, eta = plots.memory_units(model, inputs, answers, k=2)
    axes = np.array(fig.axes[:6]).reshape(3, 2)
    assert [ax.get_title() for ax in axes[0]] == [f"unit {u}: η = {eta[u]:.2f}" for u in units]
    assert axes[0, 0].get_title() == f"unit {CARRIER}: η = 1.00"
    assert [ax.get_ylabel() for ax in axes[:, 0]] == [
        "cell state c_t",
        "forget gate f_t (1 = keep)",
        "input gate i_t (1 = write)",
    ]
    values = plots.lstm_values(model, inputs[:10], ("c", "f", "i"))
    for row, name in enumerate("cfi"):
        for column, unit in enumerate(units):
            drawn = [line.get_ydata() for line in axes[row, column].get_lines() if line.get_linestyle() == "-"]
            assert len(drawn) == 10  # one line per sentence (the dashed one marks the step)
            np.testing.assert_allclose(drawn, values[name][:, :, unit])
    assert [t.get_text() for t in axes[-1, 0].get_xticklabels()] == words
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == [JOBS[a] for a in sorted(set(answers[:10]))]
    fig.clf()


def test_plot_gates_sorted_draws_the_columns_in_the_given_order(carrier):
    task, model, inputs, answers = carrier
    _, eta = plots.memory_units(model, inputs, answers)
    order = np.argsort(-eta, kind="stable")
    activations = {n: v[0] for n, v in plots.lstm_values(model, inputs[:1], ("c", "f", "i", "o")).items()}
    fig = plots.plot_gates(
        activations, words=task.decode(inputs[0]).split(), order=order, order_label="unit, by η", marked=2, key=eta
    )
    heatmaps = [ax for ax in fig.axes if ax.images and ax.get_title()]
    assert [ax.get_title() for ax in heatmaps] == [plots.GATE_TITLES[n] for n in "cfio"]
    np.testing.assert_allclose(heatmaps[0].images[0].get_array(), np.tanh(activations["c"][:, order]), rtol=1e-6)
    for ax, name in zip(heatmaps[1:], "fio"):
        np.testing.assert_array_equal(ax.images[0].get_array(), activations[name][:, order])
    # sorted by the stated key: η falls from left to right, the carrier leftmost
    assert order[0] == CARRIER and np.all(np.diff(eta[order]) <= 0)
    assert heatmaps[0].get_xlabel() == f"unit, by η\nfirst 2: {order[0]}, {order[1]}"
    # the axis reads as the key: η at the first and last column
    ticks = [t.get_text() for t in heatmaps[0].get_xticklabels()]
    assert ticks[0] == f"{eta[order[0]]:.2f}" and ticks[-1] == f"{eta[order[-1]]:.2f}" and len(ticks) == 5
    assert len(fig.axes) == 6  # four heatmaps, a colour bar for c and one shared by the gates
    fig.clf()


def test_gradient_norm_plot_draws_each_line_in_its_style():
    norms = {"rnn, trained": np.geomspace(1e-9, 1, 20), "lstm, trained": np.full(20, 1e-3)}
    fig = plots.plot_gradient_norms(norms, styles={"rnn, trained": dict(linestyle="--", color="tab:blue")})
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == list(norms)
    assert lines[0].get_linestyle() == "--" and lines[1].get_linestyle() == "-"
    np.testing.assert_array_equal(lines[0].get_ydata(), norms["rnn, trained"])
    fig.clf()
