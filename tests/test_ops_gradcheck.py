"""Every op against central finite differences in float64, over random shapes (hypothesis),
broadcasting included, and its forward value against plain numpy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import tinygrad_lstm as tl
from tinygrad_lstm import Tensor

# (derandomize, deadline: the suite's profile, tests/conftest.py: the same examples on every run)
OPS = settings(max_examples=25)

small_shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=4)
seeds = st.integers(0, 2**31 - 1)


def leaf(rng, shape, low=None):
    data = rng.standard_normal(shape)
    if low is not None:  # keep away from a singular point (log, div, pow)
        data = np.abs(data) + low
    return Tensor(data, requires_grad=True)


BINARY = {
    "add": (lambda a, b: a + b, np.add, None),
    "sub": (lambda a, b: a - b, np.subtract, None),
    "mul": (lambda a, b: a * b, np.multiply, None),
    "div": (lambda a, b: a / b, np.divide, 0.5),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@OPS
@given(shapes=pairs, seed=seeds)
def test_binary_ops_broadcast(name, shapes, seed):
    op, reference, low = BINARY[name]
    rng = np.random.default_rng(seed)
    a, b = leaf(rng, shapes.input_shapes[0]), leaf(rng, shapes.input_shapes[1], low)
    np.testing.assert_allclose(op(a, b).numpy(), reference(a.numpy(), b.numpy()))
    assert op(a, b).shape == shapes.result_shape
    assert tl.gradcheck(op, [a, b])


UNARY = {
    "neg": (lambda a: -a, np.negative, None),
    "exp": (lambda a: a.exp(), np.exp, None),
    "log": (lambda a: a.log(), np.log, 0.3),
    "sigmoid": (lambda a: a.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), None),
    "tanh": (lambda a: a.tanh(), np.tanh, None),
    "relu": (lambda a: a.relu(), lambda x: np.maximum(x, 0), 0.1),  # away from the kink at 0
    "pow3": (lambda a: a**3, lambda x: x**3, None),
    "pow-1.5": (lambda a: a**-1.5, lambda x: x**-1.5, 0.5),
    "sqrt": (lambda a: a.sqrt(), np.sqrt, 0.3),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@OPS
@given(shape=small_shapes, seed=seeds)
def test_unary_ops(name, shape, seed):
    op, reference, low = UNARY[name]
    rng = np.random.default_rng(seed)
    a = leaf(rng, shape, low)
    if name == "relu":  # both sides of the kink, none near it
        a.data *= rng.choice([-1.0, 1.0], size=shape)
    np.testing.assert_allclose(op(a).numpy(), reference(a.numpy()), rtol=1e-12)
    assert tl.gradcheck(op, [a])


@pytest.mark.parametrize(
    "reflected",
    [lambda t: 3 * t, lambda t: 1 / t, lambda t: 2 - t, lambda t: 1.5 + t, lambda t: 2.0**t, lambda t: np.ones(3) @ t],
)
def test_reflected_operators(reflected):
    t = Tensor(np.random.default_rng(0).random((3, 3)) + 0.5, requires_grad=True)
    assert tl.gradcheck(reflected, [t])


def test_scalar_constants_keep_float32():
    t = Tensor([1.0, 2.0])
    for result in (t * 3, 3 * t, t / 2.5, 1 - t, t**2, np.float64(2.0) * t):
        assert result.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_sigmoid_and_tanh_keep_the_dtype(dtype):
    x = Tensor(np.linspace(-30, 30, 7).astype(dtype), requires_grad=True)
    y = x.sigmoid() * x.tanh()
    y.sum().backward()
    assert y.dtype == dtype and x.grad.dtype == dtype
    exact = 1 / (1 + np.exp(-x.numpy().astype(np.float64)))
    tolerance = 1e-3 if dtype == np.float16 else 1e-6  # float16 resolves 1/2048 near 1
    np.testing.assert_allclose(x.sigmoid().numpy(), exact, rtol=tolerance, atol=tolerance)


matmul_shapes = st.sampled_from(
    [
        ((3, 4), (4, 5)),
        ((1, 4), (4, 1)),
        ((2, 3, 4), (4, 5)),
        ((3, 4), (2, 4, 5)),
        ((2, 1, 3, 4), (5, 4, 2)),
        ((4,), (4, 5)),
        ((3, 4), (4,)),
        ((4,), (4,)),
        ((2, 3, 4), (4,)),
    ]
)


@OPS
@given(shapes=matmul_shapes, seed=seeds)
def test_matmul(shapes, seed):
    rng = np.random.default_rng(seed)
    a, b = leaf(rng, shapes[0]), leaf(rng, shapes[1])
    np.testing.assert_allclose((a @ b).numpy(), a.numpy() @ b.numpy())
    assert tl.gradcheck(lambda a, b: a @ b, [a, b])


@OPS
@given(shapes=matmul_shapes, seed=seeds, c_kind=st.sampled_from(["same", "row", "scalar", "bigger"]))
def test_addmm(shapes, seed, c_kind):
    rng = np.random.default_rng(seed)
    a, b = leaf(rng, shapes[0]), leaf(rng, shapes[1])
    product_shape = np.matmul(a.numpy(), b.numpy()).shape
    c_shape = {"same": product_shape, "row": product_shape[-1:], "scalar": (), "bigger": (2,) + product_shape}[
        c_kind
    ]  # c broadcasts to a @ b, or a @ b to c
    c = leaf(rng, c_shape)
    np.testing.assert_allclose(tl.ops.addmm(c, a, b).numpy(), c.numpy() + a.numpy() @ b.numpy())
    assert tl.gradcheck(tl.ops.addmm, [c, a, b])


def test_addmm_names_the_shapes_that_do_not_fit():
    with pytest.raises(tl.ShapeError, match=r"\(2, 5\)"):
        tl.ops.addmm(Tensor(np.ones((2, 5))), Tensor(np.ones((3, 4))), Tensor(np.ones((4, 5))))


def axis_for(shape):
    ndim = len(shape)
    if ndim == 0:
        return st.just(None)
    single = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)
    return st.one_of(st.none(), single, several)


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@OPS
@given(data=st.data(), shape=small_shapes, keepdims=st.booleans(), seed=seeds)
def test_reductions(name, data, shape, keepdims, seed):
    axis = data.draw(axis_for(shape))
    rng = np.random.default_rng(seed)
    a = leaf(rng, shape)
    op = lambda a: getattr(a, name)(axis=axis, keepdims=keepdims)
    reference = getattr(np, {"sum": "sum", "mean": "mean", "max": "max"}[name])
    np.testing.assert_allclose(op(a).numpy(), reference(a.numpy(), axis=axis, keepdims=keepdims))
    assert tl.gradcheck(op, [a])


def test_max_ties_share_the_gradient():
    a = Tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]), requires_grad=True)
    a.max(axis=1).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[0, 0.5, 0.5], [1, 0, 0]])


@OPS
@given(seed=seeds)
def test_shape_ops(seed):
    rng = np.random.default_rng(seed)
    a = leaf(rng, (2, 3, 4))
    assert tl.gradcheck(lambda a: a.reshape(4, 6) * np.arange(24.0).reshape(4, 6), [a])
    assert tl.gradcheck(lambda a: a.reshape((-1,)), [a])
    assert tl.gradcheck(lambda a: a.transpose(2, 0, 1) * np.arange(24.0).reshape(4, 2, 3), [a])
    assert tl.gradcheck(lambda a: a.transpose(), [a])
    m = leaf(rng, (3, 5))
    assert m.T.shape == (5, 3)
    assert tl.gradcheck(lambda m: m.T, [m])


INDEXES = [
    (slice(None), slice(0, 3)),  # z[:, 0:3]
    1,  # z[1]
    (Ellipsis, -1),  # z[..., -1]
    (slice(None, None, -2), 2),  # reversed, strided
    np.array([0, 2, 0, 0]),  # repeated integer rows: gradients add up
    ([0, 1, 1], [4, 0, 4]),  # paired integer arrays, repeats
    None,  # a new axis
]


@pytest.mark.parametrize("index", INDEXES, ids=str)
def test_getitem(index):
    a = leaf(np.random.default_rng(1), (3, 5))
    np.testing.assert_array_equal(a[index].numpy(), a.numpy()[index])
    assert tl.gradcheck(lambda a: a[index], [a])


def test_getitem_boolean_mask_and_repeats_accumulate():
    a = Tensor(np.arange(4.0), requires_grad=True)
    a[np.array([True, False, True, False])].sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1, 0, 1, 0])
    a.grad = None
    a[[3, 3, 3]].sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0, 0, 0, 3])


@OPS
@given(seed=seeds, axis=st.integers(-2, 1))
def test_concat_stack_split_unbind(seed, axis):
    rng = np.random.default_rng(seed)
    a, b, c = leaf(rng, (2, 3)), leaf(rng, (2, 3)), leaf(rng, (2, 3))
    np.testing.assert_array_equal(tl.concat([a, b], axis).numpy(), np.concatenate([a.numpy(), b.numpy()], axis))
    np.testing.assert_array_equal(tl.stack([a, b, c], axis).numpy(), np.stack([a.numpy(), b.numpy(), c.numpy()], axis))
    assert tl.gradcheck(lambda a, b: tl.concat([a, b, a], axis) ** 2, [a, b])
    assert tl.gradcheck(lambda a, b, c: tl.stack([a, b, c], axis) ** 2, [a, b, c])
    weights = np.arange(1.0, 5.0)
    assert tl.gradcheck(lambda a: sum(p.sum() * w for p, w in zip(a.split(2, axis), weights)), [a])
    assert tl.gradcheck(lambda a: a.split([1, 1, 1], axis=1)[2] * 3, [a])  # unused pieces get zeros
    assert tl.gradcheck(lambda a: a.unbind(axis)[0] * a.unbind(axis)[-1], [a])


def test_split_sizes_like_torch():
    pieces = Tensor(np.arange(10.0)).split(4)
    assert [p.shape for p in pieces] == [(4,), (4,), (2,)]
    pieces = Tensor(np.arange(10.0)).split([3, 7])
    assert [p.shape for p in pieces] == [(3,), (7,)]


def test_ops_match_torch_gradients():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x_np, w_np = rng.standard_normal((4, 3)), rng.standard_normal((3, 5))
    x, w = Tensor(x_np, requires_grad=True), Tensor(w_np, requires_grad=True)
    xt, wt = torch.tensor(x_np, requires_grad=True), torch.tensor(w_np, requires_grad=True)
    ours = ((x @ w).tanh() * (x @ w).sigmoid() - (x.exp().log() / 2).sum(axis=1, keepdims=True)).max(axis=0).mean()
    theirs = ((xt @ wt).tanh() * (xt @ wt).sigmoid() - (xt.exp().log() / 2).sum(1, keepdim=True)).amax(0).mean()
    ours.backward()
    theirs.backward()
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-10)


def test_a_wrong_rule_is_named_with_its_worst_element_as_plain_integers():
    from tinygrad_lstm.autograd import Function

    class Wrong(Function):  # z = a^2 with the rule dz/da = a (not 2a)
        def forward(self, a):
            self.a = a
            return a * a

        def backward(self, grad):
            return grad * self.a

    x = Tensor(np.arange(1.0, 7.0).reshape(2, 3), requires_grad=True)
    with pytest.raises(tl.GradcheckError, match=r"worst at index \(1, 2\): autograd [-\d.]+, numeric [-\d.]+$"):
        tl.gradcheck(lambda a: Wrong.apply(a).sum(), [x])
