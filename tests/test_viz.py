"""Graph pictures: content, determinism, clusters, collapse, guards, escaping, rendering."""

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import Tensor, cli
from tinygrad_lstm.viz import draw_graph, render, step_tensors


def small_lstm_loss(seq_len=3, seed=0):
    tl.manual_seed(seed)
    lstm = tl.nn.LSTM(2, 3)
    x = np.random.default_rng(seed).standard_normal((seq_len, 1, 2)).astype(np.float32)
    out, _ = lstm(x)
    return lstm, out.sum()


def test_labels_show_ops_shapes_parameter_names_and_gates():
    lstm, loss = small_lstm_loss()
    source = draw_graph(loss, params=lstm).source
    for text in ("weight_hh_l0", "(12, 3)", "addmatmul", "sigmoid", "split", "t=0", "t=2", "layer 0", "LSTM"):
        assert text in source, text
    for gate in ("f", "i", "g", "o", "c", "h"):
        assert f'label="{gate}\n' in source or f'label="{gate}\\n' in source, gate


def test_same_graph_same_dot_text():
    assert draw_graph(small_lstm_loss()[1]).source == draw_graph(small_lstm_loss()[1]).source


def test_values_and_grads_in_labels():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True).named("x")
    y = (x * x).sum()
    y.backward(retain_graph=True)
    source = draw_graph(y, show_values=True, show_grads=True).source
    assert "mean 1.5" in source and "|grad| 4.47" in source  # x: its mean, and the norm of [2, 4]
    assert "value 5" in source  # y = 1 + 4, one number: shown as it is


def test_one_number_shows_its_value_and_signed_grad():
    w = Tensor(np.array(-0.5), requires_grad=True).named("w")
    (w * 3.0).backward()
    source = draw_graph(w * 3.0, show_values=True, show_grads=True).source
    assert "value -0.5" in source and "grad 3" in source and "|grad|" not in source


def test_collapsed_view_draws_one_step():
    lstm, loss = small_lstm_loss(seq_len=6)
    full = draw_graph(loss, collapse=False).source
    collapsed = draw_graph(loss, collapse=True).source
    assert "t=5" in full and "t=5" not in collapsed
    assert "one of T=6 steps" in collapsed and "t+1" in collapsed
    assert collapsed.count("sigmoid") * 5 < full.count("sigmoid")


def test_long_sequences_collapse_automatically_and_huge_graphs_are_refused():
    lstm, loss = small_lstm_loss(seq_len=200)
    assert "one of T=200 steps" in draw_graph(loss).source  # auto: too big to draw whole
    with pytest.raises(ValueError, match="max_nodes=1500.*collapse=True"):
        draw_graph(loss, collapse=False)
    x = Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(2000):  # no time steps to collapse
        y = y * 1.0
    with pytest.raises(ValueError, match="more than max_nodes"):
        draw_graph(y.sum())


def test_user_names_are_escaped():
    x = Tensor(np.ones(2), requires_grad=True).named('evil" -> x [color=red] \\ <b>')
    source = draw_graph((x * 2).sum()).source
    # the quote is escaped (it cannot end the label) and the backslash is doubled (kept literal)
    assert 'label="evil\\" -> x [color=red] \\\\ <b>' in source
    if shutil.which("dot"):
        svg = __import__("subprocess").run(["dot", "-Tsvg"], input=source, capture_output=True, text=True).stdout
        assert "evil&quot; &#45;&gt; x [color=red] \\ &lt;b&gt;" in svg


def test_step_tensors_reads_gates_by_time():
    lstm, loss = small_lstm_loss(seq_len=4)
    forget = step_tensors(loss, "f")
    assert len(forget) == 4 and all(t.shape == (1, 3) for t in forget)


needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not __import__("os").environ.get("CI"),
    reason="Graphviz dot not installed (CI installs it and runs these)",
)


@needs_dot
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_render_formats(tmp_path, suffix, magic):
    lstm, loss = small_lstm_loss()
    path = render(draw_graph(loss, params=lstm), tmp_path / f"graph{suffix}")
    assert Path(path).read_bytes()[:5].startswith(magic[:4])


@needs_dot
def test_cli_graph_writes_svg(tmp_path):
    out = tmp_path / "step.svg"
    assert cli.main(["graph", "-o", str(out), "--collapse"]) == 0
    assert b"<svg" in out.read_bytes()


def test_without_dot_the_error_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    lstm, loss = small_lstm_loss()
    dot = draw_graph(loss)
    assert dot.source.startswith("digraph")
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        render(dot, tmp_path / "g.svg")
    assert not list(tmp_path.iterdir())
    render(dot, tmp_path / "g.dot")  # the DOT text needs no Graphviz
    assert (tmp_path / "g.dot").read_text().startswith("digraph")


def test_plots_of_gates_and_gradient_norms():
    pytest.importorskip("matplotlib")
    from tinygrad_lstm.train import SequenceModel
    from tinygrad_lstm.viz import plots

    task = tl.tasks.make("adding", seq_len=40)
    inputs, targets = task.sample(8, np.random.default_rng(0))
    norms = {}
    for kind in ("rnn", "lstm"):
        tl.manual_seed(0)
        norms[kind] = plots.gradient_norms(task, SequenceModel(task, kind=kind, hidden=16), inputs, targets)
    assert norms["rnn"].shape == (40,)
    # the vanishing gradient, measured: 40 steps back the RNN's gradient is far smaller than the LSTM's
    assert norms["rnn"][0] / norms["rnn"][-1] < 1e-3 * norms["lstm"][0] / norms["lstm"][-1]
    assert plots.plot_gradient_norms(norms) is not None
    context = tl.tasks.make("context")
    gates = plots.gate_activations(SequenceModel(context), context.sample(1, np.random.default_rng(0))[0])
    assert gates["f"].shape == (context.sample(1, np.random.default_rng(0))[0].shape[1], 32)
    assert np.all((gates["f"] > 0) & (gates["f"] < 1))


def test_a_graph_freed_by_backward_is_refused_with_the_way_to_keep_it():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(ValueError, match="retain_graph=True"):
        draw_graph(y)


def test_a_gradient_with_a_graph_draws_the_backward_pass_marked_by_its_forward_op():
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    (g,) = tl.grad((x * 3.0).tanh().sum(), [x], create_graph=True)
    source = tl.viz.draw_graph(g).source
    assert source.count('label="backward of Tanh"') == 1 and source.count('label="backward of Mul"') == 1
    forward_tanh = re.search(r'(f\d+) \[label=tanh fillcolor="#f0f0f0"', source).group(1)
    backward_ops = re.findall(r'(f\d+) \[label=\w+ fillcolor="#e7d4e8"', source)
    assert len(backward_ops) == 4  # tanh's rule: grad * (1 - z*z) is mul, sub, mul; mul's: grad * 3
    joined = re.findall(rf"{forward_tanh} -> (f\d+) \[label=backward", source)
    assert len(joined) == 1 and joined[0] in backward_ops
    assert "op of the backward pass" in source
    plain = tl.viz.draw_graph((x * 3.0).tanh().sum()).source
    assert "backward" not in plain and "#e7d4e8" not in plain


def test_inputs_named_loss_in_its_box_and_the_legend_lists_only_kinds_drawn():
    source = tl.viz.lstm_training_step_graph(seq_len=3).source
    for name in ("x", "h0", "c0", "target"):  # drawn as named inputs (orange), not as anonymous constants
        assert re.search(rf'label="{name}\n[^"]*" fillcolor="#fdbf6f"', source), name
    assert "label=mse_loss" in source
    plain = draw_graph((Tensor(np.ones(2), requires_grad=True) * 2).sum()).source
    assert "legend_input" in plain and "legend_gate" not in plain and "legend_parameter" not in plain


def test_long_sequences_collapse_past_max_steps():
    assert "one of T=" not in draw_graph(small_lstm_loss(seq_len=12)[1]).source
    assert "one of T=13 steps" in draw_graph(small_lstm_loss(seq_len=13)[1]).source
    assert "one of T=" not in draw_graph(small_lstm_loss(seq_len=13)[1], max_steps=13).source


@needs_dot
@pytest.mark.parametrize("seq_len", [3, 7, 12])
def test_time_steps_side_by_side_in_order_with_gates_f_i_g_o_in_each(seq_len):
    """Where dot puts them (its plain output): x of every node, steps and gates in order."""
    source = tl.viz.lstm_training_step_graph(seq_len=seq_len).source
    plain = __import__("subprocess").run(["dot", "-Tplain"], input=source, capture_output=True, text=True).stdout
    x = {p[1]: float(p[2]) for p in (line.split() for line in plain.splitlines()) if p[0] == "node"}
    lefts = []
    for cluster in re.split(r"subgraph cluster_", source)[1:]:
        step = re.match(r'\w+ \{\s*color="#999999" fontsize=10 label="t=(\d+)"', cluster)
        if step:
            gates = dict((g, node) for node, g in re.findall(r'(t\d+) \[label="([figo])\n', cluster))
            order = sorted(gates, key=lambda g: x[gates[g]])
            assert "".join(order) == "figo", (step.group(1), order)
            lefts.append((min(x[n] for n in gates.values()), int(step.group(1))))
    assert [t for _, t in sorted(lefts)] == list(range(seq_len))


def test_a_users_lstm_draws_its_input_and_zero_state_by_name():
    lstm = tl.nn.LSTM(2, 3, num_layers=2)
    out, _ = lstm(np.ones((2, 1, 2), np.float32))
    source = draw_graph(out.sum(), params=lstm).source
    for name in ("x", "h0", "c0"):
        assert f'label="{name}\n' in source


def test_draw_tape_shows_the_traced_ops_beside_the_rewritten_ones():
    tl.manual_seed(0)
    lstm = tl.nn.LSTM(2, 3)
    step = tl.compile(lambda x: (lstm(x)[0] ** 2).sum())
    with pytest.raises(ValueError, match="no tape yet: call it once"):
        tl.viz.draw_tape(step)
    step(np.ones((3, 1, 2), np.float32))
    source = tl.viz.draw_tape(step, params=lstm).source
    assert "as traced: " in source and "after the passes: " in source
    (tape,) = step.tapes.values()
    assert f"as traced: {len(tape.traced_steps)} ops" in source and f"after the passes: {len(tape.steps)} ops" in source
    assert "3 x GateActivations" in source and "weight_hh_l0" in source and "argument 0" in source
    only = tl.viz.draw_tape(step, which="traced").source
    assert "after the passes" not in only and "Fused" not in only
    with pytest.raises(ValueError, match="which must be"):
        tl.viz.draw_tape(step, which="after")
    with pytest.raises(TypeError, match="expected a tl.compile'd function or a Tape, got function"):
        tl.viz.draw_tape(lambda x: x)
    with pytest.raises(TypeError, match="params must be a Module"):
        tl.viz.draw_tape(step, params=[1])
