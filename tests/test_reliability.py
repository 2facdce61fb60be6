"""Compiled and concurrent use is never silently wrong, and a compiled function's tapes are
bounded. Each test here failed before its fix (a probe found each case from outside)."""

import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import Tensor
from tinygrad_lstm import functional as F


def leaf(values, dtype=np.float64):
    return Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ----- checks that protect an op run on every replay ------------------------------------------


def test_a_compiled_cross_entropy_refuses_a_target_out_of_range_at_every_call():
    logits = leaf(np.zeros((3, 4)))
    loss = tl.compile(lambda target: F.cross_entropy(logits, target))
    for _ in range(3):
        loss(np.array([0, 1, 2]))
    with pytest.raises(IndexError, match=r"cross_entropy: target class indices must lie in \[0, 4\)"):
        loss(np.array([0, -1, 2]))
    with pytest.raises(IndexError, match=r"must lie in \[0, 4\)"):
        loss(np.array([0, 4, 2]))


def test_a_compiled_embedding_refuses_an_id_out_of_range_at_every_call():
    tl.manual_seed(0)
    embed = tl.nn.Embedding(5, 2)
    look_up = tl.compile(lambda ids: embed(ids).sum())
    for _ in range(3):
        look_up(np.array([0, 4]))
    with pytest.raises(IndexError, match=r"Embedding: indices must lie in \[0, 5\)"):
        look_up(np.array([0, -1]))


# ----- the same tensor, not the same array ----------------------------------------------------


def test_a_captured_tensor_passed_as_the_argument_stays_itself_at_later_calls():
    c = leaf([1.0, 2.0])
    distance = tl.compile(lambda a: ((a - c) ** 2).sum())
    distance(c)
    distance(c)
    other = leaf([4.0, 6.0])
    out = distance(other)
    assert float(out) == (4 - 1) ** 2 + (6 - 2) ** 2
    out.backward()
    np.testing.assert_array_equal(c.grad.numpy(), [-6.0, -8.0])  # d/dc (a - c)^2 = -2 (a - c)
    np.testing.assert_array_equal(other.grad.numpy(), [6.0, 8.0])


def test_a_detached_copy_as_the_argument_leaves_the_original_its_gradient():
    w = leaf([1.0, -2.0])
    f = tl.compile(lambda a: (a * w).sum())
    for call in range(3):
        w.grad = None
        f(w.detach()).backward()
        np.testing.assert_array_equal(w.grad.numpy(), [1.0, -2.0], err_msg=f"call {call}")  # d/dw (a w) = a = w


@pytest.mark.parametrize(
    "zero, negative_zero", [(0.0, -0.0), (np.float32(0.0), np.float32(-0.0)), (np.float64(0.0), np.float64(-0.0))]
)
def test_minus_zero_gets_a_tape_of_its_own(zero, negative_zero):
    x = leaf([2.0])
    f = tl.compile(lambda s: (1 / (x * s)).sum())
    with np.errstate(divide="ignore"):
        assert float(f(zero)) == np.inf and float(f(zero)) == np.inf
        assert float(f(negative_zero)) == -np.inf


# ----- in-place changes ------------------------------------------------------------------------


def test_clipping_a_gradient_that_a_graph_uses_is_refused_as_torch_refuses():
    w = leaf([3.0, 4.0])
    (g,) = tl.grad((w**2).sum(), [w], create_graph=True)
    w.grad = g
    penalty = (g * g).sum()  # saves g for its backward
    tl.optim.clip_grad_norm_([w], 1.0)  # scales w.grad, which is g, in place
    with pytest.raises(RuntimeError, match="clip_grad_norm_"):
        penalty.backward()


# ----- Keras's GRU: a variant that cannot be told apart is refused ----------------------------


def test_keras_gru_weights_without_bias_must_say_which_variant():
    gru = tl.nn.GRU(2, 3, bias=False)
    weights = gru.keras_weights()
    with pytest.raises(ValueError, match="reset_after"):
        gru.load_keras_weights(weights)
    gru.load_keras_weights(weights, reset_after=True)  # Keras's default, the one this GRU computes
    with pytest.raises(ValueError, match="reset_after=False"):
        gru.load_keras_weights(weights, reset_after=False)


# ----- threads ----------------------------------------------------------------------------------


def run_in_threads(work, n=4):
    errors = []

    def guarded():
        try:
            work()
        except BaseException as err:  # noqa: BLE001 (reported below)
            errors.append(err)

    threads = [threading.Thread(target=guarded) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


@pytest.mark.parametrize("compiled", [False, True])
def test_backward_from_several_threads_adds_every_gradient(compiled):
    w = leaf(np.zeros(3))
    step = (lambda: (w * 1.0).sum()) if not compiled else tl.compile(lambda: (w * 1.0).sum())

    def work():
        for _ in range(300):
            step().backward()

    sys.setswitchinterval(1e-6)  # threads take turns as often as they can: a lost update shows
    try:
        run_in_threads(work)
    finally:
        sys.setswitchinterval(0.005)
    np.testing.assert_array_equal(w.grad.numpy(), [1200.0] * 3)


def test_a_trace_in_one_thread_does_not_reach_into_another():
    started, release = threading.Event(), threading.Event()

    def slow(x):
        started.set()
        release.wait(10)
        return (x * 2).sum()

    f = tl.compile(slow)
    tracer = threading.Thread(target=lambda: f(leaf([1.0, 1.0])))
    tracer.start()
    assert started.wait(10)
    try:
        w = leaf([1.0, 2.0])
        (w * w).sum().backward()  # eager, in this thread, while the other traces
        sgd = tl.optim.SGD([w], lr=0.1)
        sgd.step()
        np.testing.assert_allclose(w.numpy(), [0.8, 1.6])
    finally:
        release.set()
        tracer.join()


def test_threads_making_their_first_calls_together_all_get_the_right_numbers():
    tl.manual_seed(0)
    lstm = tl.nn.LSTM(3, 4)
    f = tl.compile(lambda x: lstm(x)[0].sum())
    x = np.random.default_rng(0).standard_normal((5, 2, 3)).astype(np.float32)
    expected = float(lstm(x)[0].sum())
    results = []

    def work():
        for _ in range(4):
            results.append(float(f(x)))

    run_in_threads(work)
    assert results == [expected] * 16


def test_traces_in_two_threads_at_once_each_see_their_own_ops_and_leave_nothing_behind():
    # thread A's trace waits while thread B traces, checks and replays a function of its own:
    # both must come out right, and no tracer may stay installed in either thread afterwards
    started, release = threading.Event(), threading.Event()
    w = leaf(np.arange(3.0))

    def slow(x):
        started.set()
        release.wait(10)
        return (x * w).sum()

    def quick(x):
        return (x * w * w).sum()

    a, b = tl.compile(slow), tl.compile(quick)
    results = {}
    tracer = threading.Thread(target=lambda: results.setdefault("a", float(a(leaf([1.0, 1.0, 1.0])))))
    tracer.start()
    assert started.wait(10)
    try:
        other = threading.Thread(
            target=lambda: results.setdefault("b", [float(b(leaf([k, 1.0, 1.0]))) for k in range(4)])
        )
        other.start()
        other.join(10)
        assert not other.is_alive(), "a trace in one thread blocked another thread's trace"
    finally:
        release.set()
        tracer.join(10)
    assert results == {"a": 3.0, "b": [5.0, 5.0, 5.0, 5.0]}
    assert tl.grad_mode.current_tracer() is None and tl.grad_mode.hook.traces == 0
    (w * 2).sum().backward()  # not refused as if inside a trace
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 2.0, 2.0])


def test_a_compiled_function_first_called_by_a_worker_during_a_trace_does_not_hang():
    from concurrent.futures import ThreadPoolExecutor

    w = leaf(np.ones(2))
    shard = tl.compile(lambda x: (x * w).sum())
    with ThreadPoolExecutor(2) as pool:
        outer = tl.compile(lambda x: x.sum() + pool.submit(shard, leaf([1.0, 2.0])).result(10).detach())
        done = []
        runner = threading.Thread(target=lambda: done.append(float(outer(leaf([1.0])))))
        runner.start()
        runner.join(20)
    assert not runner.is_alive(), "the trace waited for a worker that waited for the trace"
    assert done == [4.0]


@pytest.mark.parametrize("grad", [True, False])
def test_a_tensor_a_worker_thread_made_during_the_trace_is_refused(grad):
    from concurrent.futures import ThreadPoolExecutor

    w = leaf(np.ones((2, 2)))
    with ThreadPoolExecutor(2) as pool:
        step = tl.compile(lambda x: sum(pool.map(lambda part: (part @ w).tanh().sum(), [x[:1], x[1:]])))
        with tl.set_grad_enabled(grad), pytest.raises(RuntimeError, match="another thread"):
            step(np.ones((2, 2)))


# ----- what an argument may be -------------------------------------------------------------------


def test_an_object_told_apart_by_identity_only_is_refused_as_an_argument():
    class Batch:
        x = np.ones(2)

    f = tl.compile(lambda batch: Tensor(batch.x).sum())
    with pytest.raises(TypeError, match="argument of type Batch is told apart by its identity"):
        f(Batch())
    with pytest.raises(TypeError, match="list_iterator"):
        f(iter([np.ones(2)]))


def test_a_parameters_own_array_passed_as_an_argument_leaves_the_parameter_itself():
    w = leaf(np.arange(6.0).reshape(2, 3) / 7)

    def fn(x, anchor):
        return ((x @ w) ** 2).sum() + ((w - anchor) ** 2).sum()

    step = tl.compile(fn)
    x = np.ones((2, 2))
    for anchor in (w.data, w.data, w.data + 1.0, w.data * 2):
        w.grad = None
        fn(x, anchor).backward()
        expected_value, expected_grad = None, w.grad.numpy().copy()
        w.grad = None
        out = step(x, anchor)
        out.backward()
        expected_value = float(fn(x, anchor))
        assert float(out) == expected_value
        np.testing.assert_allclose(w.grad.numpy(), expected_grad, rtol=1e-12)


def test_an_array_argument_no_op_reads_is_warned_of_at_the_trace():
    w = leaf([1.0, 2.0])
    f = tl.compile(lambda x, temperature: (w * x * (1.0 / temperature)).sum())
    with pytest.warns(UserWarning, match="argument 1 .* reaches no op"):
        f(np.ones(2), np.array(2.0))
    g = tl.compile(lambda x, temperature: (w * x * (1.0 / temperature)).sum())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a 0-d Tensor is read by ops: no warning, and right at every value
        assert [float(g(np.ones(2), Tensor(t))) for t in (2.0, 2.0, 1.0, 0.5)] == [1.5, 1.5, 3.0, 6.0]


def test_a_retracing_warning_names_the_argument_that_keeps_changing():
    import dataclasses

    @dataclasses.dataclass(frozen=True)
    class Batch:
        x: Tensor

    f = tl.compile(lambda batch: batch.x.sum())
    with pytest.warns(UserWarning, match="an argument of type Batch selects a tape by its value"):
        for _ in range(20):
            f(Batch(Tensor(np.ones(2))))


# ----- exact replays with mixed dtypes -----------------------------------------------------------


def test_an_exact_replay_of_gates_whose_gradients_differ_in_dtype_is_bit_identical():
    rng = np.random.default_rng(0)
    w = leaf(rng.standard_normal((5, 8)), np.float32)
    scale = rng.standard_normal((3, 4))  # float64: one gate's gradient comes back in float64

    def fn(x):
        a, b = (x @ w).split(4, axis=1)
        a, b = a.sigmoid(), b.tanh()
        return (b * b).sum() + (a * scale).sum().to(np.float32)

    assert_exact_replay(fn, w, [rng.standard_normal((3, 5)).astype(np.float32) for _ in range(4)])


def test_an_exact_replay_sums_a_pieces_mixed_dtype_gradients_as_eager():
    rng = np.random.default_rng(0)
    w = leaf(rng.standard_normal((5, 4)), np.float32)
    s64 = rng.standard_normal(4)

    def fn(x):
        r0, r1, r2 = (x @ w).unbind(0)
        return (r0 * s64).sum().to(np.float32) + (r0 * 2).sum() + (r0 * r0).sum()

    assert_exact_replay(fn, w, [rng.standard_normal((3, 5)).astype(np.float32) for _ in range(4)])


def assert_exact_replay(fn, w, inputs):
    step = tl.compile(fn, exact=True)
    for x in inputs:
        w.grad = None
        fn(x).backward()
        eager = w.grad.numpy().copy()
        w.grad = None
        step(x).backward()
        assert w.grad.numpy().tobytes() == eager.tobytes()


# ----- semantics ---------------------------------------------------------------------------------


def test_two_outputs_of_one_call_go_back_one_after_the_other_as_eagerly():
    a, b = leaf([1.0, 2.0]), leaf([3.0])
    f = tl.compile(lambda a, b: ((a * 2).sum(), (b * 3).sum()))
    for _ in range(3):
        a.grad = b.grad = None
        first, second = f(a, b)
        first.backward()
        second.backward()
        np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])
        np.testing.assert_array_equal(b.grad.numpy(), [3.0])


def test_going_back_twice_through_the_same_compiled_ops_is_refused_as_eagerly():
    a = leaf([1.0, 2.0])

    def both(a):
        square = a * a  # both outputs need this op's saved values
        return square.sum(), square.mean()

    for fn in (both, tl.compile(both)):  # eagerly, then compiled (the trace, the checked replay, a replay)
        for _ in range(3):
            first, second = fn(a)
            first.backward()
            with pytest.raises(RuntimeError, match="already gone back through"):
                second.backward()


def test_enable_grad_inside_a_compiled_function_records_a_graph_at_every_call():
    w = leaf([2.0])

    def f(x):
        with tl.enable_grad():
            return (w * x).sum()

    g = tl.compile(f)
    for call in range(3):
        with tl.no_grad():
            out = g(np.array([3.0]))
        assert out.requires_grad, f"call {call}"
        w.grad = None
        out.backward()
        np.testing.assert_array_equal(w.grad.numpy(), [3.0])


def test_a_parameter_given_another_shape_between_calls_is_traced_again():
    w = leaf(np.ones((2, 3)))
    f = tl.compile(lambda x: (x @ w).sum())
    for _ in range(3):
        f(np.ones((1, 2)))
    w.data = np.ones((2, 5))
    out = f(np.ones((1, 2)))
    assert float(out) == 10.0
    out.backward()
    assert w.grad.shape == (2, 5)


# ----- the tape cache --------------------------------------------------------------------------


def test_the_tape_cache_keeps_at_most_its_limit_and_warns_of_retracing():
    f = tl.compile(lambda x: (x * 2).sum())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for n in range(1, 41):
            f(Tensor(np.ones(n)))
    assert len(f.tapes) == f.cache_size == 16
    said = [str(w.message) for w in caught if "traced" in str(w.message)]
    assert said and "shapes" in said[0] and "tl.compile" in said[0]
    assert len(said) == 1  # said once, not at every call


def test_a_python_number_argument_is_part_of_the_tape_and_the_warning_says_so():
    x = leaf([1.0])
    f = tl.compile(lambda x, scale: (x * scale).sum())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(30):
            assert float(f(x, 0.5 + k)) == 0.5 + k
    said = [str(w.message) for w in caught if "traced" in str(w.message)]
    assert said and "a Python number" in said[0] and "0-d Tensor" in said[0]


# ----- the command line and pages ----------------------------------------------------------------


def test_eval_plot_of_a_history_without_the_task_metric_is_one_line(tmp_path, capsys):
    from tinygrad_lstm import checkpoint
    from tinygrad_lstm.cli import main

    path = tmp_path / "s.npz"
    assert (
        main(
            [
                "train",
                "sine",
                "--steps",
                "3",
                "--seq-len",
                "4",
                "--hidden",
                "4",
                "--no-progress",
                "--checkpoint",
                str(path),
            ]
        )
        == 0
    )
    weights, meta, training = checkpoint.read(path)
    meta["training"]["held_out"] = [[3, {"accuracy": 0.5}]]
    checkpoint.save(weights, path, meta=meta, training=training)
    pytest.importorskip("matplotlib")
    with pytest.raises(SystemExit) as info:
        main(["eval", str(path), "--plot", str(tmp_path / "c.png")])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "holds no mse history to plot" in err and err.count("\n") == 1


def test_output_into_a_closed_pipe_ends_quietly(tmp_path):
    from tinygrad_lstm.cli import main

    path = tmp_path / "s.npz"
    assert (
        main(
            [
                "train",
                "sine",
                "--steps",
                "3",
                "--seq-len",
                "4",
                "--hidden",
                "4",
                "--no-progress",
                "--checkpoint",
                str(path),
            ]
        )
        == 0
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout buffered, as in a terminal's pipe
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"{sys.executable} -m tinygrad_lstm eval {path} | true"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.stderr == "" and done.returncode in (0, 1), (done.returncode, done.stderr)


@pytest.mark.parametrize("timeout", ["1e10", "inf", "0"])
def test_a_timeout_too_large_for_the_clock_is_one_line(tmp_path, capsys, timeout):
    from tinygrad_lstm.cli import main

    with pytest.raises(SystemExit) as info:
        main(["graph", "-o", str(tmp_path / "g.html"), "--timeout", timeout])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "timeout" in err and "Traceback" not in err
    with pytest.raises(ValueError, match="timeout"):
        tl.viz.explore((leaf([1.0]) * 2).sum(), timeout=float(timeout))
