"""nn modules without torch: gradcheck of the LSTM, state dicts, checkpoints, errors."""

import os

import numpy as np
import pytest

import tinygrad_lstm as tl
from tinygrad_lstm import Tensor


def test_lstm_gradients_by_finite_differences():
    tl.manual_seed(0)
    lstm = tl.nn.LSTM(2, 3, num_layers=2, dtype=np.float64)
    x = Tensor(np.random.default_rng(0).standard_normal((4, 2, 2)), requires_grad=True)

    def run(x, *params):
        out, (h, c) = lstm(x)
        return out.sum(axis=0) + (h * c).sum(axis=0)

    assert tl.gradcheck(run, [x, *lstm.parameters()])


def test_state_dict_names_and_shapes_follow_torch():
    lstm = tl.nn.LSTM(10, 20, num_layers=2)
    shapes = {k: v.shape for k, v in lstm.state_dict().items()}
    assert shapes == {
        "weight_ih_l0": (80, 10),
        "weight_hh_l0": (80, 20),
        "bias_ih_l0": (80,),
        "bias_hh_l0": (80,),
        "weight_ih_l1": (80, 20),
        "weight_hh_l1": (80, 20),
        "bias_ih_l1": (80,),
        "bias_hh_l1": (80,),
    }
    assert all(v.dtype == np.float32 for v in lstm.state_dict().values())


def test_state_dict_is_a_copy():
    lin = tl.nn.Linear(2, 2)
    state = lin.state_dict()
    state["weight"][...] = 99
    assert not np.any(lin.weight.numpy() == 99)


def test_load_state_dict_refuses_mismatch_and_changes_nothing():
    lstm = tl.nn.LSTM(3, 4)
    before = lstm.state_dict()
    bad = dict(before)
    bad["weight_hh_l0"] = np.zeros((16, 5))
    del bad["bias_ih_l0"]
    bad["extra"] = np.zeros(1)
    bad["weight_ih_l0"] = np.zeros((16, 3)) + 7  # valid on its own, must still not be applied
    with pytest.raises(ValueError) as info:
        lstm.load_state_dict(bad)
    message = str(info.value)
    assert "missing keys: bias_ih_l0" in message and "unexpected keys: extra" in message
    assert "weight_hh_l0: expected shape (16, 4), got (16, 5)" in message
    for k, v in lstm.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_checkpoint_roundtrip_and_meta(tmp_path):
    tl.manual_seed(1)
    model = tl.nn.LSTM(3, 4)
    path = tmp_path / "model.npz"
    tl.save(model.state_dict(), path, meta={"task": "adding", "hidden": 4})
    other = tl.nn.LSTM(3, 4)
    other.load_state_dict(tl.load(path))
    for (_k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a, b)
    assert tl.checkpoint.load_meta(path) == {"task": "adding", "hidden": 4}
    with np.load(path, allow_pickle=False) as archive:  # a plain npz, no pickles inside
        assert set(archive.files) >= set(model.state_dict())


def test_checkpoint_failure_leaves_no_file(tmp_path):
    path = tmp_path / "bad.npz"
    with pytest.raises(TypeError):
        tl.save({"w": np.zeros(2), "meta": np.array(["text"])}, path)
    with pytest.raises(TypeError):
        tl.save({"w": np.zeros(2)}, path, meta={"not json": object()})
    assert os.listdir(tmp_path) == []


def test_dropout_only_in_training_and_keeps_the_mean():
    tl.manual_seed(2)
    layer = tl.nn.Dropout(0.25)
    x = Tensor(np.ones(100_000))
    y = layer(x).numpy()
    assert abs((y == 0).mean() - 0.25) < 0.01 and abs(y.mean() - 1) < 0.02
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())


def test_lstm_dropout_between_layers_changes_training_output_only():
    tl.manual_seed(3)
    lstm = tl.nn.LSTM(2, 3, num_layers=2, dropout=0.5)
    x = np.random.default_rng(3).standard_normal((4, 1, 2)).astype(np.float32)
    a, b = lstm(x)[0].numpy(), lstm(x)[0].numpy()
    assert not np.allclose(a, b)
    lstm.eval()
    np.testing.assert_array_equal(lstm(x)[0].numpy(), lstm(x)[0].numpy())


def test_modules_list_parameters_and_zero_grad():
    class Net(tl.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = tl.nn.Embedding(5, 3)
            self.rnn = tl.nn.LSTM(3, 4)
            self.head = tl.nn.Linear(4, 2)

        def forward(self, tokens):
            out, _ = self.rnn(self.embed(tokens))
            return self.head(out[-1])

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names[:2] == ["embed.weight", "rnn.weight_ih_l0"] and names[-1] == "head.bias"
    loss = net(np.array([[0, 1], [4, 4], [2, 3]])).sum()
    loss.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert "LSTM(3, 4)" in repr(net)


def test_embedding_gradient_adds_rows_used_twice():
    emb = tl.nn.Embedding(4, 2, dtype=np.float64)
    emb(np.array([1, 1, 3])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.numpy(), [[0, 0], [2, 2], [0, 0], [1, 1]])


@pytest.mark.parametrize(
    "call, error, pattern",
    [
        (lambda: tl.nn.LSTM(3, 4)(np.zeros((5, 2, 7))), ValueError, r"LSTM: expected input .*3\).*\(5, 2, 7\)"),
        (lambda: tl.nn.LSTM(3, 4)(np.zeros((5, 2, 3)), (np.zeros((1, 2, 4)),)), ValueError, r"\(h, c\)"),
        (
            lambda: tl.nn.LSTM(3, 4)(np.zeros((5, 2, 3)), (np.zeros((1, 3, 4)), np.zeros((1, 3, 4)))),
            ValueError,
            r"initial state of shape \(1, 2, 4\), got \(1, 3, 4\)",
        ),
        (lambda: tl.nn.LSTM(3, 0), ValueError, "hidden_size must be a positive integer"),
        (lambda: tl.nn.LSTM(3, 4, dropout=1.5), ValueError, "dropout"),
        (
            lambda: tl.nn.Linear(3, 2)(Tensor(np.zeros((4, 5)), dtype=np.float32)),
            ValueError,
            r"Linear: expected .*3.*\(4, 5\)",
        ),
        (lambda: tl.nn.Embedding(3, 2)(np.array([0, 3])), IndexError, r"\[0, 3\)"),
        (lambda: tl.nn.Embedding(3, 2)(np.array([0.5])), TypeError, "integers"),
        (lambda: tl.functional.mse_loss(Tensor(np.zeros((4, 1))), np.zeros(4)), ValueError, r"\(4, 1\) and \(4,\)"),
        (
            lambda: tl.functional.cross_entropy(Tensor(np.zeros((4, 3))), np.array([0, 1, 2, 3])),
            IndexError,
            r"\[0, 3\)",
        ),
        (lambda: tl.optim.SGD([], lr=0.1), ValueError, "no parameters"),
        (lambda: tl.optim.Adam(tl.nn.Linear(1, 1).parameters(), lr=-1), ValueError, "lr must be positive"),
    ],
)
def test_bad_calls_say_what_was_expected(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_load_state_dict_puts_back_what_it_wrote_when_a_later_parameter_fails():
    lstm = tl.nn.LSTM(3, 4)
    before = lstm.state_dict()
    lstm.weight_hh_l0.data.flags.writeable = False  # written after weight_ih_l0, which succeeds first
    new = {k: v + 1 for k, v in before.items()}
    with pytest.raises(ValueError, match="weight_hh_l0.*no parameter was changed"):
        lstm.load_state_dict(new)
    for name, value in lstm.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)
    assert all(p._version == 0 for p in lstm.parameters())
    with pytest.raises(TypeError, match="dict"):
        lstm.load_state_dict([("weight_ih_l0", before["weight_ih_l0"])])
