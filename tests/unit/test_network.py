"""Network description: default names, validation messages, options, the file format."""
import json
import re

import numpy as np
import pytest

from compiler import LSTM, Dropout, FullyConnected, Network, NetworkError, Regression, SequenceInput, Softmax


def _classifier(rng, random_lstm, random_fc, **lstm_options):
    return Network([SequenceInput(12), random_lstm(rng, 12, 16, output_mode="last", **lstm_options),
                    Dropout(0.2), random_fc(rng, 9, 16), Softmax()])


def test_default_names_sizes_and_output_mode(rng, random_lstm, random_fc):
    net = Network([SequenceInput(12), random_lstm(rng, 12, 16), Dropout(), random_lstm(rng, 16, 8),
                   Dropout(), random_fc(rng, 5, 8), random_fc(rng, 3, 5), Softmax(), Regression()])
    assert [layer.name for layer in net.layers] == [
        "sequenceinput", "lstm_1", "dropout_1", "lstm_2", "dropout_2", "fc_1", "fc_2", "softmax", "regressionoutput"]
    assert net.layer_sizes == (12, 16, 16, 8, 8, 5, 3, 3, 3)
    assert (net.input_size, net.output_size, net.output_mode) == (12, 3, "sequence")
    assert _classifier(rng, random_lstm, random_fc).output_mode == "last"
    assert Network([SequenceInput(4)]).output_mode == "sequence"


def test_explicit_names_kept_and_duplicates_rejected(rng, random_lstm, random_fc):
    net = Network([SequenceInput(12, name="in"), random_lstm(rng, 12, 16, name="enc"), random_fc(rng, 2, 16)])
    assert [layer.name for layer in net.layers] == ["in", "enc", "fc_1"]
    with pytest.raises(NetworkError, match="lstm_1: duplicate layer name"):
        Network([SequenceInput(12), random_lstm(rng, 12, 16), random_lstm(rng, 16, 16, name="lstm_1")])
    with pytest.raises(NetworkError, match="name='a.b'"):
        Softmax(name="a.b")


def test_layers_are_resolved_copies(rng, random_lstm):
    w = rng.normal(size=(64, 12))
    layer = LSTM(16, input_weights=w, recurrent_weights=np.zeros((64, 16)), bias=np.zeros(64))
    net = Network([SequenceInput(12), layer])
    w[0, 0] = 99.0
    assert net.layers[1].input_weights[0, 0] != 99.0 and layer.name is None
    with pytest.raises(ValueError):
        net.layers[1].input_weights[0, 0] = 1.0  # read-only


@pytest.mark.parametrize("field, shape, expected", [
    ("input_weights", (64, 10), "(64, 12)"),
    ("recurrent_weights", (64, 15), "(64, 16)"),
    ("bias", (63,), "(64,)"),
    ("hidden_state", (15,), "(16,)"),
    ("cell_state", (16, 1), "(16,)"),
])
def test_lstm_shape_errors_name_layer_and_shapes(rng, random_lstm, field, shape, expected):
    good = random_lstm(rng, 12, 16)
    arrays = {k: getattr(good, k) for k in ("input_weights", "recurrent_weights", "bias")}
    arrays[field] = np.zeros(shape)
    with pytest.raises(NetworkError) as err:
        Network([SequenceInput(12), random_lstm(rng, 12, 12), LSTM(16, **arrays)])
    msg = str(err.value)
    assert msg.startswith(f"lstm_2: {field} has shape {shape}") and expected in msg


def test_fc_shape_error_uses_previous_output_size(rng, random_lstm, random_fc):
    with pytest.raises(NetworkError, match=re.escape("fc_1: weights has shape (9, 12), expected (9, 16)")):
        Network([SequenceInput(12), random_lstm(rng, 12, 16), random_fc(rng, 9, 12)])
    with pytest.raises(NetworkError, match=re.escape("fc_1: bias has shape (8,), expected (9,)")):
        Network([SequenceInput(4), FullyConnected(9, weights=np.zeros((9, 4)), bias=np.zeros(8))])


def test_missing_and_non_finite_weights(rng, random_lstm):
    with pytest.raises(NetworkError, match=re.escape("lstm_1: recurrent_weights is required, expected shape (64, 16)")):
        Network([SequenceInput(12), LSTM(16, input_weights=np.zeros((64, 12)), bias=np.zeros(64))])
    layer = random_lstm(rng, 12, 16)
    bad = np.array(layer.recurrent_weights)
    bad[3, 5] = np.nan
    with pytest.raises(NetworkError, match=r"lstm_1: recurrent_weights has 1 non-finite value\(s\), the first nan at index \(3, 5\)"):
        Network([SequenceInput(12), LSTM(16, input_weights=layer.input_weights, recurrent_weights=bad, bias=layer.bias)])
    with pytest.raises(NetworkError, match="fc_1: bias has 1 non-finite"):
        Network([SequenceInput(2), FullyConnected(1, weights=np.ones((1, 2)), bias=[np.inf])])


@pytest.mark.parametrize("make, message", [
    (lambda: LSTM(8, output_mode="all"), "LSTM: output_mode='all': expected one of 'sequence', 'last'"),
    (lambda: LSTM(8, state_activation="relu", name="enc"), "LSTM 'enc': state_activation='relu'"),
    (lambda: LSTM(8, gate_activation="tanh"), "gate_activation='tanh'"),
    (lambda: LSTM(0), "num_hidden=0: expected a positive integer"),
    (lambda: LSTM(8.0), "num_hidden=8.0"),
    (lambda: SequenceInput(12, normalization="rescale"), "normalization='rescale'"),
    (lambda: FullyConnected(-1), "output_size=-1"),
    (lambda: Dropout(1.0), "probability=1.0"),
    (lambda: LSTM(8, input_weights="abc"), "LSTM: input_weights is not a numeric array"),
])
def test_unknown_options_rejected(make, message):
    with pytest.raises(NetworkError, match=re.escape(message)):
        make()


def test_unknown_keyword_rejected():
    with pytest.raises(TypeError):
        LSTM(8, outputmode="last")


def test_layer_order_rules(rng, random_lstm, random_fc):
    with pytest.raises(NetworkError, match="lstm_1: the first layer must be a SequenceInput"):
        Network([random_lstm(rng, 12, 16)])
    with pytest.raises(NetworkError, match="lstm_2: an LSTM cannot follow lstm_1, whose output_mode='last'"):
        Network([SequenceInput(12), random_lstm(rng, 12, 16, output_mode="last"), random_lstm(rng, 16, 8)])
    with pytest.raises(NetworkError, match="regressionoutput: the Regression output layer must be the last"):
        Network([SequenceInput(4), Regression(), Softmax()])
    with pytest.raises(NetworkError, match="fc_1: only an output layer may follow softmax"):
        Network([SequenceInput(4), Softmax(), random_fc(rng, 2, 4)])
    with pytest.raises(NetworkError, match="input2: only the first layer may be a SequenceInput"):
        Network([SequenceInput(4), SequenceInput(4, name="input2")])
    with pytest.raises(NetworkError, match="is not a layer"):
        Network([SequenceInput(4), "fc"])
    with pytest.raises(NetworkError, match="at least a SequenceInput"):
        Network([])


def test_normalization_arrays():
    assert Network([SequenceInput(3, normalization="zscore", mean=[1, 2, 3], std=2.0)]).input_size == 3
    with pytest.raises(NetworkError, match="sequenceinput: mean is required"):
        Network([SequenceInput(3, normalization="zerocenter")])
    with pytest.raises(NetworkError, match=re.escape("sequenceinput: std has shape (2,), expected (3,) or a scalar")):
        Network([SequenceInput(3, normalization="zscore", mean=0.0, std=[1.0, 1.0])])
    with pytest.raises(NetworkError, match="sequenceinput: std must be positive"):
        Network([SequenceInput(3, normalization="zscore", mean=0.0, std=[1.0, 0.0, 1.0])])
    with pytest.raises(NetworkError, match="sequenceinput: std is given but normalization='zerocenter'"):
        Network([SequenceInput(3, normalization="zerocenter", mean=0.0, std=1.0)])


def test_initial_state_defaults_to_zeros(rng, random_lstm):
    h0 = rng.normal(size=16)
    net = Network([SequenceInput(12), random_lstm(rng, 12, 16, hidden_state=h0), random_lstm(rng, 16, 4)])
    (h1, c1), (h2, c2) = net.initial_state()
    np.testing.assert_array_equal(h1, h0)
    assert not c1.any() and not h2.any() and not c2.any() and h2.shape == (4,)


def test_save_load_round_trip_is_bit_identical(tmp_path, rng, random_lstm, random_fc):
    net = Network([SequenceInput(12, normalization="zscore", mean=rng.normal(size=12), std=rng.uniform(1, 2, 12)),
                   random_lstm(rng, 12, 16, cell_state=rng.normal(size=16), name="enc"), Dropout(0.3),
                   random_lstm(rng, 16, 8, output_mode="last"), random_fc(rng, 9, 8), Softmax()])
    path = tmp_path / "net.dlp"
    net.save(path)
    assert path.exists()  # the exact path, no suffix added
    loaded = Network.load(path)
    assert [type(a) for a in loaded.layers] == [type(b) for b in net.layers]
    for a, b in zip(net.layers, loaded.layers):
        assert a.options == b.options
        assert a.arrays.keys() == b.arrays.keys()
        for key in a.arrays:
            assert a.arrays[key].dtype == b.arrays[key].dtype == np.float64
            assert a.arrays[key].tobytes() == b.arrays[key].tobytes()
    with np.load(path) as data:
        header = json.loads(data["header"].tobytes())
    assert header["format"] == "dlp-network" and header["layers"][1]["options"]["name"] == "enc"


def test_load_rejects_other_files(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, header=np.frombuffer(b'{"format": "x", "version": 9}', dtype=np.uint8))
    with pytest.raises(NetworkError, match="format 'x' version 9"):
        Network.load(path)
