"""The scripts in examples/ run, and show what they say they show."""

import shutil

import numpy as np
import pytest
import scripts  # tests/scripts.py


def load(name):
    return scripts.load("examples", name)


def test_backward_by_hand_agrees_three_ways(capsys):
    worst = load("backward_by_hand").main()
    assert worst < 1e-8  # backward(), the chain rule by hand, and finite differences
    printed = capsys.readouterr().out
    assert printed.index("Pow") < printed.index("Sigmoid") < printed.index("Mul")  # newest op first


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_backward_by_hand_draws_its_graph(tmp_path):
    load("backward_by_hand").main(graph=str(tmp_path / "neuron.svg"))
    assert b"value 0.8" in (tmp_path / "neuron.svg").read_bytes()  # w's value in its node


def test_own_training_loop_beats_the_naive_guess():
    mse, naive = load("own_training_loop").main(steps=100)
    assert mse < 0.1 * naive  # 100 steps take it from 0.48 to about 0.001; naive is 0.07


def test_second_order_hessian_vector_product_and_newton(capsys):
    worst, path = load("second_order").main()
    assert worst < 1e-7  # H v by autograd against finite differences of the gradient
    assert np.abs(path[-1] - 1).max() < 1e-12 and len(path) <= 10  # Newton reaches (1, 1) in a few steps
    assert "worst relative gap" in capsys.readouterr().out
