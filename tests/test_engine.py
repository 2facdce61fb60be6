"""The backward engine: order, accumulation, depth, freeing, no_grad, and its errors."""

import gc
import re
import sys
import weakref

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import Tensor, no_grad


def test_gradient_accumulates_over_every_use():
    x = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    y = (x * x + x * 3 + x).sum()  # dy/dx = 2x + 4
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy() + 4)


def test_diamond_graph_and_shared_subexpression():
    x = Tensor(np.array(0.7), requires_grad=True)
    a = x.tanh()
    b = a * a  # a used twice
    c = a.exp() + b  # and once more, through another path
    c.backward()
    t = np.tanh(0.7)
    expected = (1 - t * t) * (np.exp(t) + 2 * t)
    np.testing.assert_allclose(x.grad.item(), expected)


def test_backward_twice_accumulates_into_leaf_grad():
    x = Tensor(np.array([2.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [8.0])


def test_grad_is_a_tensor_without_graph_and_none_before_backward():
    x = Tensor(np.ones(3), requires_grad=True)
    assert x.grad is None
    (x * 2).sum().backward()
    assert isinstance(x.grad, Tensor)
    assert x.grad.grad_fn is None and not x.grad.requires_grad


def test_grads_never_share_memory():
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    (a + b).sum().backward()  # add passes the same array to both inputs
    a.grad.data *= 10  # an in-place change (as a clipping step does) ...
    np.testing.assert_array_equal(b.grad.numpy(), [1, 1, 1])  # ... touches only a's grad


def test_broadcast_gradient_summed_to_input_shape():
    x = Tensor(np.ones((4, 3)), requires_grad=True)
    b = Tensor(np.zeros((1, 3)), requires_grad=True)
    s = Tensor(np.array(2.0), requires_grad=True)
    ((x + b) * s).sum().backward()
    assert b.grad.shape == (1, 3) and s.grad.shape == ()
    np.testing.assert_allclose(b.grad.numpy(), [[8, 8, 8]])
    np.testing.assert_allclose(s.grad.item(), 12.0)


def test_long_chain_at_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10_000
    x = Tensor(np.array([0.5]), requires_grad=True)
    y = x
    for _ in range(200_000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0])


def test_thousands_of_time_steps_go_backward():
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((8, 8)) * 0.1, requires_grad=True)
    h = Tensor(np.zeros((1, 8)))
    xs = Tensor(rng.standard_normal((5000, 1, 8)))
    for x_t in xs.unbind(0):
        h = (x_t + h @ w).tanh()
    h.sum().backward()
    assert w.grad.shape == (8, 8) and np.all(np.isfinite(w.grad.numpy()))


def test_graph_is_freed_when_root_goes():
    gc.disable()  # no cycle collector: plain reference counting must free it
    try:
        x = Tensor(np.ones(3), requires_grad=True)
        hidden = x.tanh()
        loss = (hidden * 2).sum()
        ref_hidden, ref_fn = weakref.ref(hidden), weakref.ref(hidden.grad_fn)
        del hidden
        loss.backward(retain_graph=True)
        assert ref_hidden() is not None  # the graph is alive while loss is
        del loss
        assert ref_hidden() is None and ref_fn() is None
    finally:
        gc.enable()


def test_backward_lets_go_of_the_graph_while_the_root_lives_on():
    gc.disable()
    try:
        x = Tensor(np.ones(3), requires_grad=True)
        hidden = x.tanh()
        loss = (hidden * 2).sum()
        ref_hidden = weakref.ref(hidden)
        del hidden
        loss.backward()
        assert ref_hidden() is None and loss.grad_fn is not None and x.grad is not None
    finally:
        gc.enable()


def test_no_grad_records_nothing():
    x = Tensor(np.ones(2), requires_grad=True)
    with no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    assert tl.is_grad_enabled()

    @no_grad()
    def f(t):
        return t * 3

    assert not f(x).requires_grad


def test_detach_cuts_the_graph():
    x = Tensor(np.array([3.0]), requires_grad=True)
    y = x * x.detach()  # only one path: dy/dx = x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0])


def test_retain_grad_keeps_intermediate_gradient():
    x = Tensor(np.array([0.3, -0.2]), requires_grad=True)
    h = x.tanh().retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), 2 * np.tanh(x.numpy()))


def test_backward_from_a_leaf_a_retained_root_and_a_split_piece():
    leaf = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    leaf.backward(np.array([3.0, 4.0]))  # d(leaf)/d(leaf) = 1: the grad passed in, copied
    np.testing.assert_allclose(leaf.grad.numpy(), [3.0, 4.0])

    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    root = (x * x).sum().retain_grad()
    root.backward()
    np.testing.assert_allclose(root.grad.numpy(), 1.0)
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())

    x.grad = None
    first, rest = (x * 3).split([1, 2])  # the root is one output of an op with several
    rest.backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 3.0, 30.0])


def test_inputs_that_need_no_grad_get_none():
    x = Tensor(np.ones(2), requires_grad=True)
    c = Tensor(np.ones(2))
    (x * c).sum().backward()
    assert c.grad is None


def test_backward_errors_are_clear():
    with pytest.raises(RuntimeError, match="scalar"):
        (Tensor(np.ones(3), requires_grad=True) * 2).backward()
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor(np.ones(3)) * 2).sum().backward()
    with pytest.raises(ValueError, match=r"grad has shape \(2,\).*\(3,\)"):
        (Tensor(np.ones(3), requires_grad=True) * 2).backward(np.ones(2))


def test_nonscalar_backward_with_explicit_grad():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * x).backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 40.0])


@pytest.mark.parametrize(
    "make, pattern",
    [
        (lambda: Tensor(np.ones((2, 3))) + Tensor(np.ones((4,))), r"add.*\(2, 3\).*\(4,\)"),
        (lambda: Tensor(np.ones((2, 3))) * Tensor(np.ones((2,))), r"mul.*\(2, 3\).*\(2,\)"),
        (lambda: Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5))), r"matmul.*\(2, 3\).*\(4, 5\)"),
        (lambda: Tensor(np.ones((2, 3))).reshape(4, 2), r"reshape.*\(2, 3\).*\(4, 2\)"),
        (lambda: tl.concat([Tensor(np.ones((2, 3))), Tensor(np.ones((3, 2)))], axis=0), r"concat.*\(2, 3\).*\(3, 2\)"),
        (lambda: Tensor(np.ones((2, 3))).sum(axis=2), r"sum: axis 2"),
        (lambda: Tensor(np.ones((2, 3))).split([1, 1], axis=1), r"split.*\[1, 1\].*3"),
        (lambda: Tensor(np.ones((2, 3)))[5], r"getitem.*\(2, 3\)"),
    ],
)
def test_shape_errors_name_op_and_shapes(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


def test_gradcheck_catches_a_wrong_derivative():
    class WrongSquare(tl.autograd.Function):
        def forward(self, a):
            self.a = a
            return a * a

        def backward(self, grad):
            return (grad * self.a,)  # should be 2a

    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(tl.GradcheckError, match="input 0"):
        tl.gradcheck(lambda x: WrongSquare.apply(x), [x])


def test_gradcheck_wants_float64():
    with pytest.raises(TypeError, match="float64"):
        tl.gradcheck(lambda x: x * 2, [Tensor([1.0], requires_grad=True)])


# ----- grad mode: per thread, re-entrant, generators (as torch) -------------------------


def test_no_grad_in_one_thread_does_not_stop_another_recording():
    import threading

    inside, recorded = threading.Event(), []

    def other():
        inside.wait()
        recorded.append((Tensor([1.0], requires_grad=True) * 2).requires_grad)

    worker = threading.Thread(target=other)
    worker.start()
    with no_grad():
        inside.set()
        worker.join()
    assert recorded == [True] and tl.is_grad_enabled()


def test_one_decorator_instance_used_recursively_restores_grad_mode():
    guard = no_grad()

    @guard
    def depth(n):
        assert not tl.is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3 and tl.is_grad_enabled()
    with guard:
        with guard:
            assert not tl.is_grad_enabled()
        assert not tl.is_grad_enabled()
    assert tl.is_grad_enabled()


def test_no_grad_on_a_generator_holds_while_it_runs_not_while_it_waits():
    @no_grad()
    def rows(x):
        for k in range(2):
            got = yield (x * k).requires_grad, tl.is_grad_enabled()
            assert got == "sent"

    x = Tensor([1.0], requires_grad=True)
    gen = rows(x)
    assert next(gen) == (False, False)
    assert tl.is_grad_enabled()  # the caller, between yields
    assert gen.send("sent") == (False, False)
    with pytest.raises(StopIteration):
        gen.send("sent")
    assert tl.is_grad_enabled()


def test_enable_grad_and_set_grad_enabled():
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        with tl.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    with tl.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert tl.is_grad_enabled()
    tl.set_grad_enabled(False)  # as a statement it stays switched
    try:
        assert not tl.is_grad_enabled()
    finally:
        tl.set_grad_enabled(True)

    @tl.set_grad_enabled(False)
    def f():
        return (x * 2).requires_grad

    assert tl.is_grad_enabled() and f() is False and tl.is_grad_enabled()
    with pytest.raises(TypeError, match="True or False"):
        tl.set_grad_enabled("no")


# ----- backward frees the graph; retain_graph keeps it ----------------------------------


def test_a_second_backward_through_a_freed_graph_says_retain_graph():
    x = Tensor(np.array([2.0]), requires_grad=True)
    y = (x.tanh() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_freeing_as_backward_goes_lowers_a_training_loops_peak_memory():
    """In `for ...: loss = f(); loss.backward()` the next forward runs while `loss` still holds
    the last graph: freed by backward, it costs nothing; kept, the peak doubles."""
    import tracemalloc

    def loop_peak(retain):
        rng = np.random.default_rng(0)
        x, w = rng.standard_normal((64, 256)), Tensor(rng.standard_normal((256, 256)) * 0.05, requires_grad=True)
        tracemalloc.start()
        for _ in range(2):
            h = Tensor(x)
            for _ in range(40):  # each step keeps two (64, 256) arrays: 256 kB
                h = (h @ w).tanh()
            loss = h.sum()
            loss.backward(retain_graph=retain)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    freed, kept = loop_peak(False), loop_peak(True)
    assert freed < 0.65 * kept, (freed, kept)


# ----- in-place changes between forward and backward: a version counter -----------------


def in_place_changes():
    def optimizer_step(w):
        w.grad = Tensor(np.ones_like(w.data))
        tl.optim.SGD([w], lr=0.1).step()

    def load(w):
        layer = tl.nn.Linear(2, 1, bias=False, dtype=np.float64)
        layer.weight = w
        layer.load_state_dict({"weight": np.zeros((1, 2))})
        assert w.numpy().tolist() == [[0.0, 0.0]]

    def method(w):
        with no_grad():
            w.add_(1.0)

    return {"SGD.step()": optimizer_step, "load_state_dict": load, "add_()": method}


@pytest.mark.parametrize("by", ["SGD.step()", "load_state_dict", "add_()"])
def test_backward_refuses_after_the_library_changed_an_input_in_place(by):
    w = tl.nn.Parameter(np.array([[1.0, 2.0]])).named("w")
    x = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    loss = (x * w).sum()  # mul saves w, for x's gradient
    in_place_changes()[by](w)
    assert w._version == 1
    before = x.grad
    with pytest.raises(RuntimeError, match=rf"'w' of shape \(1, 2\).*changed in place by {re.escape(by)}.*Mul"):
        loss.backward()
    assert x.grad is before


@pytest.mark.parametrize(
    "change",
    [
        lambda x, row, e: x.fill_(0.0),  # the array a view was taken of
        lambda x, row, e: x.reshape(4).fill_(0.0),  # a view of it
        lambda x, row, e: row.zero_(),  # a row met by iteration
        lambda x, row, e: x.detach().mul_(2.0),  # a detached tensor: the same memory
        lambda x, row, e: e.detach().zero_(),
    ],
)  # the output exp saved for its backward
def test_backward_refuses_a_change_made_through_shared_memory(change):
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    x = Tensor(np.array([[3.0, 4.0], [5.0, 6.0]]))
    row, _ = x
    e = w.exp()
    loss = (w * x[0, :]).sum() + (w * row).sum() + e.sum()
    with no_grad():
        change(x, row, e)
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_a_change_to_an_input_no_op_saved_is_fine_as_in_torch():
    w, x = Tensor(np.array([1.0, 2.0]), requires_grad=True), Tensor(np.array([3.0, 4.0]))
    loss = (w + x).sum()  # add saves nothing: its gradient does not depend on x
    x.add_(1.0)
    loss.backward()
    assert w.grad.numpy().tolist() == [1.0, 1.0]


def test_a_change_before_the_forward_or_after_backward_is_fine():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with no_grad():
        w.mul_(2.0)
    loss = (w * w).sum()
    loss.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [4.0, 8.0])
    with no_grad():
        w.zero_()


def test_writing_into_data_is_the_untracked_escape_hatch():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (w * w).sum()
    w.data[0] = 10.0  # as torch's .data: not tracked, the user's responsibility
    loss.backward()
    assert w._version == 0 and w.grad.numpy().tolist() == [20.0, 4.0]


def test_in_place_methods_are_refused_where_torch_refuses_them():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w.add_(1.0)
    y = w * 2
    with pytest.raises(RuntimeError, match="made by an op"):
        y.fill_(0.0)
    with no_grad(), pytest.raises(tl.ShapeError, match=r"shape \(2,\).*\(3,\)"):
        w.copy_(np.ones(3))
    ints = Tensor(np.array([1, 2]))
    with pytest.raises(TypeError, match="float64.*int64"):
        ints.add_(0.5)  # torch: "result type Float can't be cast to ... Long"
    with pytest.raises(ValueError, match="nan cannot be stored"):
        ints.fill_(float("nan"))
    with pytest.raises(TypeError, match="alpha"):
        ints.add_(1, alpha="a")
    assert ints.numpy().tolist() == [1, 2] and ints._version == 0
    assert w.numpy().tolist() == [1.0, 2.0] and w._version == 0
    read_only = Tensor(np.ones(2))
    read_only.data.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        read_only.zero_()


def test_in_place_operators_change_the_tensor_as_torch():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (w * w).sum().backward()
    alias = w
    with no_grad():
        w -= 0.1 * w.grad  # the hand-written SGD step
    assert w is alias and w.numpy().tolist() == [0.8, 1.6] and w.requires_grad and w._version == 1
    with pytest.raises(RuntimeError, match="no_grad"):
        w *= 2  # a leaf that requires grad, outside no_grad: refused, as torch
    counts = Tensor(np.zeros(2))
    counts += 1
    counts /= 4
    assert counts.numpy().tolist() == [0.25, 0.25]


def test_in_place_operators_on_a_graph_tensor_give_the_same_numbers_and_gradients():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    total = 0
    for k in range(3):
        total += (w * k).sum()  # the usual way to add up losses
    total *= 2
    total.backward()
    assert float(total) == 18.0 and w.grad.numpy().tolist() == [6.0, 6.0]


def test_one_decorated_function_in_two_threads_keeps_each_threads_mode():
    import threading

    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    modes = {}

    @tl.enable_grad()
    def work(me, other_in, my_in, wait_for):
        my_in.set()
        other_in.wait()
        if wait_for is not None:
            wait_for.wait()

    def a():
        tl.set_grad_enabled(False)
        work("a", b_in, a_in, None)
        a_out.set()
        modes["a"] = tl.is_grad_enabled()

    def b():
        a_in.wait()
        work("b", a_in, b_in, a_out)  # enters after a, leaves after a
        modes["b"] = tl.is_grad_enabled()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert modes == {"a": False, "b": True}


def test_no_grad_decorates_without_parentheses_too():
    @no_grad
    def f(x):
        return (x * 2).requires_grad

    assert f(Tensor([1.0], requires_grad=True)) is False and tl.is_grad_enabled()


def test_gradcheck_leaves_its_inputs_as_they_were_when_fn_raises():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)

    def fn(a):
        if a.numpy()[0] != 1.0:
            raise ZeroDivisionError("nudged")
        return a * 2

    with pytest.raises(ZeroDivisionError):
        tl.gradcheck(fn, [x])
    assert x.numpy().tolist() == [1.0, 2.0] and x.grad is None


def test_an_in_place_change_by_a_value_that_requires_grad_keeps_its_gradient():
    w = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    acc = Tensor(np.zeros(3))
    acc += w * 2  # as torch: acc joins the graph
    ((acc * acc).sum() + w.sum()).backward()
    assert acc.requires_grad and w.grad.numpy().tolist() == [9.0, 17.0, 25.0]
    with pytest.raises(RuntimeError, match="gradient would be lost"):
        Tensor(np.zeros(3)).copy_(w * 1)


def test_an_index_changed_after_indexing_does_not_move_the_gradient():
    x = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    i, places = Tensor(np.array([0, 1]), dtype=np.int64), [0, 0]
    y = x[i, :].sum() + (x[places] * Tensor([[1.0], [10.0]])).sum()
    i.fill_(2)
    places[1] = 2
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[12, 12], [1, 1], [0, 0]])


def test_the_array_of_a_tensor_that_requires_grad_is_read_only():
    x = Tensor(np.ones(2), requires_grad=True)
    for array in (np.asarray(x), x.numpy()):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 7.0
    assert np.asarray(Tensor(np.ones(2))).flags.writeable  # without grad: shared and writable, as torch
    with pytest.raises(ValueError, match="copy"):
        np.array(x, dtype=np.float32, copy=False)


@pytest.mark.parametrize(
    "op, second",
    [
        (lambda x: x.tanh(), lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
        (lambda x: x.sigmoid(), lambda x: (s := 1 / (1 + np.exp(-x))) * (1 - s) * (1 - 2 * s)),
        (lambda x: x.exp(), np.exp),
        (lambda x: x.sqrt(), lambda x: -0.25 * x**-1.5),
    ],
    ids=["tanh", "sigmoid", "exp", "sqrt"],
)
@pytest.mark.parametrize("shape", [(), (3,)], ids=["0d", "1d"])
def test_second_derivative_of_ops_that_save_their_output_including_0d(op, second, shape):
    # numpy gives a scalar, not an array, for a 0-d result: the saved output must still be
    # followed as the op's output (it once was taken for a constant, and d2 came out wrong)
    values = np.full(shape, 0.7)
    x = Tensor(values, requires_grad=True)
    (g,) = tl.grad(op(x).sum(), [x], create_graph=True)
    (h,) = tl.grad(g.sum(), [x])
    np.testing.assert_allclose(h.numpy(), second(values), rtol=1e-12)


@pytest.mark.parametrize(
    "values, dtype, expected",
    [
        ([0, 5, 200], np.uint8, 0),
        ([-128, 5, 3], np.int8, -128),
        ([np.iinfo(np.int64).min, 0], np.int64, np.iinfo(np.int64).min),
        ([True, False], np.bool_, False),
    ],
)
def test_min_of_integers_and_bools_is_the_smallest_not_a_wrapped_negation(values, dtype, expected):
    assert Tensor(np.array(values, dtype)).min().item() == expected  # -max(-x) wrapped around, or failed on bool


def test_where_with_two_numbers():
    out = tl.where(Tensor(np.array([1.0, -1.0])) > 0, 1.0, 0.0)
    assert out.numpy().tolist() == [1.0, 0.0]


def test_second_derivative_with_a_detached_copy_beside_the_input():
    # x.detach() shares x's array: create_graph must still treat it as a constant (as torch: d2 = 2 x.detach())
    x = Tensor(np.array([0.5, -1.2, 2.0]), requires_grad=True)
    (g,) = tl.grad((x.detach() * x * x).sum(), [x], create_graph=True)
    (h,) = tl.grad(g.sum(), [x])
    np.testing.assert_allclose(h.numpy(), 2 * x.numpy())


@pytest.mark.parametrize(
    "rows, index_shape, tail", [(5, (7,), (3,)), (4, (3, 6), (2, 2)), (3, (0,), (4,)), (6, (2, 5), ()), (1, (9,), (3,))]
)
def test_rows_gathered_by_an_integer_array_scatter_their_gradient_back_as_add_at_does(rows, index_shape, tail):
    """x[ids] (an embedding's lookup): each row's gradient is the sum of the gradients of every
    place that read it, negative ids included; compared with np.add.at in float64."""
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((rows, *tail)), requires_grad=True)
    ids = rng.integers(-rows, rows, size=index_shape)
    upstream = rng.standard_normal((*index_shape, *tail))
    (x[ids] * Tensor(upstream)).sum().backward()
    expected = np.zeros((rows, *tail))
    np.add.at(expected, ids, upstream)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12, atol=1e-12)
