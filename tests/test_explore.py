"""The explorer page (viz.explore): its numbers and order are the engine's, checked in a real
browser (headless Chromium driven by selenium), and the page is one self-contained file."""

import json
import os
import re
import shutil
import time

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import autograd, ops
from tinygrad_lstm.viz import derivative_rule, explore, lstm_training_step, write_training_step
from tinygrad_lstm.viz.graph import drawing

CI = bool(os.environ.get("CI"))  # CI installs Graphviz, Chromium and selenium: there, nothing skips
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not CI, reason="Graphviz dot not installed (CI installs it and runs these)"
)


def engine_order(loss):
    """The ops in the order the engine's backward walk processes them, recorded from the engine."""
    order = []
    autograd.walk([loss], [None], True, False, "test", wanted=set(), watch=lambda fn, g, gs: order.append(fn))
    return order[1:]  # (the first is the walk's start, which hands the root dL/dL = 1)


def graph_with_grads(seq_len=3):
    """One LSTM training step, explored, then backward() with every tensor keeping its .grad."""
    loss, params = lstm_training_step(seq_len=seq_len)
    drawn = drawing(loss, params, max_steps=20)
    for t in drawn.tensors:
        if t._ctx is not None:
            t.retain_grad()
    page = explore(loss, params=params)
    order = engine_order(loss)
    loss.backward(retain_graph=True)
    return loss, params, drawn, page, order


def open_page(driver, page, path):
    page.save(path)
    driver.get(path.as_uri())
    return [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]


def shown(driver, css):
    """The numbers of the array block matching css: (head, norm, shape), as the page holds them."""
    block = driver.find_element("css selector", css)
    return (
        json.loads(block.get_attribute("data-head")),
        json.loads(block.get_attribute("data-norm")),
        json.loads(block.get_attribute("data-shape")),
    )


def assert_same(head, norm, shape, grad):
    g = np.asarray(grad, dtype=np.float64)
    assert shape == list(g.shape)
    np.testing.assert_array_equal(head, g.ravel()[: len(head)])  # the engine's numbers, to the last bit
    assert len(head) == min(6, g.size)
    assert norm == pytest.approx(float(np.sqrt((g**2).sum())), rel=1e-12)


@needs_dot
def test_stepping_n_times_highlights_the_engines_nth_op_and_its_gradient(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys

    loss, params, drawn, page, order = graph_with_grads()
    assert open_page(browser, page, tmp_path / "step.html") == []  # no console error (nor warning)
    assert page.n_ops == len(order) == int(browser.find_element("id", "slider").get_attribute("max"))
    body = browser.find_element("tag name", "body")
    pressed = 0
    for n in (1, 2, 5, 13, len(order)):
        body.send_keys(*[Keys.ARROW_RIGHT] * (n - pressed))
        pressed = n
        fn = order[n - 1]
        current = browser.find_elements("css selector", "g.node.current > title")
        assert [c.get_attribute("textContent") for c in current] == [drawn.drawn_as[fn]], n
        assert browser.find_element("id", "where").text.startswith(
            f"op {n} of {len(order)}: {type(fn).__name__.lower()}"
        )
        (out,) = [t for t in drawn.tensors if t._ctx is fn]  # (these ops have one output each)
        assert_same(*shown(browser, '#step .arr[data-role="received"]'), out.grad.data)
    body.send_keys(Keys.ARROW_LEFT, Keys.ARROW_LEFT)
    assert browser.find_element("id", "where").text.startswith(f"op {len(order) - 2} of")
    body.send_keys(Keys.HOME)
    assert browser.find_element("id", "where").text.startswith("start of backward()")
    assert browser.get_log("browser") == []


@needs_dot
def test_clicking_shows_a_tensors_value_and_grad_and_an_ops_rule(browser, tmp_path):
    loss, params, drawn, page, order = graph_with_grads()
    open_page(browser, page, tmp_path / "click.html")
    weight = params["lstm.weight_hh_l0"]
    node = drawn.tensor_id[id(weight)]
    browser.find_element("xpath", f'//*[local-name()="g"][*[local-name()="title" and text()="{node}"]]').click()
    assert browser.find_element("id", "picked-name").text == "lstm.weight_hh_l0 (16, 4)"
    assert_same(*shown(browser, '#picked .arr[data-role="grad"]'), weight.grad.data)
    assert_same(*shown(browser, '#picked .arr[data-role="value"]'), weight.data)
    tanh = next(fn for fn in order if isinstance(fn, ops.Tanh) and fn in drawn.kept_functions)
    browser.execute_script(f"pick('{drawn.function_id[tanh]}')")
    assert "z = tanh a;  dz/da = 1 - z^2" in browser.find_element("css selector", "#picked pre.rule").text
    assert browser.get_log("browser") == []


@needs_dot
def test_a_t20_lstm_step_opens_in_under_2_s(browser, tmp_path):
    loss, params = lstm_training_step(seq_len=20)
    start = time.perf_counter()
    page = explore(loss, params=params)
    made = time.perf_counter() - start
    assert "one of T=" not in page.html and 'label="t=19"' not in page.html  # drawn whole
    page.save(tmp_path / "t20.html")
    start = time.perf_counter()
    browser.get((tmp_path / "t20.html").as_uri())  # returns once the page and its script have run
    opened = time.perf_counter() - start
    assert opened < 2.0, f"the page took {opened:.2f} s to open (made in {made:.2f} s)"
    start = time.perf_counter()
    browser.execute_script("for (let k = 0; k < 50; k++) show(k)")  # responsive: 50 steps in well under a second
    assert time.perf_counter() - start < 1.0
    assert browser.get_log("browser") == []


# ----- without a browser ----------------------------------------------------------------


def test_the_derivative_rule_is_the_one_written_beside_the_op():
    assert derivative_rule(ops.Tanh) == "z = tanh a;  dz/da = 1 - z^2"
    assert derivative_rule(ops.Mul) == "z = a * b;  dz/da = b, dz/db = a"
    assert derivative_rule(ops.AddMatMul).startswith("z = c + a @ b as one op")  # a docstring


@needs_dot
def test_the_page_is_one_file_that_fetches_nothing_and_grads_are_left_alone(tmp_path):
    x = tl.Tensor(np.array([0.5, -1.0]), requires_grad=True).named("x")
    loss = (x * 3.0).tanh().sum()
    page = explore(loss)
    assert x.grad is None  # exploring is not a backward(): .grad is untouched
    loss.backward()  # and the graph is still there to go back through
    text = page.html
    assert "<script src" not in text and '<link rel="stylesheet"' not in text and "@import" not in text
    assert not re.search(r"""(src|href)=["']?https?:""", text) and "url(http" not in text
    assert "<!--SVG-->" not in text and "/*DATA*/null" not in text
    assert page._repr_html_().startswith("<iframe srcdoc=")
    path = write_training_step(tmp_path / "step.html")
    assert path.endswith("step.html") and "backward(), one op at a time" in open(path).read()


@needs_dot
def test_long_sequences_are_explored_collapsed_and_huge_graphs_refused():
    loss, params = lstm_training_step(seq_len=30)
    page = explore(loss, params=params)
    assert "one of T=30 steps" in page.html
    data = json.loads(re.search(r"const DATA = (.*);\n", page.html).group(1))
    assert all(step["op"] is not None for step in data["steps"][1:])  # hidden steps shown on their twin
    x = tl.Tensor(np.ones(2), requires_grad=True)
    y = x
    for _ in range(2000):
        y = y * 1.0
    with pytest.raises(
        ValueError, match="^explore: the graph has 6003 nodes, more than max_nodes=1500; raise max_nodes"
    ):
        explore(y.sum())


@needs_dot
def test_a_plain_rnns_gradient_fades_along_its_time_steps():
    tl.manual_seed(0)
    rnn = tl.nn.RNN(2, 8)
    x = np.random.default_rng(0).standard_normal((12, 1, 2)).astype(np.float32)
    out, _ = rnn(x)
    loss = (out[-1] ** 2).sum()
    page = explore(loss, params=rnn)
    data = json.loads(re.search(r"const DATA = (.*);\n", page.html).group(1))
    hs = tl.viz.step_tensors(loss, "h")
    drawn = drawing(loss, rnn, max_steps=20)
    final = [data["tensors"][drawn.tensor_id[(id(h._ctx), 0)]]["norms"][-1][1] for h in hs]
    # the colour of h_t is |dL/dh_t|: it shrinks going back in time, by orders of magnitude
    assert all(a < b for a, b in zip(final, final[1:]))
    assert final[0] < 1e-2 * final[-1]


@needs_dot
@pytest.mark.parametrize("name", ["<!--<script>", "<!--SVG-->", "R&amp;D", "</script><b>x", "\"quoted\" & 'single'"])
def test_a_name_is_data_shown_as_written_and_never_breaks_the_page(browser, tmp_path, name):
    w = tl.Tensor(np.array([1.0, 2.0]), requires_grad=True).named(name)
    loss = (w * w).sum().named("loss")
    page = explore(loss, params={name: w})
    assert open_page(browser, page, tmp_path / "named.html") == []  # the script ran: no error
    assert int(browser.find_element("id", "slider").get_attribute("max")) == page.n_ops
    titles = browser.find_elements("css selector", "g.node text")
    assert any(name in t.get_attribute("textContent") for t in titles), [t.get_attribute("textContent") for t in titles]
    assert browser.get_log("browser") == []
