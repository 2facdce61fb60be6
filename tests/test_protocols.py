"""Tensors behave as numbers and sequences where Python and NumPy expect them, refuse what
is not a number, and keep their dtype; each test here failed before its fix."""

import math

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import Tensor


def loss_like():
    x = Tensor(np.array([0.25, 0.5, 1.0]), requires_grad=True)
    return (x * x).sum()


# ----- numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "reduce",
    [
        lambda t: t.sum(),
        lambda t: t.mean(),
        lambda t: t.max(),
        lambda t: t.sum(axis=(0, 1)),
        lambda t: t[0, 0] * 2,
        lambda t: t.T[0, 0],
    ],
)
def test_a_full_reduction_holds_a_0d_array(reduce):
    t = reduce(Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True))
    assert type(t.data) is np.ndarray and t.shape == ()
    assert type(np.asarray(t)) is np.ndarray and np.asarray(t).shape == ()


def test_losses_go_into_numpy_and_matplotlib():
    losses = [loss_like() for _ in range(3)]
    np.testing.assert_allclose(np.array(losses), [1.3125] * 3)
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (line,) = plt.plot(losses)
    np.testing.assert_allclose(line.get_ydata(), [1.3125] * 3)
    plt.close("all")


def test_python_number_protocols():
    loss = loss_like()
    assert float(loss) == 1.3125 and int(Tensor(2.7)) == 2 and bool(Tensor([1.0])) is True
    assert f"{loss:.2f}" == "1.31" and f"{Tensor([3.0]):>5.1f}" == "  3.0"
    assert round(loss, 3) == 1.312 and round(Tensor(2.6)) == 3
    assert range(Tensor(3, dtype=np.int64)) == range(3) and [10, 20, 30][Tensor(1, dtype=np.int32)] == 20
    assert math.isclose(math.sqrt(loss), 1.3125**0.5)
    assert "1.3125" in f"{loss}"  # no format spec: the tensor itself


@pytest.mark.parametrize("convert", [float, int, bool, round, lambda t: t.item(), lambda t: f"{t:.3f}"])
def test_several_elements_are_not_one_number(convert):
    with pytest.raises((ValueError, RuntimeError, TypeError), match="one-element|more than one value|Tensor of shape"):
        convert(Tensor([1.0, 2.0]))


def test_an_empty_tensor_is_neither_true_nor_false():
    with pytest.raises(RuntimeError, match="no values"):
        bool(Tensor(np.zeros(0)))


def test_only_integer_tensors_are_indices():
    with pytest.raises(TypeError, match="integer"):
        [1, 2][Tensor(1.0)]


# ----- sequences ---------------------------------------------------------------------


def test_iteration_and_unpacking_give_rows_with_gradients():
    x = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    rows = list(x)
    assert len(rows) == 3 and all(r.shape == (2,) for r in rows)
    a, b, c = x
    (a * 1 + c * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 1], [0, 0], [3, 3]])
    assert [float(v) for v in Tensor([1.0, 2.0])] == [1.0, 2.0]
    assert 2.0 in Tensor([1.0, 2.0]) and 5.0 not in Tensor([1.0, 2.0])


def test_a_0d_tensor_is_not_iterable():
    with pytest.raises(TypeError, match="0-d"):
        iter(Tensor(1.0))


@pytest.mark.parametrize(
    "bad",
    [
        lambda x: x[3],
        lambda x: x[0, 5],
        lambda x: x[-4],
        lambda x: x.sum(axis=2),
        lambda x: x.max(axis=-3),
        lambda x: x.split(1, axis=2),
        lambda x: x.unbind(5),
        lambda x: x.transpose(0, 2),
        lambda x: tl.stack([x, x], axis=4),
        lambda x: tl.concat([x, x], axis=2),
    ],
)
def test_an_index_or_axis_out_of_range_is_an_index_error(bad):
    x = Tensor(np.zeros((3, 2)), requires_grad=True)
    with pytest.raises(IndexError) as info:
        bad(x)
    assert isinstance(info.value, tl.ShapeError)
    assert any(word in str(info.value) for word in ("range", "bounds", "permutation"))


def test_a_0d_tensor_takes_axis_0_as_torch():
    t = Tensor(3.0, requires_grad=True)
    assert float(t.sum(axis=0)) == 3.0 and float(t.max(axis=-1)) == 3.0 and t.T.shape == ()


# ----- comparisons -------------------------------------------------------------------


@pytest.mark.parametrize(
    "op, expected",
    [
        (lambda a, b: a == b, [False, True, False]),
        (lambda a, b: a != b, [True, False, True]),
        (lambda a, b: a < b, [True, False, False]),
        (lambda a, b: a <= b, [True, True, False]),
        (lambda a, b: a > b, [False, False, True]),
        (lambda a, b: a >= b, [False, True, True]),
    ],
)
def test_comparisons_are_elementwise_bool_tensors_without_grad(op, expected):
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for result in (op(a, Tensor([2.0, 2.0, 2.0])), op(a, 2.0), op(a, np.array([2.0, 2.0, 2.0]))):
        assert isinstance(result, Tensor) and result.dtype == bool and not result.requires_grad
        assert result.numpy().tolist() == expected


def test_comparisons_keep_hashing_by_identity():
    a, b = Tensor([1.0]), Tensor([1.0])
    assert len({a, b}) == 2 and {a: 1}[a] == 1
    assert (a == None) is False and (a != None) is True  # noqa: E711
    with pytest.raises(tl.ShapeError, match=r"\(2,\) and \(3,\)"):
        _ = Tensor([1.0, 2.0]) < Tensor([1.0, 2.0, 3.0])


def test_a_bool_mask_from_a_comparison_indexes():
    x = Tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    x[x > 0].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1, 0, 1])


# ----- dtypes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: Tensor([1j, 2]),
        lambda: Tensor(np.array([1 + 1j])),
        lambda: Tensor([1, 2], dtype=np.complex64),
        lambda: Tensor(["a", "b"]),
        lambda: Tensor([1, 2], dtype="U3"),
        lambda: Tensor(np.array([b"x"])),
        lambda: Tensor([None, 1]),
        lambda: Tensor([1, 2], dtype=object),
        lambda: Tensor(np.datetime64("2024-01-01")),
        lambda: Tensor(np.array([1, 2], dtype="timedelta64[s]")),
        lambda: Tensor([1.0]) ** 1j,
        lambda: Tensor([1.0]) + np.array([1j]),
        lambda: Tensor([1.0]) * np.array(["a"]),
        lambda: 1j ** Tensor([1.0]),
        lambda: Tensor([1.0]).fill_(1j),
    ],
)
def test_only_bool_integer_and_float_data_make_tensors(make):
    with pytest.raises((TypeError, ValueError), match="bool, int or float|real"):
        make()


@pytest.mark.parametrize("exponent", [2, 2.0, np.float64(2.0), np.int64(2)])
def test_a_numpy_scalar_exponent_keeps_float32(exponent):
    x = Tensor([1.0, 3.0], requires_grad=True)
    y = x**exponent
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


def test_grad_has_its_tensors_dtype_even_when_the_math_promoted():
    x = Tensor([1.0, 2.0], requires_grad=True)  # float32
    (x * np.array([1.0, 1.0])).sum().backward()  # float32 * float64 array computes in float64
    assert x.grad.dtype == np.float32
    (x * np.array([1.0, 1.0])).sum().backward()  # and when adding into an existing grad
    assert x.grad.dtype == np.float32 and x.grad.numpy().tolist() == [2.0, 2.0]
    h = Tensor(np.ones(2, np.float16), requires_grad=True)
    (h * Tensor([1.0, 2.0], dtype=np.float64)).sum().backward()
    assert h.grad.dtype == np.float16


def test_mean_of_integers_is_refused_and_of_an_empty_axis_is_nan():
    with pytest.raises(TypeError, match="floating"):
        Tensor([1, 2], dtype=np.int64).mean()
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    assert np.isnan(x.mean(axis=0).numpy()).all() and x.mean(axis=0).shape == (3,)
    assert np.isnan(float(x.mean())) and x.mean(axis=1).shape == (0,)


# ----- modules and their inputs ------------------------------------------------------


@pytest.mark.parametrize(
    "module, shape",
    [
        (lambda: tl.nn.Linear(3, 2), (4, 3)),
        (lambda: tl.nn.LSTM(3, 2), (5, 1, 3)),
        (lambda: tl.nn.GRUCell(3, 2), (1, 3)),
        (lambda: tl.nn.RNN(3, 2), (5, 3)),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.int64])
def test_a_float32_module_refuses_a_tensor_of_another_dtype(module, shape, dtype):
    m = module()
    with pytest.raises(TypeError, match=f"{np.dtype(dtype)}.*float32"):
        m(Tensor(np.ones(shape, dtype)))
    out = m(np.ones(shape, dtype))  # arrays and lists become the module's dtype
    out = out[0] if isinstance(out, tuple) else out
    assert out.dtype == np.float32


def test_a_recurrent_layer_refuses_an_initial_state_of_another_dtype():
    with pytest.raises(TypeError, match="initial state.*float64.*float32"):
        tl.nn.LSTM(3, 2)(np.ones((5, 1, 3)), (Tensor(np.zeros((1, 1, 2))), Tensor(np.zeros((1, 1, 2)))))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_an_empty_sequence_is_refused(kind):
    with pytest.raises(ValueError, match="length 0"):
        getattr(tl.nn, kind)(3, 2)(np.zeros((0, 1, 3)))
    with pytest.raises(ValueError, match="length 0"):
        getattr(tl.nn, kind)(3, 2, batch_first=True)(np.zeros((1, 0, 3)))


# ----- op arguments ------------------------------------------------------------------


@pytest.mark.parametrize(
    "sizes, message",
    [(0, "positive"), (-1, "positive"), ([-1, 4], ">= 0"), ([1.5, 1.5], ">= 0"), ([1, 1], "add up"), ("2", "int")],
)
def test_split_refuses_bad_sizes(sizes, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Tensor(np.zeros(3)).split(sizes)


def test_split_takes_empty_pieces_as_torch():
    x = Tensor(np.arange(3.0), requires_grad=True)
    a, b = x.split([0, 3])
    assert a.shape == (0,) and b.shape == (3,)
    (b * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2, 2])


def test_stack_and_concat_take_arrays_and_numbers_and_refuse_nothing_clearly():
    assert tl.stack([np.ones(2), np.zeros(2)]).shape == (2, 2)
    assert tl.stack([1.0, 2.0]).numpy().tolist() == [1.0, 2.0]
    assert tl.concat([np.ones(2), Tensor(np.zeros(1))]).shape == (3,)
    for op in (tl.stack, tl.concat):
        with pytest.raises(ValueError, match="at least one"):
            op([])
        with pytest.raises(TypeError, match="list of tensors"):
            op(Tensor(np.ones(3)))


# ----- numerics, against float64 math (no torch needed) --------------------------------


@pytest.mark.parametrize("dtype, rtol", [(np.float16, None), (np.float32, 1e-6), (np.float64, 1e-13)])
def test_sigmoid_keeps_its_relative_precision_over_the_whole_range(dtype, rtol):
    x = np.linspace(-80, 80, 4001).astype(dtype)
    exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    got = Tensor(x).sigmoid().numpy()
    assert got.dtype == dtype
    if dtype == np.float16:  # rounded once, from float32, as torch: the nearest float16 or its neighbour
        np.testing.assert_array_max_ulp(got, exact.astype(np.float16), maxulp=1)
    else:
        np.testing.assert_allclose(got, exact, rtol=rtol, atol=0)
        assert np.isfinite(Tensor(np.array([-20.0], dtype)).sigmoid().log().numpy()).all()


def test_binary_cross_entropy_gradient_at_a_zero_logit_is_half_minus_the_target():
    logits = Tensor(np.zeros(4), requires_grad=True)  # a zero-initialised head, step one
    target = np.array([1.0, 0.0, 0.3, 1.0])
    tl.functional.binary_cross_entropy_with_logits(logits, target).backward()
    np.testing.assert_allclose(logits.grad.numpy(), (0.5 - target) / 4)


# ----- bad calls name what was wrong ---------------------------------------------------


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda x: x.reshape("a"), TypeError, r"reshape: the new shape must be integers, got \('a',\)"),
        (lambda x: x.reshape(2.0, 3), TypeError, "reshape: the new shape must be integers"),
        (lambda x: x.transpose(1.0, 0), TypeError, "transpose: axes must be integers"),
        (lambda x: tl.stack([x, x], axis=1.0), TypeError, "stack: an axis must be an integer"),
        (lambda x: tl.concat([x, x], axis="0"), TypeError, "concat: an axis must be an integer"),
        (lambda x: x.sum(axis=1.5), TypeError, "sum: an axis must be an integer"),
        (lambda x: x**10**400, OverflowError, "pow: the exponent is a Python int too large"),
        (lambda x: x ** "2", TypeError, "pow: the exponent must be a real scalar"),
        (lambda x: "2" ** x, TypeError, "pow: the base must be a real number"),
        (lambda x: tl.nn.Dropout("a"), TypeError, "Dropout: p must be a number in"),
        (lambda x: tl.nn.LSTM(3, 4, dropout=None), TypeError, "LSTM: dropout must be a number"),
        (lambda x: tl.nn.LSTM(3, 4)(np.ones((2, 1, 3)), 5), TypeError, r"LSTM: expected the initial state \(h, c\)"),
        (lambda x: tl.viz.draw_graph(np.ones(2)), TypeError, "draw_graph: expected the Tensor"),
        (lambda x: tl.viz.draw_graph(x * 2, params=[x]), TypeError, "draw_graph: params must be a Module or a dict"),
        (lambda x: tl.viz.render("digraph {}", "a.svg"), TypeError, "render: expected a graph from draw_graph"),
    ],
)
def test_a_bad_call_says_what_was_wrong_and_what_was_expected(call, error, message):
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(error, match=message):
        call(x)
    assert x.numpy().tolist() == [[1.0] * 3] * 2 and x.grad is None
