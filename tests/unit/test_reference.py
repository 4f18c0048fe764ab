"""The float64 reference against hand-written scalar computations, and its shapes and state semantics."""
import math

import numpy as np
import pytest

from compiler import LSTM, Dropout, Network, Regression, SequenceInput, Softmax
from compiler.network import GATE_ACTIVATIONS, STATE_ACTIVATIONS
from compiler import reference


def _hand_step(layer: LSTM, x, h, c):
    """One LSTM step written out element by element with math.exp/math.tanh (MATLAB's equations)."""
    n = layer.num_hidden
    W, R, b = layer.input_weights, layer.recurrent_weights, layer.bias

    def pre(row):
        return (sum(W[row, k] * x[k] for k in range(len(x))) + sum(R[row, k] * h[k] for k in range(n)) + b[row])

    def sigmoid(v):
        return 1.0 / (1.0 + math.exp(-v))

    h_new, c_new = [], []
    for j in range(n):
        i, f = sigmoid(pre(j)), sigmoid(pre(n + j))
        g, o = math.tanh(pre(2 * n + j)), sigmoid(pre(3 * n + j))
        c_new.append(f * c[j] + i * g)
        h_new.append(o * math.tanh(c_new[j]))
    return np.array(h_new), np.array(c_new)


def test_single_step_matches_hand_computation(rng, random_lstm, random_fc):
    h0, c0 = rng.normal(size=6) * 0.5, rng.normal(size=6)
    lstm = random_lstm(rng, 4, 6, scale=2.0, output_mode="last", hidden_state=h0, cell_state=c0)
    fc = random_fc(rng, 3, 6)
    net = Network([SequenceInput(4), lstm, fc, Softmax()])
    x = rng.normal(size=(1, 4))
    y, [(h, c)] = reference.predict(net, x)
    h_ref, c_ref = _hand_step(lstm, x[0], h0, c0)
    np.testing.assert_allclose(h, h_ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(c, c_ref, rtol=1e-13, atol=1e-15)
    logits = [sum(fc.weights[k, j] * h_ref[j] for j in range(6)) + fc.bias[k] for k in range(3)]
    e = [math.exp(v) for v in logits]
    np.testing.assert_allclose(y, [v / sum(e) for v in e], rtol=1e-13)


def test_two_steps_chain_the_state(rng, random_lstm):
    lstm = random_lstm(rng, 3, 5)
    net = Network([SequenceInput(3), lstm])
    x = rng.normal(size=(2, 3))
    y, [(h, c)] = reference.predict(net, x)
    h1, c1 = _hand_step(lstm, x[0], np.zeros(5), np.zeros(5))
    h2, c2 = _hand_step(lstm, x[1], h1, c1)
    np.testing.assert_allclose(y, [h1, h2], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose((h, c), (h2, c2), rtol=1e-13, atol=1e-15)


def test_output_shapes(rng, random_lstm, random_fc):
    seq = Network([SequenceInput(12), random_lstm(rng, 12, 8), random_fc(rng, 5, 8), Regression()])
    last = Network([SequenceInput(12), random_lstm(rng, 12, 8), random_lstm(rng, 8, 7, output_mode="last"),
                    random_fc(rng, 9, 7), Softmax()])
    x = rng.normal(size=(11, 12))
    y, state = reference.predict(seq, x)
    assert y.shape == (11, 5) and [s[0].shape for s in state] == [(8,)]
    y, state = reference.predict(last, x)
    assert y.shape == (9,) and [s[1].shape for s in state] == [(8,), (7,)]
    assert y.sum() == pytest.approx(1.0) and np.all(y > 0)
    ys, states = reference.predict(last, [x, x[:3]])
    assert len(ys) == len(states) == 2 and ys[1].shape == (9,)
    np.testing.assert_array_equal(ys[0], y)


def test_softmax_per_time_step(rng, random_lstm, random_fc):
    net = Network([SequenceInput(4), random_lstm(rng, 4, 6), random_fc(rng, 3, 6), Softmax()])
    y, _ = reference.predict(net, rng.normal(size=(7, 4)))
    np.testing.assert_allclose(y.sum(axis=1), np.ones(7))


def test_normalization_and_dropout(rng, random_lstm):
    lstm = random_lstm(rng, 3, 4)
    mean, std = rng.normal(size=3), rng.uniform(0.5, 2.0, size=3)
    x = rng.normal(size=(5, 3))
    plain, _ = reference.predict(Network([SequenceInput(3), lstm]), (x - mean) / std)
    zscore, _ = reference.predict(Network([SequenceInput(3, normalization="zscore", mean=mean, std=std),
                                           Dropout(0.5), lstm, Dropout(0.1)]), x)
    np.testing.assert_allclose(zscore, plain, rtol=1e-14)
    centred, _ = reference.predict(Network([SequenceInput(3, normalization="zerocenter", mean=mean), lstm]), x)
    np.testing.assert_allclose(centred, reference.predict(Network([SequenceInput(3), lstm]), x - mean)[0])


def test_chunked_state_equals_whole_sequence(rng, random_lstm, random_fc):
    """MATLAB's predictAndUpdateState invariant: chunks x1, x2 continue where the last one stopped."""
    net = Network([SequenceInput(4), random_lstm(rng, 4, 6), random_lstm(rng, 6, 5), random_fc(rng, 2, 5)])
    x = rng.normal(size=(9, 4))
    y, final = reference.predict(net, x)
    y1, s1 = reference.predict(net, x[:4])
    y2, s2 = reference.predict(net, x[4:], initial_state=s1)
    np.testing.assert_allclose(np.vstack([y1, y2]), y, rtol=1e-13)
    for (h, c), (h2, c2) in zip(final, s2):
        np.testing.assert_allclose((h2, c2), (h, c), rtol=1e-13)


def test_alternative_activations_follow_matlab(rng, random_lstm):
    assert set(GATE_ACTIVATIONS) == set(reference.GATE_FUNCTIONS)
    assert set(STATE_ACTIVATIONS) == set(reference.STATE_FUNCTIONS)
    z = np.array([-3.0, -2.5, 0.0, 1.0, 2.5, 3.0])
    np.testing.assert_allclose(reference.GATE_FUNCTIONS["hard-sigmoid"](z), [0, 0, 0.5, 0.7, 1, 1])
    np.testing.assert_allclose(reference.GATE_FUNCTIONS["sigmoid"](z), 1 / (1 + np.exp(-z)), rtol=1e-14)
    np.testing.assert_allclose(reference.STATE_FUNCTIONS["softsign"](z), z / (1 + np.abs(z)))


def test_ranges_report_every_quantised_tensor(rng, random_lstm, random_fc):
    net = Network([SequenceInput(3), random_lstm(rng, 3, 4, cell_state=np.full(4, 5.0)), random_fc(rng, 2, 4)])
    xs = [rng.normal(size=(6, 3)), 10.0 * np.ones((2, 3))]
    r = reference.ranges(net, xs)
    assert set(r) == {"x", "lstm_1.z", "lstm_1.c", "fc_1.y"}
    assert r["x"] == 10.0 and r["lstm_1.c"] >= 5.0  # the initial cell state counts


def test_input_and_state_errors(rng, random_lstm):
    net = Network([SequenceInput(3), random_lstm(rng, 3, 4)])
    with pytest.raises(ValueError, match=r"input has shape \(5,\), expected \(T, 3\)"):
        reference.predict(net, np.zeros(5))
    with pytest.raises(ValueError, match="initial_state has 2 .* 1 LSTM layers"):
        reference.predict(net, np.zeros((2, 3)), initial_state=[(np.zeros(4), np.zeros(4))] * 2)
    with pytest.raises(ValueError, match=r"lstm_1: initial state has shapes h \(3,\)"):
        reference.predict(net, np.zeros((2, 3)), initial_state=[(np.zeros(3), np.zeros(4))])
