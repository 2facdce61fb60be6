"""Each rewrite pass of tl.compile on its own: what it matches (seen in the tape it leaves), and
that its numbers are eager's: to the bit for the exact passes, to float rounding for the fast
ones, checked against float64 eager."""

import contextlib

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import Tensor, ops
from tinygrad_lstm.compile import passes
from tinygrad_lstm.compile.passes.fuse import Fused


def tape_of(compiled):
    (tape,) = compiled.tapes.values()
    return tape


@contextlib.contextmanager
def without(*names):
    """Compile with these passes left out (as benchmarks/lstm_step.py --without does)."""
    before = set(passes.OFF)
    passes.OFF.update(names)
    try:
        yield
    finally:
        passes.OFF.clear()
        passes.OFF.update(before)


def leaf(shape, rng, scale=1.0, dtype=np.float64):
    return Tensor((rng.standard_normal(shape) * scale).astype(dtype), requires_grad=True)


def run_both(fn, params, inputs, exact):
    """Eager and compiled (exact or fast), call by call: (value, grads) pairs of each."""
    compiled = tl.compile(fn, exact=exact)
    results = []
    for x in inputs:
        pair = []
        for f in (fn, compiled):
            for p in params:
                p.grad = None
            out = f(x)
            out.backward()
            pair.append((out.numpy().copy(), [p.grad.numpy().copy() for p in params]))
        results.append(pair)
    return compiled, results


def assert_bit_identical(results):
    for (value_a, grads_a), (value_b, grads_b) in results:
        assert value_a.tobytes() == value_b.tobytes()
        for a, b in zip(grads_a, grads_b):
            assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


def assert_rounding_apart(results, rtol=1e-12):
    for (value_a, grads_a), (value_b, grads_b) in results:
        np.testing.assert_allclose(value_b, value_a, rtol=rtol)
        for a, b in zip(grads_a, grads_b):
            np.testing.assert_allclose(b, a, rtol=rtol, atol=rtol * np.abs(a).max())


# ----- a user's own recurrent cell, written with ops -----------------------------------------


def cell_loop(w_x, w_h, slices="unbind", steps=None):
    """h_t = tanh(x_t W_x + h_{t-1} W_h), a plain RNN written by hand; the loss sums h_T^2."""

    def fn(x):
        h = Tensor(np.zeros((x.shape[1], w_h.shape[0]), x.dtype))
        n = x.shape[0] if steps is None else steps
        xs = x.unbind(0)[:n] if slices == "unbind" else [x[t] for t in range(n)]
        for x_t in xs:
            h = (x_t @ w_x + h @ w_h).tanh()
        return (h * h).sum()

    return fn


@pytest.mark.parametrize("slices", ["unbind", "index"])
def test_hoisting_makes_the_products_of_every_slice_one_product_before_the_loop(slices):
    rng = np.random.default_rng(0)
    w_x, w_h = leaf((3, 4), rng), leaf((4, 4), rng, 0.4)
    fn = cell_loop(w_x, w_h, slices)
    inputs = [Tensor(rng.standard_normal((6, 2, 3))) for _ in range(4)]
    compiled, results = run_both(fn, [w_x, w_h], inputs, exact=False)
    assert_rounding_apart(results)
    tape = tape_of(compiled)
    products = [s for s in tape.steps if s.op is ops.MatMul]
    assert len(products) == 1 and products[0].inputs[0] in [slot for slot, _ in tape.arguments]  # x W_x, all of x
    assert tape.steps[0].op is ops.MatMul  # before the loop, right after x exists (x is an argument)


def test_hoisting_is_left_to_the_fast_mode_and_without_it_each_step_multiplies_its_own():
    rng = np.random.default_rng(1)
    w_x, w_h = leaf((3, 4), rng), leaf((4, 4), rng, 0.4)
    fn = cell_loop(w_x, w_h)
    inputs = [Tensor(rng.standard_normal((5, 2, 3))) for _ in range(3)]
    compiled, results = run_both(fn, [w_x, w_h], inputs, exact=True)
    assert_bit_identical(results)
    # (exact: x_t W_x and h W_h products of their own at each of the 5 steps, each weight's
    # gradient summed step by step as eagerly)
    assert sum(s.op is ops.MatMul for s in tape_of(compiled).steps) == 10
    with without("hoist_products"):  # fast, not hoisted: each x_t W_x fused into its step's run
        compiled = tl.compile(fn)
        compiled(inputs[0])
    assert not any(s.op is ops.MatMul for s in tape_of(compiled).steps)


def test_a_loop_over_some_of_the_slices_is_not_hoisted():
    rng = np.random.default_rng(2)
    w_x, w_h = leaf((3, 4), rng), leaf((4, 4), rng, 0.4)
    fn = cell_loop(w_x, w_h, steps=4)  # 4 of 6 slices: a product of all 6 would compute 2 unused
    inputs = [Tensor(rng.standard_normal((6, 2, 3))) for _ in range(3)]
    compiled, results = run_both(fn, [w_x, w_h], inputs, exact=False)
    assert_rounding_apart(results)
    assert not any(s.op is ops.MatMul for s in tape_of(compiled).steps)


# ----- batched weight gradients -------------------------------------------------------------


def fused_sources(compiled):
    return [s.op.source for s in tape_of(compiled).steps if issubclass(s.op, Fused)]


def test_a_weight_used_at_every_step_gets_its_gradient_from_one_product():
    rng = np.random.default_rng(3)
    w_x, w_h = leaf((3, 4), rng), leaf((4, 4), rng, 0.4)
    fn = cell_loop(w_x, w_h)
    inputs = [Tensor(rng.standard_normal((7, 2, 3))) for _ in range(3)]
    compiled, results = run_both(fn, [w_x, w_h], inputs, exact=False)
    assert_rounding_apart(results)
    (source,) = fused_sources(compiled)
    backward = source[source.index("def backward") :]
    assert backward.count("for a, g in") == 1  # one stacked product, for W_h
    compiled, results = run_both(fn, [w_x, w_h], inputs, exact=True)
    assert_bit_identical(results)
    assert all("for a, g in" not in s for s in fused_sources(compiled))


def test_a_batched_product_counts_only_the_steps_whose_output_got_a_gradient():
    # p_t = h_t W_p at every step, but only the last p reaches the loss: the other steps' products
    # get no gradient, and add nothing to W_p's
    rng = np.random.default_rng(4)
    w_h, w_p = leaf((3, 3), rng, 0.5), leaf((3, 2), rng)

    def fn(x):
        h, outs = x[0], []
        for t in range(1, x.shape[0]):
            h = (x[t] + h @ w_h).tanh()
            outs.append(h @ w_p)
        return (outs[-1] * outs[-1]).sum() + (outs[1] * 0).sum() * 0

    inputs = [Tensor(rng.standard_normal((5, 2, 3))) for _ in range(3)]
    _, results = run_both(fn, [w_h, w_p], inputs, exact=False)
    assert_rounding_apart(results)


# ----- buffers ---------------------------------------------------------------------------------


def elementwise_programs():
    """Chains whose values are read twice, saved for backward, sliced, or made of views."""
    yield "reused", lambda x, w: ((x * w).tanh() * 2 + (x * w).tanh()).sigmoid().sum()
    yield "saved", lambda x, w: ((x * w).exp() * (x * w).tanh()).sum()
    yield "pieces", lambda x, w: sum(p.sigmoid() * p.tanh() for p in (x * w).split(2, axis=1)).sum()
    yield "transposed", lambda x, w: ((x * w).T.tanh() * 3 - 1).relu().sum()
    yield "twice", lambda x, w: (lambda a: (a * a + a).tanh() * a)((x * w).sigmoid()).sum()


@pytest.mark.parametrize("name, program", list(elementwise_programs()), ids=[n for n, _ in elementwise_programs()])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_writing_into_dead_operands_changes_no_bit(name, program, dtype):
    rng = np.random.default_rng(5)
    w = leaf((3, 4), rng, dtype=dtype)
    inputs = [Tensor(rng.standard_normal((3, 4)).astype(dtype)) for _ in range(3)]
    compiled, results = run_both(lambda x: program(x, w), [w], inputs, exact=True)
    assert_bit_identical(results)
    assert any("out=" in s for s in fused_sources(compiled))
    with without("reuse_buffers"):
        plain, _ = run_both(lambda x: program(x, w), [w], inputs[:1], exact=True)
    assert not any("out=" in s for s in fused_sources(plain))


def test_an_operand_still_read_later_or_saved_is_never_written_into():
    rng = np.random.default_rng(6)
    w = leaf((4,), rng)
    compiled = tl.compile(lambda x: ((x * w).tanh() + 1).sum(), exact=True)
    compiled(Tensor(rng.standard_normal(4)))
    (source,) = fused_sources(compiled)
    forward = source[: source.index("def backward")]
    # tanh's output is saved for its backward (1 - z^2): the add writes elsewhere
    saved = [line.split("=")[1].strip() for line in forward.splitlines() if line.strip().startswith("self.")]
    for line in forward.splitlines():
        if "out=" in line:
            assert not any(f"out={name})" in line for name in "".join(saved).split(";"))


# ----- fusion and the fast mode's agreement in float32 -----------------------------------------


def test_an_lstm_step_is_one_fused_op_per_run_of_steps():
    tl.manual_seed(0)
    lstm = tl.nn.LSTM(3, 5)
    compiled = tl.compile(lambda x: lstm(x)[0].sum())
    compiled(np.ones((4, 2, 3), np.float32))
    fused = [s.op for s in tape_of(compiled).steps if issubclass(s.op, Fused)]
    members = [m.__name__ for op in fused for m in op.members]
    assert members.count("AddMatMul") == 4 and members.count("GateActivations") == 4


def test_fast_float32_gradients_lie_within_a_few_ulps_times_the_sum_length_of_float64():
    # the fast passes change the order of the sums over steps and batch: the float32 result may
    # move by rounding, but stays as close to the float64 truth as eager float32 is, within a
    # few ulps times the number of terms summed
    T, B = 30, 4
    rng = np.random.default_rng(7)
    tl.manual_seed(0)
    lstm32 = tl.nn.LSTM(3, 6)
    lstm64 = tl.nn.LSTM(3, 6, dtype=np.float64)
    for p32, p64 in zip(lstm32.parameters(), lstm64.parameters()):
        p64.data = p32.data.astype(np.float64)
    x = rng.standard_normal((T, B, 3))
    truth = []
    (lstm64(x)[0] ** 2).mean().backward()
    truth = [p.grad.numpy() for p in lstm64.parameters()]
    step = tl.compile(lambda x: (lstm32(x)[0] ** 2).mean())
    for _ in range(3):
        lstm32.zero_grad()
        step(x.astype(np.float32)).backward()
        for p, g64 in zip(lstm32.parameters(), truth):
            bound = 4 * np.finfo(np.float32).eps * T * B * np.abs(g64).max()
            assert np.abs(p.grad.numpy() - g64).max() <= bound


@pytest.mark.parametrize("exact", [True, False])
def test_a_fused_run_that_ends_in_a_0d_value_gives_a_0d_array(exact):
    # (NumPy's 0-d + 0-d is a scalar, not an array: a Tensor must still hold an array)
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    compiled = tl.compile(lambda x: (x * w).sum() * 2 + (x * w).sum().tanh(), exact=exact)
    for _ in range(3):
        out = compiled(np.ones(2))
        assert isinstance(out.data, np.ndarray) and out.numpy().shape == ()
        out.backward()
