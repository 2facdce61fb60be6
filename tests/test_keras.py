"""Keras's weights in and out of LSTM, GRU and RNN: the same outputs as Keras's layers (when
Keras is installed), and clear refusals that leave the module as it was."""

import os

import numpy as np
import pytest

import tinygrad_lstm as tl

KINDS = {"LSTM": tl.nn.LSTM, "GRU": tl.nn.GRU, "SimpleRNN": tl.nn.RNN}
I, H, B, T = 3, 5, 4, 7


def randomized(module, seed=0):
    """module with every parameter drawn anew, biases included (so b_ih and b_hh differ)."""
    rng = np.random.default_rng(seed)
    module.load_state_dict({k: rng.uniform(-0.6, 0.6, v.shape) for k, v in module.state_dict().items()})
    return module


def outputs(module, x):
    out, _ = module(x)
    return out.numpy()


def assert_unchanged(module, before):
    for name, value in module.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


@pytest.mark.parametrize("kind", list(KINDS))
def test_keras_weights_carry_over_to_another_module_unchanged(kind):
    """ours -> Keras's list -> ours: the same parameters (the LSTM's and RNN's two biases are
    one in Keras: their sum comes back as b_ih, with b_hh = 0, and computes the same)."""
    ours = randomized(KINDS[kind](I, H, num_layers=2, batch_first=True))
    again = KINDS[kind](I, H, num_layers=2, batch_first=True)
    for layer in range(2):
        weights = ours.keras_weights(layer)
        again.load_keras_weights(weights, layer=layer)
        for got, sent in zip(again.keras_weights(layer), weights):
            np.testing.assert_array_equal(got, sent)
    x = np.random.default_rng(1).standard_normal((B, T, I))
    np.testing.assert_allclose(outputs(again, x), outputs(ours, x), atol=1e-6)


def test_the_gru_keeps_both_biases_in_keras_order():
    gru = randomized(tl.nn.GRU(I, H))
    kernel, recurrent, bias = gru.keras_weights()
    r, z, n = np.split(gru.weight_ih_l0.numpy(), 3)
    np.testing.assert_array_equal(kernel, np.concatenate([z, r, n]).T)  # Keras's z, r, h
    assert recurrent.shape == (H, 3 * H) and bias.shape == (2, 3 * H)
    np.testing.assert_array_equal(bias[1, :H], gru.bias_hh_l0.numpy()[H : 2 * H])  # z's recurrent bias


@pytest.mark.parametrize(
    "kind, weights, expected",
    [
        ("LSTM", "GRU", "as a Keras GRU (reset_after=True) of 5 units holds them"),
        ("GRU", "LSTM", "as a Keras LSTM of 5 units holds them"),
        ("SimpleRNN", "LSTM", "as a Keras LSTM of 5 units holds them"),
        ("GRU", "GRU, reset_after=False", "as a Keras GRU with reset_after=False of 5 units holds them"),
        ("LSTM", "two arrays", "got 2 array(s) of shapes (3, 20), (5, 20)"),
        ("LSTM", "transposed", "got 3 array(s) of shapes (20, 3), (20, 5), (20,)"),
        ("LSTM", "text", "and dtype <U1"),
    ],
)
def test_wrong_weights_are_refused_naming_what_was_expected_and_nothing_changes(kind, weights, expected):
    module = randomized(KINDS[kind](I, H))
    lstm = tl.nn.LSTM(I, H).keras_weights()
    given = {
        "GRU": tl.nn.GRU(I, H).keras_weights(),
        "LSTM": lstm,
        "GRU, reset_after=False": [*tl.nn.GRU(I, H).keras_weights()[:2], np.zeros(3 * H)],
        "two arrays": lstm[:2],
        "transposed": [w.T for w in lstm],
        "text": [*lstm[:2], np.array(["a"] * 4 * H)],
    }[weights]
    before = module.state_dict()
    with pytest.raises(ValueError) as info:
        module.load_keras_weights(given)
    message = str(info.value)
    assert message.startswith(f"{type(module).__name__}.load_keras_weights: expected the weights of a Keras {kind}")
    assert expected in message and message.endswith("(no parameter was changed)")
    assert_unchanged(module, before)


@pytest.mark.parametrize("layer", [1, -1, 0.0, True, "0"])
def test_a_layer_the_module_lacks_is_refused(layer):
    lstm = tl.nn.LSTM(I, H)
    weights = lstm.keras_weights()
    with pytest.raises(ValueError, match=r"^LSTM: layer must be an integer from 0 to 0 \(num_layers is 1\)"):
        lstm.load_keras_weights(weights, layer=layer)
    with pytest.raises(ValueError, match="layer must be"):
        lstm.keras_weights(layer)


def test_not_a_list_is_refused():
    with pytest.raises(TypeError, match="expected the list Keras's layer.get_weights"):
        tl.nn.LSTM(I, H).load_keras_weights({"kernel": np.zeros((I, 4 * H))})


@pytest.mark.parametrize("name", ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"])
def test_a_graph_made_before_loading_cannot_go_back(name):
    """Loading marks each parameter changed, as load_state_dict does: a graph that saved one
    (w * w saves w) refuses to go back through the old values."""
    lstm = tl.nn.LSTM(I, H)
    w = getattr(lstm, name)
    loss = (w * w).sum()
    lstm.load_keras_weights(randomized(tl.nn.LSTM(I, H)).keras_weights())
    with pytest.raises(RuntimeError, match=f"changed in place by load_keras_weights \\({name}\\)"):
        loss.backward()


# ----- against Keras itself --------------------------------------------------------------------

# Keras's own calls of np.array on its tensors warn under numpy 2; nothing of ours
keras_warnings = pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")


@pytest.fixture(scope="module")
def keras():
    pytest.importorskip("torch")  # the backend Keras computes with here
    os.environ["KERAS_BACKEND"] = "torch"  # read once, when keras is first imported
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"keras was imported earlier with the {keras.backend.backend()} backend")
    return keras


def keras_layer(keras, kind, units, inputs):
    layer = getattr(keras.layers, kind)(units, return_sequences=True)
    layer.build((None, None, inputs))
    return layer


def keras_outputs(layer, x):
    return np.asarray(layer(x.astype(np.float32)).detach().cpu())


@keras_warnings
@pytest.mark.parametrize("kind", list(KINDS))
def test_outputs_match_a_keras_layer_with_its_weights(keras, kind):
    x = np.random.default_rng(2).standard_normal((B, T, I)).astype(np.float32)
    layer = keras_layer(keras, kind, H, I)
    rng = np.random.default_rng(3)
    layer.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype(np.float32) for w in layer.get_weights()])
    ours = KINDS[kind](I, H, batch_first=True)
    ours.load_keras_weights(layer.get_weights())
    np.testing.assert_allclose(outputs(ours, x), keras_outputs(layer, x), atol=1e-5)


@keras_warnings
@pytest.mark.parametrize("kind", list(KINDS))
def test_keras_computes_our_outputs_with_our_weights(keras, kind):
    """Ours -> Keras, two stacked layers: layer=k gives the k-th Keras layer's weights."""
    x = np.random.default_rng(4).standard_normal((B, T, I)).astype(np.float32)
    ours = randomized(KINDS[kind](I, H, num_layers=2, batch_first=True), seed=5)
    first, second = keras_layer(keras, kind, H, I), keras_layer(keras, kind, H, H)
    first.set_weights(ours.keras_weights(0))
    second.set_weights(ours.keras_weights(1))
    theirs = np.asarray(second(first(x)).detach().cpu())
    np.testing.assert_allclose(theirs, outputs(ours, x), atol=1e-5)
