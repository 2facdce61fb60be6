"""Optimizers and clip_grad_norm_: what they refuse (and that a refusal changes nothing),
grads of another dtype, and, when torch is installed, their numbers step by step."""

import copy
import math
import re

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import Tensor
from tinygrad_lstm.nn import Parameter

OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.5, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.5, 0.9), eps=1e-6)),
]


def make(name, params, **kwargs):
    return getattr(tl.optim, name)(params, **kwargs)


def two_params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal((3, 2)).astype(dtype)), Parameter(rng.standard_normal(4).astype(dtype))]


def snapshot(opt):
    """Everything an optimizer holds besides its parameter list, copied."""
    return copy.deepcopy({k: v for k, v in vars(opt).items() if k != "params"})


def assert_same(a, b):
    """Equal nested state: dicts, lists, arrays (dtype included), numbers, None."""
    assert type(a) is type(b)
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


# ----- hyperparameters ----------------------------------------------------------------

NAN, INF = float("nan"), float("inf")
AT_LEAST_0 = r"positive or 0 \(a finite number\)"

BAD_HYPERPARAMETERS = [
    ("SGD", dict(lr=-0.1), ValueError, r"SGD: lr must be positive or 0.*got -0\.1"),
    ("SGD", dict(lr=NAN), ValueError, rf"SGD: lr must be {AT_LEAST_0}, got nan"),
    ("SGD", dict(lr=INF), ValueError, rf"SGD: lr must be {AT_LEAST_0}, got inf"),
    ("SGD", dict(lr="0.1"), TypeError, rf"SGD: lr must be {AT_LEAST_0}, got '0\.1' \(str\)"),
    ("SGD", dict(lr=None), TypeError, rf"SGD: lr must be {AT_LEAST_0}, got None"),
    ("SGD", dict(lr=True), TypeError, rf"SGD: lr must be {AT_LEAST_0}, got True \(bool\)"),
    ("SGD", dict(lr=np.array([0.1, 0.2])), TypeError, rf"SGD: lr must be {AT_LEAST_0}, got array.*\(ndarray\)"),
    ("SGD", dict(lr=0.1, momentum=-0.5), ValueError, r"SGD: momentum must be positive or 0.*got -0\.5"),
    ("SGD", dict(lr=0.1, momentum=NAN), ValueError, rf"SGD: momentum must be {AT_LEAST_0}, got nan"),
    ("SGD", dict(lr=0.1, momentum="0.9"), TypeError, rf"SGD: momentum must be {AT_LEAST_0}, got '0\.9'"),
    ("SGD", dict(lr=0.1, weight_decay=-1), ValueError, r"SGD: weight_decay must be positive or 0.*got -1"),
    ("SGD", dict(lr=0.1, weight_decay=INF), ValueError, rf"SGD: weight_decay must be {AT_LEAST_0}, got inf"),
    ("Adam", dict(lr=-1e-3), ValueError, r"Adam: lr must be positive or 0.*got -0\.001"),
    ("Adam", dict(lr=NAN), ValueError, rf"Adam: lr must be {AT_LEAST_0}, got nan"),
    ("Adam", dict(eps=-1e-8), ValueError, r"Adam: eps must be positive or 0.*got -1e-08"),
    ("Adam", dict(eps=NAN), ValueError, rf"Adam: eps must be {AT_LEAST_0}, got nan"),
    ("Adam", dict(weight_decay=NAN), ValueError, rf"Adam: weight_decay must be {AT_LEAST_0}, got nan"),
    ("Adam", dict(weight_decay=-0.1), ValueError, r"Adam: weight_decay must be positive or 0.*got -0\.1"),
    ("Adam", dict(betas=(0.9, 1.0)), ValueError, r"Adam: betas\[1\] must be .*\[0, 1\).*got 1\.0"),
    ("Adam", dict(betas=(-0.1, 0.999)), ValueError, r"Adam: betas\[0\] must be .*\[0, 1\).*got -0\.1"),
    ("Adam", dict(betas=(NAN, 0.999)), ValueError, r"Adam: betas\[0\] must be a finite number.*got nan"),
    ("Adam", dict(betas=(0.9, "0.999")), TypeError, r"Adam: betas\[1\] must be a finite number.*got '0\.999'"),
    ("Adam", dict(betas=(0.9,)), TypeError, r"Adam: betas must be a pair \(beta1, beta2\), got \(0\.9,\)"),
    ("Adam", dict(betas=0.9), TypeError, r"Adam: betas must be a pair \(beta1, beta2\), got 0\.9"),
    ("Adam", dict(betas=(0.9, 0.99, 0.999)), TypeError, r"Adam: betas must be a pair"),
]


@pytest.mark.parametrize("name, kwargs, error, pattern", BAD_HYPERPARAMETERS, ids=str)
def test_bad_hyperparameters_are_refused_by_name(name, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        make(name, two_params(), **kwargs)


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("SGD", dict(lr=0)),  # torch allows lr = 0: the parameters stay where they are
        ("SGD", dict(lr=1, momentum=1, weight_decay=0)),  # torch bounds momentum below only
        ("SGD", dict(lr=np.float32(0.1), momentum=np.float64(0.9))),
        ("Adam", dict(lr=0.0, betas=(0, 0), eps=0, weight_decay=0)),
        ("Adam", dict(lr=1e-3, betas=[np.float32(0.5), 0.9])),
    ],
    ids=str,
)
def test_torchs_ranges_are_accepted(name, kwargs):
    params = two_params()
    before = [p.data.copy() for p in params]
    opt = make(name, params, **kwargs)
    for p in params:
        p.grad = Tensor(np.ones_like(p.data))
    opt.step()
    if kwargs["lr"] == 0:
        for p, b in zip(params, before):
            np.testing.assert_array_equal(p.data, b)


# ----- the parameter list -------------------------------------------------------------


def _bad_params():
    w = Parameter(np.zeros((2, 2)))
    v = Parameter(np.zeros(3))
    return [
        ([], ValueError, r"SGD: got no parameters to optimize"),
        (iter([]), ValueError, r"SGD: got no parameters to optimize"),
        (5, TypeError, r"SGD: params must be an iterable of Tensors, got int"),
        (
            tl.nn.Linear(2, 2),
            TypeError,
            r"SGD: params must be an iterable of Tensors, got Linear; "
            r"pass model\.parameters\(\)",
        ),
        (w, TypeError, r"SGD: params must be an iterable of Tensors, got a single Tensor.*\[w\]"),
        (np.zeros(3), TypeError, r"SGD: params must be an iterable of Tensors, got a numpy array"),
        ({w, v}, TypeError, r"SGD: params must be in a fixed order .*got a set"),
        ((i for i in range(3)), TypeError, r"SGD: params\[0\] must be a Tensor, got int"),
        ([w, np.zeros(3)], TypeError, r"SGD: params\[1\] must be a Tensor, got ndarray"),
        ([{"params": [w]}], TypeError, r"SGD: params\[0\] must be a Tensor, got dict"),
        ([Tensor(np.zeros(3, dtype=np.int64))], TypeError, r"SGD: params\[0\] must be floating.*got dtype int64"),
        ([w * 2], ValueError, r"SGD: params\[0\] is not a leaf.*made by Mul"),
        ([w, v, w], ValueError, r"SGD: params\[0\] and params\[2\] are the same Tensor"),
        ([v, w, w], ValueError, r"SGD: params\[1\] and params\[2\] are the same Tensor"),
    ]


@pytest.mark.parametrize("case", range(len(_bad_params())))
def test_bad_parameter_lists_are_refused(case):
    params, error, pattern = _bad_params()[case]
    with pytest.raises(error, match=pattern):
        tl.optim.SGD(params, lr=0.1)


def test_adam_names_itself_in_parameter_errors():
    w = Parameter(np.zeros(2))
    with pytest.raises(ValueError, match=r"Adam: params\[0\] and params\[1\] are the same Tensor"):
        tl.optim.Adam([w, w])


def test_duplicates_are_found_by_identity_not_by_value():
    # equal values, different tensors: both are optimized
    a, b = Parameter(np.zeros(2)), Parameter(np.zeros(2))
    opt = tl.optim.SGD([a, b], lr=1.0)
    a.grad, b.grad = Tensor(np.ones(2)), Tensor(np.full(2, 2.0))
    opt.step()
    np.testing.assert_array_equal(a.data, [-1, -1])
    np.testing.assert_array_equal(b.data, [-2, -2])


def test_a_generator_of_parameters_is_read_once():
    lin = tl.nn.Linear(2, 3)
    opt = tl.optim.Adam(p for p in lin.parameters())
    assert len(opt.params) == 2


# ----- step(): gradients of the wrong shape or kind ------------------------------------


def _prepare(name, kwargs, dtype=np.float64):
    """Two parameters, one good step taken so that the state is not all zeros."""
    params = two_params(dtype)
    opt = make(name, params, **kwargs)
    for p in params:
        p.grad = Tensor(np.full(p.shape, 0.5, dtype=dtype))
    opt.step()
    return params, opt


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=str)
@pytest.mark.parametrize("bad_shape", [(1,), (2,), (4, 1)])
def test_a_grad_of_the_wrong_shape_is_refused_and_nothing_changes(name, kwargs, bad_shape):
    params, opt = _prepare(name, kwargs)
    params[0].grad = Tensor(np.ones((3, 2)))  # fine, and listed first
    params[1].grad = Tensor(np.ones(bad_shape))  # (4,) expected
    shown = re.escape(str(bad_shape))
    assert_step_refused(
        params, opt, ValueError, rf"{name}: params\[1\] has shape \(4,\) but its \.grad has shape {shown}"
    )


def assert_step_refused(params, opt, error, message):
    """opt.step() raises error with message, and leaves the parameters and its state as they were."""
    data, state = [p.data.copy() for p in params], snapshot(opt)
    with pytest.raises(error, match=message):
        opt.step()
    for p, d in zip(params, data):
        np.testing.assert_array_equal(p.data, d)
    assert_same(snapshot(opt), state)


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=str)
def test_a_grad_that_is_not_a_tensor_is_refused_and_nothing_changes(name, kwargs):
    params, opt = _prepare(name, kwargs)
    params[0].grad = Tensor(np.ones((3, 2)))
    params[1].grad = np.ones(4)
    assert_step_refused(params, opt, TypeError, rf"{name}: params\[1\]\.grad must be a Tensor or None, got ndarray")


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=str)
@pytest.mark.parametrize(
    "dtype, grad_dtype", [(np.float32, np.float64), (np.float64, np.float16), (np.float32, np.int64)]
)
def test_a_grad_of_another_dtype_is_cast_to_the_parameters(name, kwargs, dtype, grad_dtype):
    rng = np.random.default_rng(1)
    grads = [[(rng.standard_normal(s) * 3).astype(grad_dtype) for s in [(3, 2), (4,)]] for _ in range(3)]
    mixed, same = two_params(dtype), two_params(dtype)
    opt_mixed, opt_same = make(name, mixed, **kwargs), make(name, same, **kwargs)
    for step_grads in grads:
        for p, q, g in zip(mixed, same, step_grads):
            p.grad = Tensor(g)
            q.grad = Tensor(g.astype(dtype))
        opt_mixed.step()
        opt_same.step()
    for p, q in zip(mixed, same):
        assert p.dtype == dtype
        np.testing.assert_array_equal(p.data, q.data)
    state = snapshot(opt_mixed)
    assert_same(state, snapshot(opt_same))
    arrays = [a for v in state.values() if isinstance(v, list) for a in v if isinstance(a, np.ndarray)]
    assert all(a.dtype == dtype for a in arrays)
    assert arrays or name == "SGD" and not kwargs.get("momentum")  # plain SGD keeps no state


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=str)
def test_the_update_is_in_place(name, kwargs):
    params, opt = _prepare(name, kwargs, np.float32)
    arrays = [p.data for p in params]
    for p in params:
        p.grad = Tensor(np.ones(p.shape, dtype=np.float32))
    opt.step()
    assert all(p.data is a and p.dtype == np.float32 for p, a in zip(params, arrays))


# ----- clip_grad_norm_ ----------------------------------------------------------------


def _with_grads(seed=0):
    rng = np.random.default_rng(seed)
    params = two_params()
    for p in params:
        p.grad = Tensor(rng.standard_normal(p.shape) * 4)
    return params


@pytest.mark.parametrize(
    "max_norm, error, pattern",
    [
        (-1.0, ValueError, r"clip_grad_norm_: max_norm must be positive or 0.*got -1\.0"),
        (NAN, ValueError, r"clip_grad_norm_: max_norm must be positive or 0 \(inf: no clipping\), got nan"),
        ("1.0", TypeError, r"clip_grad_norm_: max_norm must be positive or 0 \(inf: no clipping\), got '1\.0' \(str\)"),
        (None, TypeError, r"clip_grad_norm_: max_norm must be positive or 0 \(inf: no clipping\), got None"),
    ],
    ids=str,
)
def test_clip_grad_norm_refuses_a_bad_max_norm_and_changes_nothing(max_norm, error, pattern):
    params = _with_grads()
    grads = [p.grad.data.copy() for p in params]
    with pytest.raises(error, match=pattern):
        tl.optim.clip_grad_norm_(params, max_norm)
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad.data, g)


def test_clip_grad_norm_refuses_what_is_not_a_tensor():
    params = _with_grads()
    grads = [p.grad.data.copy() for p in params]
    with pytest.raises(TypeError, match=r"clip_grad_norm_: params\[2\] must be a Tensor, got ndarray"):
        tl.optim.clip_grad_norm_(params + [np.ones(3)], 1.0)
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad.data, g)


def test_clip_grad_norm_refuses_a_grad_that_is_not_a_tensor():
    params = _with_grads()
    params[1].grad = np.ones(4)
    first = params[0].grad.data.copy()
    with pytest.raises(TypeError, match=r"clip_grad_norm_: params\[1\]\.grad must be a Tensor or None, got ndarray"):
        tl.optim.clip_grad_norm_(params, 0.1)
    np.testing.assert_array_equal(params[0].grad.data, first)


def test_clip_grad_norm_takes_a_single_tensor():
    (p,), (q,) = _with_grads()[:1], _with_grads()[:1]
    norm = tl.optim.clip_grad_norm_(p, 1.0)
    assert norm == tl.optim.clip_grad_norm_([q], 1.0)
    assert norm > 1 and type(norm) is float
    np.testing.assert_array_equal(p.grad.data, q.grad.data)
    np.testing.assert_allclose(np.linalg.norm(p.grad.data), 1.0, rtol=1e-5)


def test_clip_grad_norm_takes_a_generator_and_an_infinite_max_norm():
    params = _with_grads()
    grads = [p.grad.data.copy() for p in params]
    expected = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
    norm = tl.optim.clip_grad_norm_((p for p in params), INF)  # measures, clips nothing
    assert type(norm) is float
    np.testing.assert_allclose(norm, expected)
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad.data, g)
    assert tl.optim.clip_grad_norm_([Parameter(np.zeros(2))], 1.0) == 0.0  # no grads: norm 0


# ----- against torch: several steps, float32 and float64, a parameter without a grad ---


def run_against_torch(name, kwargs, dtype, skip, steps=6, seed=3):
    """Step ours and torch's optimizer side by side on the same random grads; (step, k) in
    `skip` leaves parameter k without a grad in that step. Checks parameters and state after
    every step."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    starts = [rng.standard_normal(s).astype(dtype) for s in [(3, 2), (4,), (2, 2, 2)]]
    ours = [Parameter(w.copy()) for w in starts]
    theirs = [torch.tensor(w.copy(), requires_grad=True) for w in starts]
    opt = make(name, ours, **kwargs)
    opt_t = getattr(torch.optim, name)(theirs, **kwargs)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for step in range(steps):
        opt.zero_grad()
        opt_t.zero_grad()
        for k, (p, pt) in enumerate(zip(ours, theirs)):
            if (step, k) in skip:
                continue
            g = (rng.standard_normal(p.shape) * 2).astype(dtype)
            p.grad, pt.grad = Tensor(g.copy()), torch.tensor(g.copy())
        opt.step()
        opt_t.step()
        for k, (p, pt) in enumerate(zip(ours, theirs)):
            msg = f"{name} {kwargs} {np.dtype(dtype)}: params[{k}] after step {step}"
            assert p.dtype == dtype, msg
            np.testing.assert_allclose(p.data, pt.detach().numpy(), err_msg=msg, **tol)
            state = opt_t.state[pt]
            if name == "Adam":
                taken = sum(1 for s in range(step + 1) if (s, k) not in skip)
                assert opt.steps[k] == taken == (int(state["step"]) if state else 0), msg
                if state:
                    np.testing.assert_allclose(opt.m[k], state["exp_avg"].numpy(), err_msg=msg, **tol)
                    np.testing.assert_allclose(opt.v[k], state["exp_avg_sq"].numpy(), err_msg=msg, **tol)
            elif kwargs.get("momentum"):
                buf = state.get("momentum_buffer")
                assert (opt.velocity[k] is None) == (buf is None), msg
                if buf is not None:
                    np.testing.assert_allclose(opt.velocity[k], buf.numpy(), err_msg=msg, **tol)


SKIPS = {(0, 1), (2, 0), (3, 1), (3, 2)}  # params[1] has no grad in the first step


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimizers_match_torch_step_by_step(name, kwargs, dtype):
    run_against_torch(name, kwargs, dtype, SKIPS)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_norm_matches_torch_for_a_single_tensor(dtype):
    torch = pytest.importorskip("torch")
    g = (np.random.default_rng(6).standard_normal((4, 3)) * 3).astype(dtype)
    p, pt = Parameter(np.zeros_like(g)), torch.zeros(g.shape, dtype=torch.from_numpy(g).dtype, requires_grad=True)
    p.grad, pt.grad = Tensor(g.copy()), torch.tensor(g.copy())
    norm, norm_t = tl.optim.clip_grad_norm_(p, 0.5), torch.nn.utils.clip_grad_norm_(pt, 0.5)
    np.testing.assert_allclose(norm, norm_t.item(), rtol=1e-6)
    np.testing.assert_allclose(p.grad.data, pt.grad.numpy(), rtol=1e-5)
    assert p.grad.dtype == dtype


def test_a_frozen_parameter_is_kept_and_passed_by_as_torch():
    frozen, trained = Tensor(np.ones(2)), Tensor(np.ones(2), requires_grad=True)
    optimizer = tl.optim.Adam([frozen, trained], lr=0.1)
    (trained * 2).sum().backward()
    optimizer.step()
    assert frozen.numpy().tolist() == [1.0, 1.0] and trained.numpy()[0] < 1.0


def test_a_parameter_shared_by_two_modules_is_listed_once_as_torch():
    outer = tl.nn.Module()
    outer.a, outer.b = tl.nn.Linear(2, 2), tl.nn.Linear(2, 2)
    outer.b.weight = outer.a.weight
    assert [name for name, _ in outer.named_parameters()] == ["a.weight", "a.bias", "b.bias"]
    tl.optim.SGD(outer.parameters(), lr=0.1)  # not refused as a repeat


def test_clip_grad_norm_spreads_a_nan_norm_as_torch():
    p, q = Tensor(np.zeros(2), requires_grad=True), Tensor(np.zeros(1), requires_grad=True)
    p.grad, q.grad = Tensor(np.array([3.0, 4.0])), Tensor(np.array([np.nan]))
    assert np.isnan(tl.optim.clip_grad_norm_([p, q], 1.0))
    assert np.isnan(p.grad.numpy()).all()  # not left at [3, 4] as if nothing were wrong
