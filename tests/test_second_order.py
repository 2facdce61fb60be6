"""Gradients of gradients against PyTorch, in float64.

One helper, `helper_test_hvp`, computes for a function f of some inputs x the gradient
g = d/dx sum(f(x) * w) with create_graph=True, then the Hessian-vector product
d/dx sum(g * v) for random w and v, both with tl.grad and with torch.autograd.grad, and
compares g and the product to 1e-8. It runs over every op, the losses and the recurrent
layers and cells; then a gradient penalty through an LSTMCell, tl.gradgradcheck of every
op against finite differences, and tl.grad's semantics and refusals beside torch's.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tinygrad_lstm as tl  # noqa: E402
from tinygrad_lstm import Tensor  # noqa: E402
from tinygrad_lstm import functional as F  # noqa: E402

TF = torch.nn.functional
TOL = dict(rtol=1e-8, atol=1e-8)


# ----- the helper ------------------------------------------------------------------------


def _outputs(result):
    return list(result) if isinstance(result, (tuple, list)) else [result]


def _weighted_sum(outputs, weights, lib):
    total = 0
    for o, w in zip(outputs, weights):
        total = total + (o * (Tensor(w) if lib == "ours" else torch.tensor(w))).sum()
    return total


def _ours_grad(root, xs, **kwargs):
    """tl.grad, with zeros for an input nothing depends on (or a root without graph)."""
    if not root.requires_grad:
        return [np.zeros(x.shape) for x in xs]
    found = tl.grad(root, xs, allow_unused=True, **kwargs)
    return [np.zeros(x.shape) if g is None else g for g, x in zip(found, xs)]


def _torch_grad(root, xs, **kwargs):
    if not root.requires_grad:
        return [torch.zeros(x.shape, dtype=torch.float64) for x in xs]
    found = torch.autograd.grad(root, xs, allow_unused=True, **kwargs)
    return [torch.zeros(x.shape, dtype=torch.float64) if g is None else g for g, x in zip(found, xs)]


def _check(what, ours, theirs):
    ours = ours.numpy() if isinstance(ours, Tensor) else np.asarray(ours)
    theirs = theirs.detach().numpy(force=True)  # (force: torch may give a ZeroTensor)
    assert ours.shape == theirs.shape, f"{what}: shape ours {ours.shape}, torch {theirs.shape}"
    assert ours.dtype == theirs.dtype == np.float64, f"{what}: dtype ours {ours.dtype}, torch {theirs.dtype}"
    np.testing.assert_allclose(ours, theirs, err_msg=what, equal_nan=False, **TOL)


def helper_test_hvp(inputs, ours, theirs=None, seed=0, params=((), ())):
    """inputs: float arrays, each a leaf that requires grad, handed to ours and theirs; params: (our
    tensors, torch's) that f uses too, a module's parameters, differentiated beside the inputs.
    Compares f's outputs, g = d sum(f * w)/dx and d sum(g * v)/dx with torch's."""
    theirs = ours if theirs is None else theirs
    rng = np.random.default_rng(seed)
    xs = [Tensor(np.array(x, dtype=np.float64), requires_grad=True) for x in inputs]
    xts = [torch.tensor(np.array(x, dtype=np.float64), requires_grad=True) for x in inputs]
    out, out_t = _outputs(ours(*xs)), _outputs(theirs(*xts))
    xs, xts = xs + list(params[0]), xts + list(params[1])
    assert len(out) == len(out_t)
    for k, (o, t) in enumerate(zip(out, out_t)):
        _check(f"output {k}", o, t)
    weights = [rng.standard_normal(t.shape) for t in out_t]
    g = _ours_grad(_weighted_sum(out, weights, "ours"), xs, create_graph=True)
    g_t = _torch_grad(_weighted_sum(out_t, weights, "torch"), xts, create_graph=True)
    for k, (a, b) in enumerate(zip(g, g_t)):
        _check(f"gradient of input {k}", a, b)
    vs = [rng.standard_normal(x.shape) for x in xs]
    recorded = [(a, v) for a, v in zip(g, vs) if isinstance(a, Tensor) and a.requires_grad]
    root = _weighted_sum(*zip(*recorded), "ours") if recorded else Tensor(0.0)  # (no graph: a zero Hessian)
    hvp, hvp_t = _ours_grad(root, xs), _torch_grad(_weighted_sum(g_t, vs, "torch"), xts)
    for k, (a, b) in enumerate(zip(hvp, hvp_t)):
        _check(f"Hessian-vector product, input {k}", a, b)


# ----- every op ----------------------------------------------------------------------------


def _rand(shape, seed=0, low=None):
    x = np.random.default_rng(seed).standard_normal(shape)
    return x if low is None else np.abs(x) + low


def _signed(shape, seed=0, low=0.2):  # away from 0 on both sides (the kinks of abs, relu, ...)
    rng = np.random.default_rng(seed)
    return (np.abs(rng.standard_normal(shape)) + low) * rng.choice([-1.0, 1.0], size=shape)


def _torch_abs(t):
    """|t| as t sign(t), sign a constant: the same values and derivatives as torch's abs (0 at 0), without
    the seconds torch spends, once, loading the code for the derivative of abs's derivative."""
    return t * torch.sign(t).detach()


UNARY = {  # name: (ours, torch or None for the same, input)
    "tanh": (lambda t: t.tanh(), None, _rand((2, 3))),
    "sigmoid": (lambda t: t.sigmoid(), None, _rand((2, 3))),
    "exp": (lambda t: t.exp(), None, _rand((2, 3))),
    "log": (lambda t: t.log(), None, _rand((2, 3), low=0.3)),
    "sqrt": (lambda t: t.sqrt(), None, _rand((2, 3), low=0.3)),
    "abs": (lambda t: t.abs(), lambda t: _torch_abs(t), _signed((2, 3))),
    "abs_builtin": (lambda t: abs(t), lambda t: _torch_abs(t), _signed((2, 3))),
    "relu": (lambda t: t.relu(), None, _signed((2, 3))),
    "leaky_relu": (lambda t: F.leaky_relu(t, 0.2), lambda t: TF.leaky_relu(t, 0.2), _signed((2, 3))),
    "softplus": (lambda t: F.softplus(t), TF.softplus, _rand((2, 3)) * 3),
    "gelu": (lambda t: F.gelu(t), TF.gelu, _rand((2, 3)) * 2),
    "gelu_tanh": (lambda t: F.gelu(t, approximate="tanh"), lambda t: TF.gelu(t, approximate="tanh"), _rand((2, 3)) * 2),
    "sin": (lambda t: t.sin(), None, _rand((2, 3)) * 3),
    "cos": (lambda t: t.cos(), None, _rand((2, 3)) * 3),
    "erf": (lambda t: t.erf(), None, _rand((2, 3))),
    "pow2": (lambda t: t**2, None, _rand((2, 3))),
    "pow3": (lambda t: t**3, None, _rand((2, 3))),
    "pow0": (lambda t: t**0, None, _rand((2, 3))),
    "pow1": (lambda t: t**1, None, _rand((2, 3))),
    "pow-1": (lambda t: t**-1, None, _signed((2, 3))),
    "pow0.5": (lambda t: t**0.5, None, _rand((2, 3), low=0.3)),
    "pow-1.5": (lambda t: t**-1.5, None, _rand((2, 3), low=0.3)),
    "2**x": (lambda t: 2**t, None, _rand((2, 3))),
    "0.5**x": (lambda t: 0.5**t, None, _rand((2, 3))),
    "neg": (lambda t: -t, None, _rand((2, 3))),
    "clamp": (lambda t: t.clamp(-0.5, 0.5) * t, lambda t: t.clamp(-0.5, 0.5) * t, _rand((2, 3), 3)),
    "to_float32_and_back": (
        lambda t: (t.to(np.float32) * 2).to(np.float64) * t,
        lambda t: (t.float() * 2).double() * t,
        _rand((2, 3)),
    ),
    "0d_tanh": (lambda t: t.tanh(), None, _rand(())),
    "empty_exp": (lambda t: t.exp(), None, _rand((0, 3))),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_hvp_unary(name):
    ours, theirs, x = UNARY[name]
    helper_test_hvp([x], ours, theirs)


BINARY = {  # name: (ours, torch or None, shapes)
    "add": (lambda a, b: a + b, None, [(2, 3), (3,)]),
    "sub": (lambda a, b: a - b, None, [(2, 1), (3,)]),
    "mul": (lambda a, b: a * b, None, [(2, 3), (2, 1)]),
    "mul_self": (lambda a, b: a * a * b, None, [(2, 3), ()]),
    "div": (lambda a, b: a / b, None, [(2, 3), (3,)]),
    "div_number": (lambda a, b: 1.5 / a + b / 3, None, [(2, 3), (3,)]),
    "matmul": (lambda a, b: a @ b, None, [(2, 3), (3, 4)]),
    "matmul_vec_vec": (lambda a, b: a @ b, None, [(3,), (3,)]),
    "matmul_vec_mat": (lambda a, b: a @ b, None, [(3,), (3, 4)]),
    "matmul_mat_vec": (lambda a, b: a @ b, None, [(2, 3), (3,)]),
    "matmul_batched": (lambda a, b: a @ b, None, [(2, 2, 3), (2, 3, 4)]),
    "matmul_batched_broadcast": (lambda a, b: a @ b, None, [(2, 1, 2, 3), (3, 3, 2)]),
    "matmul_batched_2d": (lambda a, b: a @ b, None, [(2, 2, 3), (3, 4)]),
    "matmul_vec_batched": (lambda a, b: a @ b, None, [(3,), (2, 3, 4)]),
    "matmul_batched_vec": (lambda a, b: a @ b, None, [(2, 2, 3), (3,)]),
    "matmul_then_square": (lambda a, b: (a @ b) ** 2, None, [(2, 3), (3, 4)]),
    "addmm": (lambda c, a: tl.ops.addmm(c, a, a.T * 2), lambda c, a: torch.addmm(c, a, a.T * 2), [(2, 2), (2, 3)]),
    "maximum": (tl.maximum, torch.maximum, [(2, 3), (3,)]),
    "minimum": (tl.minimum, torch.minimum, [(2, 3), (2, 1)]),
    "maximum_times": (lambda a, b: tl.maximum(a, b) * a * b, lambda a, b: torch.maximum(a, b) * a * b, [(2, 3), (3,)]),
    "where": (
        lambda a, b: tl.where(a > 0, a * b, b * b),
        lambda a, b: torch.where(a > 0, a * b, b * b),
        [(2, 3), (3,)],
    ),
    "where_method": (lambda a, b: (a * a).where(b > 0, b**3), lambda a, b: (a * a).where(b > 0, b**3), [(2, 1), (3,)]),
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_hvp_binary(name):
    ours, theirs, shapes = BINARY[name]
    helper_test_hvp([_rand(s, seed=k + 1) for k, s in enumerate(shapes)], ours, theirs)


def _torch_reduce(name):
    def reduce(t, axis, keepdims):
        dims = tuple(range(t.ndim)) if axis is None else axis
        if name in ("max", "min"):
            return getattr(t, "a" + name)(dim=dims, keepdim=keepdims)
        if name == "logsumexp":
            return t.logsumexp(dim=dims, keepdim=keepdims)
        return getattr(t, name)(dim=axis, keepdim=keepdims)

    return reduce


REDUCTIONS = ["sum", "mean", "max", "min", "logsumexp", "var", "std"]


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("axis, keepdims", [(None, False), (1, False), (-1, True), ((0, 2), False)], ids=str)
def test_hvp_reductions(name, axis, keepdims):
    ours = lambda t: getattr(t, name)(axis=axis, keepdims=keepdims) ** 2  # noqa: E731 (squared: curved)
    theirs = lambda t: _torch_reduce(name)(t, axis, keepdims) ** 2  # noqa: E731
    helper_test_hvp([_rand((2, 3, 4))], ours, theirs)


@pytest.mark.parametrize("name", ["max", "min"])
def test_hvp_max_min_with_ties(name):
    x = np.array([[1.0, 3.0, 3.0], [-2.0, -2.0, 0.5]])
    helper_test_hvp(
        [x], lambda t: getattr(t, name)(axis=1) ** 3 * t.sum(), lambda t: getattr(t, "a" + name)(dim=1) ** 3 * t.sum()
    )


@pytest.mark.parametrize("correction", [0, 1, 2])
def test_hvp_var_std_correction(correction):
    helper_test_hvp(
        [_rand((3, 4))],
        lambda t: t.var(1, correction=correction) * t.std(0, correction=correction).sum(),
        lambda t: t.var(1, correction=correction) * t.std(0, correction=correction).sum(),
    )


SHAPES = {  # name: (ours, torch or None, input shape)
    "reshape": (lambda t: t.reshape(4, 3) ** 2, None, (2, 6)),
    "transpose": (lambda t: t.transpose() @ t, lambda t: t.T @ t, (2, 3)),
    "transpose_axes": (lambda t: t.transpose(2, 0, 1) ** 3, lambda t: t.permute(2, 0, 1) ** 3, (2, 3, 4)),
    "T": (lambda t: (t.T * t.T).exp(), lambda t: (t.T * t.T).exp(), (2, 3)),
    "permute": (lambda t: t.permute(1, 2, 0).tanh(), None, (2, 3, 4)),
    "getitem_slice": (lambda t: t[1:, ::2] ** 3, None, (3, 4)),
    "getitem_int": (lambda t: t[1] * t[0], None, (3, 4)),
    "getitem_advanced_repeats": (lambda t: t[[0, 2, 0, 0]] ** 3, lambda t: t[[0, 2, 0, 0]] ** 3, (3, 4)),
    "getitem_paired_arrays": (lambda t: t[[0, 1, 1], [2, 0, 2]] ** 3, lambda t: t[[0, 1, 1], [2, 0, 2]] ** 3, (3, 4)),
    "getitem_bool": (
        lambda t: t[np.array([True, False, True])].sin(),
        lambda t: t[torch.tensor([True, False, True])].sin(),
        (3, 4),
    ),
    "concat": (lambda t: tl.concat([t, t * t, t], 1) ** 2, lambda t: torch.cat([t, t * t, t], 1) ** 2, (2, 3)),
    "concat_dim": (lambda t: tl.concat([t.exp(), t], dim=0) ** 2, lambda t: torch.cat([t.exp(), t], 0) ** 2, (2, 3)),
    "stack": (lambda t: tl.stack([t, t.sin()], 1) ** 2, lambda t: torch.stack([t, t.sin()], 1) ** 2, (2, 3)),
    "stack_dim": (lambda t: tl.stack([t, t * t], dim=-1) ** 2, lambda t: torch.stack([t, t * t], -1) ** 2, (2, 3)),
    "split": (lambda t: [p**3 for p in t.split(2, 1)], lambda t: [p**3 for p in t.split(2, 1)], (2, 5)),
    "split_unused": (lambda t: t.split([1, 3, 1], 1)[1] ** 3, lambda t: t.split([1, 3, 1], 1)[1] ** 3, (2, 5)),
    "split_dim": (
        lambda t: t.split(1, dim=0)[0] * t.split(1, dim=0)[1],
        lambda t: t.split(1, dim=0)[0] * t.split(1, dim=0)[1],
        (2, 5),
    ),
    "unbind": (lambda t: [r**3 for r in t.unbind(1)], lambda t: [r**3 for r in t.unbind(1)], (2, 3)),
    "unbind_unused": (lambda t: t.unbind(0)[0] * t.unbind(0)[2], lambda t: t.unbind(0)[0] * t.unbind(0)[2], (3, 2)),
    "iterate": (lambda t: [r * r for r in t], lambda t: [r * r for r in t], (3, 2)),
    "squeeze": (lambda t: t.squeeze() ** 3, None, (2, 1, 3)),
    "squeeze_axis": (lambda t: t.squeeze(1) ** 3, lambda t: t.squeeze(1) ** 3, (2, 1, 3)),
    "unsqueeze": (lambda t: t.unsqueeze(-1) * t.unsqueeze(0), lambda t: t.unsqueeze(-1) * t.unsqueeze(0), (3,)),
    "expand": (lambda t: t.expand(2, 3, 4) ** 3, lambda t: t.expand(2, 3, 4) ** 3, (3, 1)),
    "expand_minus_one": (lambda t: t.expand(2, -1, 4) ** 3, lambda t: t.expand(2, -1, 4) ** 3, (3, 1)),
    "broadcast_to": (lambda t: t.broadcast_to((2, 3)) ** 3, lambda t: t.broadcast_to((2, 3)) ** 3, (3,)),
    "flatten": (lambda t: t.flatten(1) ** 3, lambda t: t.flatten(1) ** 3, (2, 3, 2)),
    "flatten_all": (lambda t: t.flatten().exp(), lambda t: t.flatten().exp(), (2, 3)),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_hvp_shape_ops(name):
    ours, theirs, shape = SHAPES[name]
    helper_test_hvp([_rand(shape)], ours, theirs)


LABELS = np.array([2, 0, 1])
BITS = np.array([[1.0, 0.0, 1.0, 0.0]] * 3)

LOSSES = {  # name: (ours, torch, shapes of the inputs)
    "mse_loss": (F.mse_loss, TF.mse_loss, [(3, 4), (3, 4)]),
    "bce_with_logits": (
        lambda x: F.binary_cross_entropy_with_logits(x, BITS),
        lambda x: TF.binary_cross_entropy_with_logits(x, torch.tensor(BITS)),
        [(3, 4)],
    ),
    "bce_with_logits_soft_target": (
        F.binary_cross_entropy_with_logits,
        TF.binary_cross_entropy_with_logits,
        [(3, 4), (3, 4)],
    ),
    "cross_entropy": (
        lambda x: F.cross_entropy(x, LABELS),
        lambda x: TF.cross_entropy(x, torch.tensor(LABELS)),
        [(3, 4)],
    ),
    "softmax": (lambda x: F.softmax(x, 1), lambda x: torch.softmax(x, 1), [(3, 4)]),
    "softmax_dim0": (lambda x: F.softmax(x, dim=0), lambda x: torch.softmax(x, 0), [(3, 4)]),
    "log_softmax": (lambda x: F.log_softmax(x, -1), lambda x: torch.log_softmax(x, -1), [(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_hvp_losses(name):
    ours, theirs, shapes = LOSSES[name]
    helper_test_hvp([_rand(s, seed=k + 3) * 2 for k, s in enumerate(shapes)], ours, theirs)


# ----- recurrent layers and cells ----------------------------------------------------------


def _pair(kind, seed=0, **kwargs):
    torch.manual_seed(seed)
    theirs = getattr(torch.nn, kind)(3, 4, **kwargs).double()
    ours = getattr(tl.nn, kind)(3, 4, dtype=np.float64, **kwargs)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _params(ours, theirs):
    return list(ours.parameters()), list(theirs.parameters())


@pytest.mark.parametrize(
    "kind, kwargs",
    [
        ("RNN", {}),
        ("LSTM", {}),
        ("GRU", {}),
        ("LSTM", dict(num_layers=2)),
        ("RNN", dict(nonlinearity="relu", batch_first=True)),
    ],
    ids=str,
)
def test_hvp_recurrent_layers(kind, kwargs):
    ours, theirs = _pair(kind, **kwargs)
    x = _rand((4, 2, 3), seed=5)

    def outputs(run):
        def f(x):
            out, final = run(x)
            return [out] + (list(final) if isinstance(final, tuple) else [final])

        return f

    helper_test_hvp([x], outputs(ours), outputs(theirs), params=_params(ours, theirs))


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_hvp_cells_through_input_and_state(kind):
    ours, theirs = _pair(kind, seed=1)
    x, h, c = _rand((2, 3), seed=6), _rand((2, 4), seed=7), _rand((2, 4), seed=8)
    params = _params(ours, theirs)
    if kind == "LSTMCell":
        helper_test_hvp(
            [x, h, c], lambda x, h, c: list(ours(x, (h, c))), lambda x, h, c: list(theirs(x, (h, c))), params=params
        )
    else:
        helper_test_hvp([x, h], lambda x, h: ours(x, h), lambda x, h: theirs(x, h), params=params)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_hvp_cells_without_state_and_unbatched(kind):
    ours, theirs = _pair(kind, seed=2)
    helper_test_hvp(
        [_rand((2, 3), seed=9)],
        lambda x: _outputs(ours(x)),
        lambda x: _outputs(theirs(x)),
        params=_params(ours, theirs),
    )
    helper_test_hvp(
        [_rand((3,), seed=10)], lambda x: _outputs(ours(x)), lambda x: _outputs(theirs(x)), params=_params(ours, theirs)
    )


# ----- at kinks and ties: the second derivative of a piecewise op is 0, its first as torch's --

KINKS = np.array([[0.0, -0.0, 1.0], [-1.0, 0.5, -0.5]])


@pytest.mark.parametrize(
    "name, ours, theirs",
    [
        ("abs", lambda t: t.abs() * t, lambda t: _torch_abs(t) * t),
        ("relu", lambda t: t.relu() * t, None),
        ("leaky_relu", lambda t: F.leaky_relu(t, 0.1) * t, lambda t: TF.leaky_relu(t, 0.1) * t),
        ("clamp", lambda t: t.clamp(-0.5, 0.5) * t, None),
        ("maximum_tie", lambda t: tl.maximum(t, t.abs()) * t, lambda t: torch.maximum(t, _torch_abs(t)) * t),
        ("minimum_tie", lambda t: tl.minimum(t * t, t.abs()) * t, lambda t: torch.minimum(t * t, _torch_abs(t)) * t),
        ("max_tie", lambda t: t.abs().max(axis=1) ** 2, lambda t: _torch_abs(t).amax(dim=1) ** 2),
        ("where", lambda t: tl.where(t > 0, t * t, t**3), lambda t: torch.where(t > 0, t * t, t**3)),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_hvp_at_kinks(name, ours, theirs):
    helper_test_hvp([KINKS], ours, theirs)


# ----- a gradient penalty through an LSTMCell ------------------------------------------------


@pytest.mark.parametrize("via", ["grad", "backward"])
def test_gradient_penalty_through_an_lstm_cell(via):
    """loss = sum(h + c) + ||d sum(h + c)/dx||^2, backpropagated to the cell's parameters (and x)."""
    ours, theirs = _pair("LSTMCell", seed=3)
    rng = np.random.default_rng(11)
    x_np, h_np, c_np = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    x, xt = Tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    h, c = ours(x, (Tensor(h_np), Tensor(c_np)))
    ht, ct = theirs(xt, (torch.tensor(h_np), torch.tensor(c_np)))
    out, out_t = (h + c).sum(), (ht + ct).sum()
    (dx,) = tl.grad(out, [x], create_graph=True)
    (dxt,) = torch.autograd.grad(out_t, [xt], create_graph=True)
    _check("d out/dx", dx, dxt)
    loss, loss_t = out + (dx * dx).sum(), out_t + (dxt * dxt).sum()
    _check("loss", loss, loss_t)
    loss_t.backward()
    if via == "grad":
        found = tl.grad(loss, [x] + list(ours.parameters()))
        assert x.grad is None and all(p.grad is None for p in ours.parameters())
    else:
        loss.backward()
        found = [x.grad] + [p.grad for p in ours.parameters()]
    _check("x", found[0], xt.grad)
    for (name, _), g, pt in zip(ours.named_parameters(), found[1:], theirs.parameters()):
        _check(name, g, pt.grad)
        assert not g.requires_grad


# ----- gradgradcheck: second derivatives against finite differences of the first ------------

GRADGRAD = {
    f"unary_{k}": (v[0], [v[2]]) for k, v in UNARY.items() if k not in ("empty_exp", "to_float32_and_back")
}  # (finite differences through float32: too coarse)
GRADGRAD.update({f"binary_{k}": (v[0], [_rand(s, seed=n + 1) for n, s in enumerate(v[2])]) for k, v in BINARY.items()})
GRADGRAD.update({f"shape_{k}": (v[0], [_rand(v[2])]) for k, v in SHAPES.items()})
GRADGRAD.update({f"loss_{k}": (v[0], [_rand(s, seed=n + 3) for n, s in enumerate(v[2])]) for k, v in LOSSES.items()})
GRADGRAD.update(
    {
        f"reduce_{name}": ((lambda op: lambda t: getattr(t, op)(axis=1) ** 2)(name), [_rand((2, 3, 2))])
        for name in REDUCTIONS
    }
)
GRADGRAD["reduce_var_correction_0"] = (lambda t: t.var(0, correction=0) * t, [_rand((3, 2))])


@pytest.mark.parametrize("name", sorted(GRADGRAD))
def test_gradgradcheck(name):
    fn, inputs = GRADGRAD[name]
    assert tl.gradgradcheck(lambda *ts: _one_tensor(fn(*ts)), [Tensor(x, requires_grad=True) for x in inputs])


def _one_tensor(result):  # several outputs (split, unbind) as one flat tensor, for gradgradcheck
    outputs = _outputs(result)
    return outputs[0] if len(outputs) == 1 else tl.concat([o.reshape(-1) for o in outputs])


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU"])
def test_gradgradcheck_recurrent(kind):
    module = getattr(tl.nn, kind)(2, 2, dtype=np.float64)
    x = Tensor(_rand((3, 1, 2) if kind in ("RNN", "LSTM", "GRU") else (1, 2), seed=12), requires_grad=True)
    params = list(module.parameters())
    # (the parameters are the module's own tensors: changing their data, as gradcheck does, changes the module)
    assert tl.gradgradcheck(
        lambda x, *_: _one_tensor(module(x)[0] if kind in ("RNN", "LSTM", "GRU") else module(x)), [x] + params
    )


# ----- tl.grad's semantics, beside torch.autograd.grad's --------------------------------------


def _leaf(values, lib):
    data = np.array(values, dtype=np.float64)
    return Tensor(data, requires_grad=True) if lib == "ours" else torch.tensor(data, requires_grad=True)


def _grad(lib):
    return tl.grad if lib == "ours" else torch.autograd.grad


def test_grad_leaves_every_grad_untouched():
    x, y = _leaf([1.0, 2.0], "ours"), _leaf([3.0, -1.0], "ours")
    y.grad = Tensor(np.array([7.0, 7.0]))
    z = (x * y).sum()
    gx, gy = tl.grad(z, [x, y], retain_graph=True)
    np.testing.assert_array_equal(gx.numpy(), [3.0, -1.0])
    np.testing.assert_array_equal(gy.numpy(), [1.0, 2.0])
    (g,) = tl.grad(z, [x], create_graph=True)
    assert x.grad is None and y.grad.numpy().tolist() == [7.0, 7.0]
    assert not gx.requires_grad and g.requires_grad
    g.sum().backward()  # and the graph of the gradient is there to use: d sum(y)/dy = 1
    assert x.grad is None and y.grad.numpy().tolist() == [8.0, 8.0]


@pytest.mark.parametrize("lib", ["ours", "torch"])
def test_allow_unused_gives_none_and_an_unused_input_is_an_error(lib):
    x, unused = _leaf([1.0, 2.0], lib), _leaf([3.0], lib)
    gx, gu = _grad(lib)((x * x).sum(), [x, unused], allow_unused=True, retain_graph=True)
    assert gu is None
    np.testing.assert_array_equal(np.asarray(gx.detach()), [2.0, 4.0])
    with pytest.raises(RuntimeError, match="allow_unused"):
        _grad(lib)((x * x).sum(), [x, unused])


@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
@pytest.mark.parametrize("lib", ["ours", "torch"])
def test_grad_with_respect_to_non_leaf_tensors(lib):
    x = _leaf([1.0, -2.0, 3.0], lib)
    y = x * 2
    z = (y**3).sum() + (x * y).sum()
    gy, gx = _grad(lib)(z, [y, x], create_graph=True)
    np.testing.assert_allclose(np.asarray(gy.detach()), 3 * (2 * np.array([1.0, -2.0, 3.0])) ** 2 + [1.0, -2.0, 3.0])
    # z = 8 sum x^3 + 2 sum x^2: dz/dx = 24 x^2 + 4 x; and d(sum dz/dy)/dx = d sum(12 x^2 + x)/dx = 24 x + 1
    np.testing.assert_allclose(np.asarray(gx.detach()), [28.0, 88.0, 228.0])
    (h,) = _grad(lib)(gy.sum(), [x])
    np.testing.assert_allclose(np.asarray(h), [25.0, -47.0, 73.0])
    assert y.grad is None


@pytest.mark.parametrize("lib", ["ours", "torch"])
def test_several_outputs_add_up_weighted_by_their_grad_outputs(lib):
    x = _leaf([[1.0, 2.0], [3.0, 4.0]], lib)
    a, b, c = x * x, x.sum(), (x * 3).sum()
    weights = [np.array([[1.0, 0.0], [2.0, -1.0]]), np.array(0.5), None]
    wrap = (
        (lambda w: None if w is None else Tensor(w))
        if lib == "ours"
        else (lambda w: None if w is None else torch.tensor(w))
    )
    (g,) = _grad(lib)([a, b, c], [x], [wrap(w) for w in weights])
    np.testing.assert_allclose(np.asarray(g), 2 * np.array([[1.0, 2.0], [3.0, 4.0]]) * weights[0] + 0.5 + 3.0)


@pytest.mark.parametrize("lib", ["ours", "torch"])
def test_a_non_scalar_output_needs_grad_outputs(lib):
    x = _leaf([1.0, 2.0], lib)
    with pytest.raises(RuntimeError, match="scalar"):
        _grad(lib)(x * 2, [x])
    with pytest.raises(RuntimeError, match="scalar"):
        _grad(lib)([(x * 2).sum(), x * 2], [x], [None, None])


@pytest.mark.parametrize("lib", ["ours", "torch"])
def test_retain_graph_defaults_to_create_graph(lib):
    x = _leaf([0.5, -1.5], lib)
    y = (x.tanh() * x).sum()
    first = _grad(lib)(y, [x], create_graph=True)[0]
    again = _grad(lib)(y, [x])[0]  # the graph was kept by create_graph=True ...
    np.testing.assert_allclose(np.asarray(first.detach()), np.asarray(again))
    with pytest.raises(RuntimeError, match="(?i)retain_graph=True"):  # ... and freed by the plain call
        _grad(lib)(y, [x])
    z = (x.exp() * x).sum()
    _grad(lib)(z, [x])
    with pytest.raises(RuntimeError, match="(?i)retain_graph=True"):
        _grad(lib)(z, [x])
    w = (x.sin() * x).sum()
    _grad(lib)(w, [x], retain_graph=True)
    _grad(lib)(w, [x], create_graph=False)  # kept once by retain_graph=True: one more pass works


CREATE_GRAPH_WARNING = pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")


@CREATE_GRAPH_WARNING
@pytest.mark.parametrize("lib", ["ours", "torch"])
def test_backward_with_create_graph_leaves_a_grad_with_a_graph(lib):
    x = _leaf([1.0, -2.0], lib)
    (x**3).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    np.testing.assert_allclose(np.asarray(g.detach()), [3.0, 12.0])
    x.grad = None
    (g * g).sum().backward()  # sum 9 x^4 -> 36 x^3
    np.testing.assert_allclose(np.asarray(x.grad), [36.0, -288.0])
    assert not x.grad.requires_grad


@CREATE_GRAPH_WARNING
@pytest.mark.parametrize("lib", ["ours", "torch"])
def test_backward_with_create_graph_accumulates_into_a_grad_with_a_graph(lib):
    x = _leaf([1.0, 2.0], lib)
    (x**2).sum().backward(create_graph=True)
    (x**3).sum().backward(create_graph=True)  # x.grad = 2x + 3x^2, with a graph
    g = x.grad
    np.testing.assert_allclose(np.asarray(g.detach()), [5.0, 16.0])
    (h,) = _grad(lib)(g.sum(), [x])  # d(2x + 3x^2)/dx = 2 + 6x
    np.testing.assert_allclose(np.asarray(h), [8.0, 14.0])


@pytest.mark.parametrize("lib", ["ours", "torch"])
def test_inputs_that_do_not_require_grad_are_refused(lib):
    x, c = _leaf([1.0], lib), (Tensor(np.array([2.0])) if lib == "ours" else torch.tensor([2.0], dtype=torch.float64))
    with pytest.raises(RuntimeError, match="(?i)does not require grad"):
        _grad(lib)((x * c).sum(), [c])
    with pytest.raises(RuntimeError, match="(?i)does not require grad"):
        _grad(lib)((c * 2).sum(), [x])  # an output without graph


@pytest.mark.parametrize("lib", ["ours", "torch"])
def test_grad_of_a_grad_that_does_not_depend_on_the_input(lib):
    x, y = _leaf([1.0, 2.0], lib), _leaf([3.0, 4.0], lib)
    gx, gy = _grad(lib)((x * y).sum(), [x, y], create_graph=True)  # gx = y: it does not depend on x
    hx, hy = _grad(lib)(gx.sum(), [x, y], allow_unused=True, retain_graph=True)
    assert hx is None
    np.testing.assert_array_equal(np.asarray(hy), [1.0, 1.0])
    with pytest.raises(RuntimeError, match="allow_unused"):
        _grad(lib)(gx.sum(), [x])
    (g,) = _grad(lib)((x * 3).sum(), [x], create_graph=True)  # linear: a constant gradient, without graph
    np.testing.assert_array_equal(np.asarray(g.detach()), [3.0, 3.0])
    assert not g.requires_grad


@pytest.mark.parametrize("lib", ["ours", "torch"])
def test_an_output_among_the_inputs_and_an_input_twice(lib):
    x = _leaf([1.0, 2.0], lib)
    y = x * x
    gy, gx, gx2 = _grad(lib)(y.sum(), [y, x, x])
    np.testing.assert_array_equal(np.asarray(gy), [1.0, 1.0])
    np.testing.assert_array_equal(np.asarray(gx), [2.0, 4.0])
    np.testing.assert_array_equal(np.asarray(gx2), [2.0, 4.0])


@pytest.mark.parametrize(
    "make", [lambda x, c: x + c, lambda x, c: x, lambda x, c: tl.ops.addmm(x, c, c)], ids=["add", "identity", "addmm"]
)
def test_a_gradient_that_is_grad_outputs_itself_keeps_its_graph(make):
    """torch: g = d(x + c)/dx weighted by v is v itself, so d sum(g)/dv = 1."""
    x, v = Tensor(np.ones((2, 2)), requires_grad=True), Tensor(np.full((2, 2), 2.0), requires_grad=True)
    (g,) = tl.grad(make(x, Tensor(np.eye(2))), [x], v, create_graph=True)
    (h,) = tl.grad(g.sum(), [v])
    np.testing.assert_array_equal(h.numpy(), np.ones((2, 2)))


# ----- refusals: what was given, and what was expected ------------------------------------------


@pytest.mark.parametrize("bad", [np.array(1.0), 3.0, [], [1.0], "y", None], ids=repr)
@pytest.mark.parametrize("what", ["outputs", "inputs"])
def test_bad_outputs_and_inputs_are_type_errors(what, bad):
    x = _leaf([1.0, 2.0], "ours")
    y = (x * x).sum()
    with pytest.raises(TypeError):
        tl.grad(bad, [x]) if what == "outputs" else tl.grad(y, bad)
    for mixed in ([y, bad], [x.numpy()]) if what == "outputs" else ([x, bad], [x.numpy()]):
        with pytest.raises(TypeError, match=what):
            tl.grad(mixed, [x]) if what == "outputs" else tl.grad(y, mixed)


@pytest.mark.parametrize("bad", [np.array(1.0), 3.0, None], ids=repr)
@pytest.mark.parametrize("what", ["outputs", "inputs"])
def test_bad_outputs_and_inputs_are_named_in_the_message(what, bad):
    x = _leaf([1.0, 2.0], "ours")
    with pytest.raises(TypeError, match=f"grad\\(\\): {what}"):
        tl.grad(bad, [x]) if what == "outputs" else tl.grad((x * x).sum(), bad)


@pytest.mark.parametrize("bad", [2.0, "ab"], ids=repr)
def test_grad_outputs_of_a_wrong_type_are_named_in_the_message(bad):
    x = _leaf([1.0, 2.0], "ours")
    with pytest.raises(TypeError, match="grad_outputs"):
        tl.grad(x * x, [x], bad)


def test_bad_grad_outputs():
    x = _leaf([1.0, 2.0], "ours")
    y, z = x * x, x * 3
    with pytest.raises((ValueError, RuntimeError), match="for 2 outputs"):
        tl.grad([y, z], [x], [np.ones(2)], retain_graph=True)
    with pytest.raises((ValueError, RuntimeError), match="2 grad_outputs for 1 outputs"):
        tl.grad(y, [x], [np.ones(2), np.ones(2)], retain_graph=True)
    with pytest.raises(ValueError, match=r"shape \(3,\).*shape \(2,\)"):
        tl.grad(y, [x], np.ones(3), retain_graph=True)
    with pytest.raises(ValueError, match=r"shape \(2, 1\)"):
        tl.grad(y, [x], Tensor(np.ones((2, 1))), retain_graph=True, create_graph=True)
    with pytest.raises(ValueError, match=r"shape \(\)"):
        tl.grad(y, [x], [2.0], retain_graph=True)
    with pytest.raises(TypeError, match="numbers"):
        tl.grad(y, [x], np.array(["a", "b"]), retain_graph=True)
    with pytest.raises(RuntimeError, match="scalar"):
        tl.grad(y, [x], [None], retain_graph=True)
    (g,) = tl.grad(y, [x], [np.array([1.0, -1.0])])  # an array, in a list, is fine
    np.testing.assert_array_equal(g.numpy(), [2.0, -4.0])
