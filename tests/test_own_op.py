"""A learner's own op, written as ops.py writes them: it works, first and second derivatives
included, or it is refused with a message naming the op and what to change. Never a silent
wrong or missing derivative, never an error from deep inside the walk."""

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import Tensor
from tinygrad_lstm.autograd import Function


def x64(*shape, seed=0):
    return Tensor(np.random.default_rng(seed).uniform(0.5, 1.5, shape), requires_grad=True)


class Cube(Function):  # z = a^3;  dz/da = 3 a^2: the input saved under a name of its own
    def forward(self, a):
        self.saved_x = a
        return a**3

    def backward(self, grad):
        return (grad * 3 * self.saved_x * self.saved_x,)


class BareSquare(Function):  # z = a^2;  dz/da = 2a, returned alone (one input), not as a tuple
    def forward(self, a):
        self.a = a
        return a * a

    def backward(self, grad):
        return grad * 2 * self.a


class Scaled(Function):  # z = a * b, b's array saved under a name forward does not use
    def forward(self, a, b):
        self.left, self.right = a, b
        return a * b

    def backward(self, grad):
        return grad * self.right, grad * self.left


def test_an_input_saved_under_any_name_gets_its_second_derivative():
    x = x64(4)
    (g,) = tl.grad(Cube.apply(x).sum(), [x], create_graph=True)
    np.testing.assert_allclose(g.numpy(), 3 * x.numpy() ** 2)
    (gg,) = tl.grad(g.sum(), [x])
    np.testing.assert_allclose(gg.numpy(), 6 * x.numpy())  # d/dx 3x^2
    assert tl.gradgradcheck(lambda a: Cube.apply(a), [x64(3, 2)])


def test_two_inputs_saved_under_other_names_are_told_apart():
    a, b = x64(3), x64(3, seed=1)
    assert tl.gradcheck(lambda a, b: Scaled.apply(a, b), [a, b])
    assert tl.gradgradcheck(lambda a, b: Scaled.apply(a, b), [a, b])


def test_a_one_input_rule_may_return_its_gradient_alone():
    x = x64(3, 2)
    BareSquare.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())
    assert tl.gradcheck(lambda a: BareSquare.apply(a), [x64(3)])
    assert tl.gradgradcheck(lambda a: BareSquare.apply(a), [x64(3)])


def test_needs_input_grad_tells_a_rule_which_inputs_want_a_gradient():
    seen = []

    class Watched(Function):
        def forward(self, a, b):
            return a + b

        def backward(self, grad):
            seen.append(self.needs_input_grad)
            return grad, grad

    Watched.apply(x64(2), Tensor(np.ones(2))).sum().backward()
    assert seen == [(True, False)]


class TwoGradsForOne(Function):
    def forward(self, a):
        return a * 2

    def backward(self, grad):
        return grad * 2, grad


class OneGradForTwo(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad


class AString(Function):
    def forward(self, a):
        return a

    def backward(self, grad):
        return "grad"


@pytest.mark.parametrize(
    "op, message",
    [
        (TwoGradsForOne, "TwoGradsForOne.backward returned 2 gradients for its 1 inputs"),
        (OneGradForTwo, "OneGradForTwo.backward returned one gradient for its 2 inputs; return a tuple"),
        (AString, "AString.backward must return the inputs' gradients"),
    ],
)
def test_a_rule_that_returns_the_wrong_count_is_refused_naming_the_op(op, message):
    inputs = [x64(3), x64(3, seed=1)][: 2 if op is OneGradForTwo else 1]
    with pytest.raises(TypeError, match=message):
        op.apply(*inputs).sum().backward()


class SquareOfDerived(Function):  # z = a^2, its derivative 2a saved in forward: a float array from the input
    def forward(self, a):
        self.two_a = 2 * a
        return a * a

    def backward(self, grad):
        return (grad * self.two_a,)


class ExpSavedAsY(Function):  # z = e^a, the output saved as self.y rather than self.out
    def forward(self, a):
        self.y = np.exp(a)
        return self.y

    def backward(self, grad):
        return (grad * self.y,)


@pytest.mark.parametrize("op, name", [(SquareOfDerived, "two_a"), (ExpSavedAsY, "y")])
def test_a_saved_float_that_is_neither_input_nor_output_is_refused_under_create_graph(op, name):
    x = x64(3)
    op.apply(x).sum().backward()  # first derivatives need nothing more
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() if op is SquareOfDerived else np.exp(x.numpy()))
    with pytest.raises(
        RuntimeError,
        match=rf"create_graph: {op.__name__} saved self\.{name}, a float array that is "
        r"neither one of its inputs nor its output \(self\.out\)",
    ):
        tl.grad(op.apply(x).sum(), [x], create_graph=True)


def test_a_constant_listed_as_such_is_kept_as_a_constant():
    class Signed(Function):  # z = a * sign(a) = |a|;  dz/da = sign(a), piecewise constant
        piecewise_linear, constants = True, ("sign",)

        def forward(self, a):
            self.sign = np.sign(a)
            return a * self.sign

        def backward(self, grad):
            return (grad * self.sign,)

    x = Tensor(np.array([-1.5, 2.0, 0.5]), requires_grad=True)
    (g,) = tl.grad(Signed.apply(x).sum(), [x], create_graph=True)
    (gg,) = tl.grad((g * g).sum(), [x], allow_unused=True)
    assert gg is None or not np.any(gg.numpy())  # the sign does not move with x
    assert tl.gradgradcheck(lambda a: Signed.apply(a), [x])


def test_a_rule_calling_numpy_under_create_graph_is_refused_naming_the_op():
    class NumpyTanh(Function):
        def forward(self, a):
            self.out = np.tanh(a)
            return self.out

        def backward(self, grad):
            return (grad * np.subtract(1, self.out**2),)

    x = x64(3)
    NumpyTanh.apply(x).sum().backward()  # on arrays it works
    with pytest.raises(TypeError, match=r"create_graph: NumpyTanh\.backward ran on Tensors.*np\.\* calls"):
        tl.grad(NumpyTanh.apply(x).sum(), [x], create_graph=True)


def test_an_input_beside_its_detached_copy_goes_by_forwards_name_or_is_refused():
    class Product(Function):
        def forward(self, a, b):
            self.a, self.b = a, b
            return a * b

        def backward(self, grad):
            return grad * self.b, grad * self.a

    class Mixed(Function):
        def forward(self, a, b):
            self.first, self.second = a, b
            return a * b

        def backward(self, grad):
            return grad * self.second, grad * self.first

    x = x64(3)
    (g,) = tl.grad(Product.apply(x, x.detach()).sum(), [x], create_graph=True)  # d/dx (x * c) = c
    np.testing.assert_array_equal(g.numpy(), x.numpy())
    assert not g.requires_grad  # c, the detached copy, is a constant: g has no graph (as torch's)
    with pytest.raises(RuntimeError, match=r"Mixed saved self\.(first|second), the array of its inputs 0 and 1"):
        tl.grad(Mixed.apply(x, x.detach()).sum(), [x], create_graph=True)


def test_own_op_md_runs():
    """docs/own_op.md's code, run as a learner would paste it."""
    import pathlib
    import re

    text = (pathlib.Path(__file__).parent.parent / "docs" / "own_op.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    namespace = {}
    for block in blocks:
        exec(compile(block, "docs/own_op.md", "exec"), namespace)


@pytest.mark.parametrize(
    "name, fn",
    [
        ("relu", lambda x: x.relu()),
        ("abs", lambda x: abs(x)),
        ("leaky_relu", lambda x: x.leaky_relu(0.1)),
        ("clamp", lambda x: x.clamp(-0.5, 0.5)),
        ("max", lambda x: x.max()),
        ("maximum", lambda x: x.maximum(x * 0.5)),
    ],
)
def test_the_hessian_of_a_piecewise_linear_function_is_zeros(name, fn):
    """Flat between kinks: the second derivative is 0, given as zeros, not "does not require
    grad". torch gives the same zeros for relu and leaky_relu (its rule reads the input); for
    clamp, max and maximum it raises, and for abs it gives a ZeroTensor."""
    values = np.array([-1.5, 0.3, 2.0, -0.2])
    x = Tensor(values, requires_grad=True)
    (g,) = tl.grad(fn(x).sum(), [x], create_graph=True)
    (h,) = tl.grad(g.sum(), [x])
    np.testing.assert_array_equal(h.numpy(), np.zeros(4))
    if name in ("relu", "leaky_relu"):
        torch = pytest.importorskip("torch")
        xt = torch.tensor(values, requires_grad=True)
        torch_fn = torch.relu if name == "relu" else (lambda t: torch.nn.functional.leaky_relu(t, 0.1))
        (gt,) = torch.autograd.grad(torch_fn(xt).sum(), [xt], create_graph=True)
        (ht,) = torch.autograd.grad(gt.sum(), [xt])
        np.testing.assert_array_equal(g.numpy(), gt.detach().numpy())
        np.testing.assert_array_equal(h.numpy(), ht.numpy())
