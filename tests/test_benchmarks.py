"""The hand-written NumPy LSTM that the speed benchmarks compare against computes what
torch.nn.LSTM and tl.nn.LSTM compute: the same loss and the same four gradients."""

import numpy as np
import pytest
import scripts  # tests/scripts.py

import tinygrad_lstm as tl


def load(name):
    return scripts.load("benchmarks", name)


reference = load("numpy_lstm").lstm_forward_backward

SIZES = [(1, 3, 4, 1), (3, 5, 7, 1), (1, 8, 16, 20), (4, 6, 5, 9), (8, 16, 32, 40)]  # B, I, H, T


def problem(B, I, H, T, dtype, seed=0):
    """x, target and the four parameters in torch's layout, biases large enough that every
    gate matters (a gate order mixed up inside the reference would show)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, B, I)).astype(dtype)
    target = rng.standard_normal((T, B, H)).astype(dtype)
    bound = 1 / np.sqrt(H)
    params = [rng.uniform(-bound, bound, shape).astype(dtype) for shape in [(4 * H, I), (4 * H, H)]]
    params += [rng.uniform(-1, 1, 4 * H).astype(dtype) for _ in range(2)]
    return x, target, params


@pytest.fixture
def torch():
    """torch on one thread: on a busy machine its thread pool makes a small LSTM 100x slower."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)


@pytest.mark.parametrize("size", SIZES, ids=str)
def test_reference_matches_torch_lstm(torch, size):
    B, I, H, T = size
    x, target, params = problem(B, I, H, T, np.float64)
    module = torch.nn.LSTM(I, H).double()
    with torch.no_grad():
        for p, value in zip([module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0, module.bias_hh_l0], params):
            p.copy_(torch.from_numpy(value))
    out, _ = module(torch.from_numpy(x))
    torch_loss = torch.nn.functional.mse_loss(out, torch.from_numpy(target))
    torch_loss.backward()
    torch_grads = [
        p.grad.numpy() for p in (module.weight_ih_l0, module.weight_hh_l0, module.bias_ih_l0, module.bias_hh_l0)
    ]

    loss, grads = reference(x, target, *params)
    assert abs(loss - torch_loss.item()) < 1e-10
    for name, ours, theirs in zip(["w_ih", "w_hh", "b_ih", "b_hh"], grads, torch_grads):
        assert ours.shape == theirs.shape and ours.dtype == np.float64
        np.testing.assert_allclose(ours, theirs, atol=1e-10, rtol=0, err_msg=name)
    assert max(np.abs(g).max() for g in grads) > 1e-3  # gradients that say something


@pytest.mark.parametrize("dtype, tol", [(np.float32, 2e-6), (np.float64, 1e-12)], ids=["float32", "float64"])
@pytest.mark.parametrize("size", SIZES, ids=str)
def test_reference_matches_our_lstm(size, dtype, tol):
    B, I, H, T = size
    x, target, params = problem(B, I, H, T, dtype, seed=1)
    lstm = tl.nn.LSTM(I, H, dtype=dtype)
    for p, value in zip(lstm.parameters(), params):
        p.data[...] = value
    loss = tl.functional.mse_loss(lstm(x)[0], target)
    loss.backward()

    ref_loss, ref_grads = reference(x, target, *params)
    assert abs(loss.item() - ref_loss) <= tol * max(1, abs(ref_loss))
    for (name, p), g in zip(lstm.named_parameters(), ref_grads):
        assert g.dtype == dtype
        np.testing.assert_allclose(p.grad.numpy(), g, atol=tol, rtol=0, err_msg=name)


def test_reference_gradient_is_the_loss_slope():
    """Independent of any library: the reference's gradient along a random direction
    matches a central difference of its own loss (float64)."""
    x, target, params = problem(2, 3, 4, 6, np.float64, seed=2)
    _, grads = reference(x, target, *params)
    rng = np.random.default_rng(3)
    direction = [rng.standard_normal(p.shape) for p in params]
    eps = 1e-6
    plus = reference(x, target, *[p + eps * d for p, d in zip(params, direction)])[0]
    minus = reference(x, target, *[p - eps * d for p, d in zip(params, direction)])[0]
    slope = sum(float(np.sum(g * d)) for g, d in zip(grads, direction))
    assert abs((plus - minus) / (2 * eps) - slope) < 1e-8 * max(1, abs(slope))
