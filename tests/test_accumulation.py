"""Gradients accumulate into .grad, as torch's do: a second backward() adds to the first.

Over leaves used by every kind of op (elementwise, matmul, reductions, indexing, split and
unbind, concat, a loss, an LSTM layer's and an Embedding's parameters, a compiled step), in
float32 and float64: two backward() calls give the sum of the two gradients found apart, in
the leaf's dtype. Then a tensor used twice in one graph, retain_grad() tensors, .grad set by
hand, zero_grad() on a tensor, a module and an optimizer, grad() (which leaves .grad alone),
and create_graph=True, whose .grad keeps a graph as it accumulates. Where torch is installed,
the same sequence of calls is run on torch and every .grad compared. (The library has no
gradient hooks; retain_grad() is its one way to keep a non-leaf's gradient.)
"""

import warnings

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import Tensor
from tinygrad_lstm import functional as F

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["f32", "f64"]
TOL = {np.dtype(np.float32): dict(rtol=1e-5, atol=1e-6), np.dtype(np.float64): dict(rtol=1e-10, atol=1e-12)}
# Accumulated against the two gradients found apart and added: the same float operations, so
# only the last bit may differ.
SAME = {np.dtype(np.float32): dict(rtol=1e-6, atol=0), np.dtype(np.float64): dict(rtol=1e-14, atol=0)}


def _torch():
    return pytest.importorskip("torch")


def _torch_if_installed():
    """For the tests whose own numbers are worked out by hand: torch's too, where it is installed."""
    try:
        import torch
    except ImportError:
        return None
    return torch


def _ce(logits, target):
    if isinstance(logits, Tensor):
        return F.cross_entropy(logits, np.array(target))
    torch = _torch()
    return torch.nn.functional.cross_entropy(logits, torch.tensor(target))


def _concat(ts, axis):
    return tl.concat(ts, axis) if isinstance(ts[0], Tensor) else _torch().cat(ts, axis)


def _stack(ts, axis):
    return tl.stack(ts, axis) if isinstance(ts[0], Tensor) else _torch().stack(ts, axis)


def _amax(t, axis):
    return t.max(axis=axis) if isinstance(t, Tensor) else t.amax(dim=axis)


CASES = {  # name: (shapes of the leaves, the op on them: the same code for ours and torch)
    "elementwise_broadcast": ([(3, 4), (4,)], lambda a, b: (a * b + a.exp() - b / 2).tanh()),
    "sigmoid_and_pow": ([(3, 4)], lambda a: a.sigmoid() * a**2 + (a * a + 1).sqrt()),
    "matmul": ([(3, 4), (4, 2)], lambda a, b: a @ b),
    "matmul_batched": ([(2, 3, 4), (4, 2)], lambda a, b: a @ b),
    "sum_axis": ([(3, 4)], lambda a: a.sum(dim=1, keepdim=True) * a),
    "mean": ([(3, 4)], lambda a: a.mean(dim=0)),
    "max_axis": ([(3, 4)], lambda a: _amax(a, 1)),
    "logsumexp": ([(3, 4)], lambda a: a.logsumexp(dim=1)),
    "var": ([(3, 4)], lambda a: a.var(dim=0, correction=1)),
    "index_repeated_rows": ([(3, 4)], lambda a: a[[0, 2, 0, 0]]),
    "index_slices": ([(3, 4)], lambda a: a[1:, ::2]),
    "index_pairs": ([(3, 4)], lambda a: a[[0, 1, 1], [3, 0, 3]]),
    "split": ([(3, 4)], lambda a: a.split(2, dim=1)),
    "unbind": ([(3, 4)], lambda a: a.unbind(dim=0)),
    "concat_and_stack": ([(3, 4), (3, 4)], lambda a, b: (_concat([a, b * 2, a], 1), _stack([a, b], 0))),
    "reshape_transpose": ([(3, 4)], lambda a: a.reshape(4, 3).T * 3),
    "cross_entropy": ([(3, 5)], lambda a: _ce(a, [0, 4, 4])),
}


def _leaves(shapes, dtype, lib, seed=0):
    rng = np.random.default_rng(seed)
    data = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
    if lib == "ours":
        return [Tensor(d, requires_grad=True) for d in data]
    torch = _torch()
    return [torch.tensor(d, requires_grad=True) for d in data]


def _weighted_sum(out, call, dtype, lib):
    """A scalar from the op's output(s): each weighed by fixed random numbers, other ones for each call
    (so the two calls' gradients differ, and a .grad that kept only the last one shows)."""
    outs = out if isinstance(out, (tuple, list)) else [out]
    rng = np.random.default_rng(100 + call)
    total = 0
    for o in outs:
        r = rng.standard_normal(tuple(o.shape)).astype(dtype)
        total = total + (o * (Tensor(r) if lib == "ours" else _torch().tensor(r))).sum()
    return total


def _backward_calls(name, dtype, lib, calls, leaves=None):
    """backward() of one call after another on the same leaves; their .grad as arrays."""
    shapes, op = CASES[name]
    leaves = _leaves(shapes, dtype, lib) if leaves is None else leaves
    for call in calls:
        _weighted_sum(op(*leaves), call, dtype, lib).backward()
    return leaves, [leaf.grad.numpy() if lib == "ours" else leaf.grad.detach().numpy() for leaf in leaves]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_two_backward_calls_add_up(name, dtype):
    dtype = np.dtype(dtype)
    _, first = _backward_calls(name, dtype, "ours", [1])
    _, second = _backward_calls(name, dtype, "ours", [2])
    leaves, both = _backward_calls(name, dtype, "ours", [1, 2])
    for k, (leaf, a, b, total) in enumerate(zip(leaves, first, second, both)):
        assert np.any(a != 0) and np.any(b != 0) and not np.allclose(a + b, b)  # the test can tell
        assert leaf.grad.dtype == dtype and leaf.grad.shape == leaf.shape and not leaf.grad.requires_grad
        np.testing.assert_allclose(total, a + b, err_msg=f"leaf {k}", **SAME[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_two_backward_calls_add_up_as_torch(name, dtype):
    _torch()
    dtype = np.dtype(dtype)
    _, ours = _backward_calls(name, dtype, "ours", [1, 2])
    _, theirs = _backward_calls(name, dtype, "torch", [1, 2])
    for k, (o, t) in enumerate(zip(ours, theirs)):
        assert o.dtype == t.dtype == dtype
        np.testing.assert_allclose(o, t, err_msg=f"leaf {k}", **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_three_calls_add_up_and_a_0d_leaf_keeps_its_shape(dtype):
    """A 0-d leaf: each call's gradient is a 0-d number, and the sum stays a 0-d Tensor."""
    x = Tensor(np.array(1.5, dtype), requires_grad=True)
    for k in (1, 2, 3):
        (x * x * k).backward()  # d/dx k x^2 = 2 k x = 3, 6, 9
    assert x.grad.shape == () and x.grad.dtype == dtype and type(x.grad.numpy()) is np.ndarray
    assert x.grad.item() == 18.0


def test_a_float32_leaf_in_a_float64_graph_accumulates_in_float32():
    x = Tensor(np.array([1.0, -2.0], np.float32), requires_grad=True)
    w = Tensor(np.array([0.5, 3.0]))  # float64: the product is float64
    (x * w).sum().backward()
    (x * w * 2).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), np.array([1.5, 9.0], np.float32))


# ----- layers ---------------------------------------------------------------------------------


def _lstm_pair(dtype):
    torch = _torch()
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(3, 4, num_layers=2).to(torch.float64 if dtype == np.float64 else torch.float32)
    ours = tl.nn.LSTM(3, 4, num_layers=2, dtype=dtype)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _lstm_loss(model, x, call, dtype, lib):
    out, (h, c) = model(x)
    return _weighted_sum((out, h, c), call, dtype, lib)


def _lstm_batches(dtype):
    rng = np.random.default_rng(7)
    return [rng.standard_normal((5, 2, 3)).astype(dtype) for _ in range(2)]  # (T, B, input)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_lstm_parameters_accumulate_over_two_batches(dtype):
    dtype = np.dtype(dtype)
    batches = _lstm_batches(dtype)

    def grads_after(calls):
        tl.manual_seed(3)
        model = tl.nn.LSTM(3, 4, num_layers=2, dtype=dtype)
        for call in calls:
            _lstm_loss(model, Tensor(batches[call - 1]), call, dtype, "ours").backward()
        return {name: p.grad.numpy() for name, p in model.named_parameters()}

    first, second, both = grads_after([1]), grads_after([2]), grads_after([1, 2])
    assert len(both) == 8  # weight_ih, weight_hh, bias_ih, bias_hh of two layers
    for name in both:
        assert both[name].dtype == dtype and np.any(first[name] != 0)
        np.testing.assert_allclose(both[name], first[name] + second[name], err_msg=name, **SAME[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_lstm_parameters_accumulate_as_torch(dtype):
    torch = _torch()
    dtype = np.dtype(dtype)
    ours, theirs = _lstm_pair(dtype)
    for call, batch in enumerate(_lstm_batches(dtype), start=1):
        _lstm_loss(ours, Tensor(batch), call, dtype, "ours").backward()
        _lstm_loss(theirs, torch.tensor(batch), call, dtype, "torch").backward()
    their_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), their_params[name].grad.numpy(), err_msg=name, **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_embedding_rows_accumulate_over_calls_and_repeats(dtype):
    """Row 1 looked up twice in the first call and once in the second: its gradient is the three
    rows of weights added; row 3 never looked up stays 0."""
    emb = tl.nn.Embedding(4, 2, dtype=dtype)
    (emb(np.array([1, 0, 1])) * Tensor(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype))).sum().backward()
    (emb(np.array([2, 1])) * Tensor(np.array([[0.5, 0.25], [10.0, 20.0]], dtype))).sum().backward()
    want = np.array([[3.0, 4.0], [16.0, 28.0], [0.5, 0.25], [0.0, 0.0]])  # row 1: (1, 2) + (5, 6) + (10, 20)
    assert emb.weight.grad.dtype == dtype
    np.testing.assert_array_equal(emb.weight.grad.numpy(), want)
    torch = _torch_if_installed()
    if torch is None:
        return
    theirs = torch.nn.Embedding(4, 2)
    theirs.weight.data = torch.tensor(emb.weight.numpy())
    (
        theirs(torch.tensor([1, 0, 1])) * torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=theirs.weight.dtype)
    ).sum().backward()
    (
        theirs(torch.tensor([2, 1])) * torch.tensor([[0.5, 0.25], [10.0, 20.0]], dtype=theirs.weight.dtype)
    ).sum().backward()
    np.testing.assert_array_equal(theirs.weight.grad.numpy(), want)


def test_a_compiled_step_accumulates_as_eager():
    """Traced, checked, then replayed: each call's backward adds to w.grad, as eager calls do."""
    xs = [np.random.default_rng(k).standard_normal((2, 3)) for k in range(4)]
    w_eager = Tensor(np.linspace(-1.0, 1.0, 3), requires_grad=True)
    for x in xs:
        (Tensor(x) * w_eager).tanh().sum().backward()
    w = Tensor(np.linspace(-1.0, 1.0, 3), requires_grad=True)
    step = tl.compile(lambda x: (x * w).tanh().sum())
    for x in xs:
        step(Tensor(x)).backward()
    np.testing.assert_array_equal(w.grad.numpy(), w_eager.grad.numpy())
    single = Tensor(np.linspace(-1.0, 1.0, 3), requires_grad=True)
    (Tensor(xs[-1]) * single).tanh().sum().backward()
    assert not np.allclose(w.grad.numpy(), single.grad.numpy())


# ----- one graph, retain_grad, .grad set by hand --------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_a_tensor_used_twice_in_one_graph_gets_both_parts_then_accumulates(dtype):
    """sum(x * x + e^x) + sum(R * (x @ x)): d/dx = 2x + e^x + R x^T + x^T R (x in both operands
    of one matmul, and in three ops); a second backward adds the same again."""
    dtype = np.dtype(dtype)
    data = np.array([[0.5, -1.0], [2.0, 0.25]], dtype)
    r = np.array([[1.0, -2.0], [0.5, 3.0]], dtype)
    x = Tensor(data, requires_grad=True)
    once = 2 * data + np.exp(data) + r @ data.T + data.T @ r
    loss = lambda t, w: (t * t + t.exp()).sum() + (w * (t @ t)).sum()  # noqa: E731
    loss(x, Tensor(r)).backward()
    np.testing.assert_allclose(x.grad.numpy(), once, **TOL[dtype])
    loss(x, Tensor(r)).backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * once, **TOL[dtype])
    torch = _torch_if_installed()
    if torch is None:
        return
    xt = torch.tensor(data, requires_grad=True)
    for _ in range(2):
        loss(xt, torch.tensor(r)).backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), **TOL[dtype])


def _retain_grad_sequence(x, lib):
    """y = 2x kept with retain_grad(); (y*y).sum() then (3y).sum() backward through it."""
    y = x * 2
    y.retain_grad()
    (y * y).sum().backward(retain_graph=True)
    after_one = (np.array(y.grad.numpy()), np.array(x.grad.numpy()))  # (torch adds to .grad in place)
    (y * 3).sum().backward()
    return after_one, (y.grad.numpy(), x.grad.numpy())


def test_retain_grad_tensors_accumulate_as_torch():
    """x = (1, 2), y = 2x = (2, 4). First: dy = 2y = (4, 8), dx = 2 * 2y = (8, 16). Second adds
    dy = 3 and dx = 6: y.grad = (7, 11), x.grad = (14, 22)."""
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (y1, x1), (y2, x2) = _retain_grad_sequence(x, "ours")
    np.testing.assert_array_equal(y1, [4.0, 8.0])
    np.testing.assert_array_equal(x1, [8.0, 16.0])
    np.testing.assert_array_equal(y2, [7.0, 11.0])
    np.testing.assert_array_equal(x2, [14.0, 22.0])
    torch = _torch_if_installed()
    if torch is None:
        return
    theirs = _retain_grad_sequence(torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True), "torch")
    for ours_pair, their_pair in zip(((y1, x1), (y2, x2)), theirs):
        for o, t in zip(ours_pair, their_pair):
            np.testing.assert_array_equal(o, t)


def test_retain_grad_on_two_tensors_of_one_graph_each_accumulate():
    x = Tensor(np.array([1.0, -1.0]), requires_grad=True)
    y = (x * 3).retain_grad()
    z = (y.tanh()).retain_grad()
    for _ in range(2):
        (z * 2).sum().backward(retain_graph=True)
    np.testing.assert_allclose(z.grad.numpy(), [4.0, 4.0])
    np.testing.assert_allclose(y.grad.numpy(), 4 * (1 - np.tanh([3.0, -3.0]) ** 2), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), 12 * (1 - np.tanh([3.0, -3.0]) ** 2), rtol=1e-12)


def test_a_grad_set_by_hand_is_added_to_as_torch():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    x.grad = Tensor(np.array([10.0, 20.0]))
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [12.0, 24.0])
    torch = _torch_if_installed()
    if torch is None:
        return
    xt = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    xt.grad = torch.tensor([10.0, 20.0], dtype=torch.float64)
    (xt * xt).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


# ----- zero_grad: a fresh start, then accumulating again ----------------------------------------


def test_tensor_zero_grad_starts_over_and_accumulates_again():
    x = Tensor(np.array([1.0, -3.0]), requires_grad=True)
    grads = []
    for action in ("backward", "backward", "zero_grad", "backward", "backward", "backward"):
        if action == "zero_grad":
            x.zero_grad()
            assert x.grad is None  # as torch's set_to_none
        else:
            (x * x).sum().backward()  # 2x = (2, -6) each time
            grads.append(x.grad.numpy().tolist())
    assert grads == [[2.0, -6.0], [4.0, -12.0], [2.0, -6.0], [4.0, -12.0], [6.0, -18.0]]


@pytest.mark.parametrize("clear", ["module", "sgd", "adam"])
def test_model_and_optimizer_zero_grad_clear_every_parameter_as_torch(clear):
    """Two batches accumulate; zero_grad() sets every .grad to None (torch's default set_to_none);
    the next batch's gradient is that batch's alone."""
    dtype = np.dtype(np.float64)
    ours, theirs = _lstm_pair(dtype)
    torch = _torch()
    if clear == "module":
        clears = (ours.zero_grad, theirs.zero_grad)
    else:
        kind = {"sgd": "SGD", "adam": "Adam"}[clear]
        clears = (
            getattr(tl.optim, kind)(ours.parameters(), lr=0.1).zero_grad,
            getattr(torch.optim, kind)(theirs.parameters(), lr=0.1).zero_grad,
        )
    b1, b2 = _lstm_batches(dtype)
    for batch, call in ((b1, 1), (b2, 2)):
        _lstm_loss(ours, Tensor(batch), call, dtype, "ours").backward()
        _lstm_loss(theirs, torch.tensor(batch), call, dtype, "torch").backward()
    their_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():  # both batches, added up
        np.testing.assert_allclose(p.grad.numpy(), their_params[name].grad.numpy(), err_msg=name, **TOL[dtype])
    for zero_grad in clears:
        zero_grad()
    assert all(p.grad is None for p in ours.parameters()) and all(p.grad is None for p in theirs.parameters())
    _lstm_loss(ours, Tensor(b2), 2, dtype, "ours").backward()
    _lstm_loss(theirs, torch.tensor(b2), 2, dtype, "torch").backward()
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), their_params[name].grad.numpy(), err_msg=name, **TOL[dtype])
    fresh, _ = _lstm_pair(dtype)
    _lstm_loss(fresh, Tensor(b2), 2, dtype, "ours").backward()
    for (name, p), (_, q) in zip(ours.named_parameters(), fresh.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), err_msg=name, **SAME[dtype])


def test_grad_leaves_dot_grad_alone():
    """grad() returns the gradients and, as torch.autograd.grad, adds nothing to .grad."""
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (g,) = tl.grad((x * x).sum(), [x])
    np.testing.assert_array_equal(g.numpy(), [2.0, 4.0])
    assert x.grad is None
    (x * x).sum().backward()
    tl.grad((x * x * x).sum(), [x])
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


# ----- create_graph: the accumulated .grad keeps its graph ---------------------------------------


def _create_graph_sequence(x, lib, first_graph, second_graph):
    """backward of sum(x^3) then of sum(x^2), each with or without create_graph; then the gradient
    of sum(x.grad) with respect to x."""
    (x**3).sum().backward(create_graph=first_graph)
    (x**2).sum().backward(create_graph=second_graph)
    if lib == "ours":
        has_graph = x.grad.requires_grad and x.grad.grad_fn is not None
        second = tl.grad(x.grad.sum(), [x])[0].numpy() if has_graph else None
        return x.grad.detach().numpy(), has_graph, second
    torch = _torch()
    has_graph = x.grad.requires_grad and x.grad.grad_fn is not None
    second = torch.autograd.grad(x.grad.sum(), [x])[0].numpy() if has_graph else None
    return x.grad.detach().numpy(), has_graph, second


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")  # torch's warning
@pytest.mark.parametrize(
    "first_graph, second_graph, second_derivative",
    [
        (True, True, lambda x: 6 * x + 2),  # .grad = 3x^2 + 2x, both parts with their graph
        (True, False, lambda x: 6 * x),  # only 3x^2 has a graph; 2x is a constant added
        (False, True, lambda x: 2 + 0 * x),  # only 2x has a graph
        (False, False, None),  # no graph at all
    ],
    ids=["graph_graph", "graph_plain", "plain_graph", "plain_plain"],
)
def test_create_graph_gradients_accumulate_with_their_graph(first_graph, second_graph, second_derivative):
    data = np.array([0.5, -2.0, 3.0])
    x = Tensor(data, requires_grad=True)
    grad, has_graph, second = _create_graph_sequence(x, "ours", first_graph, second_graph)
    np.testing.assert_allclose(grad, 3 * data**2 + 2 * data, rtol=1e-12)
    assert has_graph == (first_graph or second_graph)
    if second_derivative is not None:
        np.testing.assert_allclose(second, second_derivative(data), rtol=1e-12)
    torch = _torch_if_installed()
    if torch is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _create_graph_sequence(torch.tensor(data, requires_grad=True), "torch", first_graph, second_graph)
    np.testing.assert_allclose(grad, theirs[0], rtol=1e-12)
    assert has_graph == theirs[1]
    if second_derivative is not None:
        np.testing.assert_allclose(second, theirs[2], rtol=1e-12)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_backward_twice_with_create_graph_accumulates_a_differentiable_grad(dtype):
    """sum(x^3) twice with create_graph: .grad = 3x^2 + 3x^2 = 6x^2, with a graph, so
    d sum(.grad) / dx = 12x; and it is the same as torch's."""
    dtype = np.dtype(dtype)
    data = np.array([1.0, 2.0, -0.5], dtype)
    x = Tensor(data, requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    first = x.grad
    assert first.requires_grad and first.dtype == dtype
    np.testing.assert_allclose(first.numpy(), 3 * data**2, **TOL[dtype])
    (x**3).sum().backward(create_graph=True)
    assert x.grad.requires_grad and x.grad.grad_fn is not None and x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad.numpy(), 6 * data**2, **TOL[dtype])
    np.testing.assert_allclose(first.numpy(), 3 * data**2, **TOL[dtype])  # the first .grad was not changed
    (second,) = tl.grad(x.grad.sum(), [x])
    np.testing.assert_allclose(second.numpy(), 12 * data, **TOL[dtype])
    torch = _torch_if_installed()
    if torch is None:
        return
    xt = torch.tensor(data, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(2):
            (xt**3).sum().backward(create_graph=True)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.detach().numpy(), **TOL[dtype])
    np.testing.assert_allclose(second.numpy(), torch.autograd.grad(xt.grad.sum(), [xt])[0].numpy(), **TOL[dtype])


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_create_graph_through_a_layer_accumulates_into_its_parameters():
    """A Linear layer's weight, through two backward(create_graph=True) calls: .grad is the sum, and
    the sum of its squares (a gradient penalty) differentiates back into the weight."""
    tl.manual_seed(0)
    layer = tl.nn.Linear(3, 2, dtype=np.float64)
    xs = [np.random.default_rng(k).standard_normal((4, 3)) for k in (1, 2)]
    for x in xs:
        layer(Tensor(x)).tanh().sum().backward(create_graph=True)
    w = layer.weight
    assert w.grad.requires_grad
    torch = _torch()
    theirs = torch.nn.Linear(3, 2).double()
    theirs.weight.data, theirs.bias.data = torch.tensor(w.numpy()), torch.tensor(layer.bias.numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for x in xs:
            theirs(torch.tensor(x)).tanh().sum().backward(create_graph=True)
    np.testing.assert_allclose(w.grad.numpy(), theirs.weight.grad.detach().numpy(), rtol=1e-10, atol=1e-12)
    (penalty,) = tl.grad((w.grad * w.grad).sum(), [w])
    (their_penalty,) = torch.autograd.grad((theirs.weight.grad**2).sum(), [theirs.weight])
    np.testing.assert_allclose(penalty.numpy(), their_penalty.numpy(), rtol=1e-10, atol=1e-12)
