"""Making tensors: dtypes, conversions, refusals."""

import numpy as np
import pytest

from tinygrad_lstm import Tensor


def test_lists_become_float32_and_arrays_keep_dtype():
    assert Tensor([[1, 2], [3, 4]]).dtype == np.float32
    assert Tensor(2.5).dtype == np.float32
    assert Tensor(np.zeros(3, dtype=np.float64)).dtype == np.float64
    assert Tensor(np.zeros(3, dtype=np.int64)).dtype == np.int64
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64


def test_numpy_and_array_give_the_data():
    data = np.arange(6.0).reshape(2, 3)
    t = Tensor(data)
    np.testing.assert_array_equal(t.numpy(), data)
    np.testing.assert_array_equal(np.asarray(t), data)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.T.shape == (3, 2)


def test_constructor_copies_so_the_callers_array_is_safe():
    data = np.zeros(3)
    t = Tensor(data)
    t.data += 1
    np.testing.assert_array_equal(data, [0, 0, 0])


@pytest.mark.parametrize(
    "bad, error, pattern",
    [
        ([[1, 2], [3]], ValueError, "rectangular"),
        ("abc", TypeError, "numbers"),
        (None, TypeError, "numbers"),
        ([1, "a"], TypeError, "numbers"),
        ([1 + 2j], TypeError, "complex"),
        ({"a": 1}, TypeError, "numbers"),
    ],
)
def test_bad_data_is_refused(bad, error, pattern):
    with pytest.raises(error, match=pattern):
        Tensor(bad)


def test_requires_grad_needs_float():
    with pytest.raises(TypeError, match="floating"):
        Tensor(np.arange(3), requires_grad=True)


def test_pow_needs_scalar_exponent():
    with pytest.raises(TypeError, match="scalar"):
        Tensor([1.0]) ** Tensor([2.0])


def test_repr_shows_graph_state():
    x = Tensor([1.0], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    assert "grad_fn=<Mul>" in repr(x * 2)
