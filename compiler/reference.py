"""Float64 reference: MATLAB's inference semantics of a `Network`, in plain numpy.

Deliberately written without the compiler (no quantisation, nothing but the layer classes), so that
it is an independent check of both the compiler and the processor. It also serves calibration:
`ranges` runs sequences through the same code and reports the largest magnitude of every tensor the
compiler must choose a fixed-point format for.

LSTM step (gate order i, f, g, o; σg the gate and σs the state activation):
    z = W x_t + R h_{t-1} + b
    i = σg(z_i), f = σg(z_f), g = σs(z_g), o = σg(z_o)
    c_t = f ⊙ c_{t-1} + i ⊙ g,   h_t = o ⊙ σs(c_t)
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .inputs import as_real_array, as_sequence, as_sequences, state_pairs
from .network import LSTM, Dropout, FullyConnected, Network, Regression, SequenceInput, Softmax

GATE_FUNCTIONS = {
    "sigmoid": lambda z: 0.5 * (1.0 + np.tanh(0.5 * z)),  # = 1/(1+exp(-z)) without overflow
    "hard-sigmoid": lambda z: np.clip(0.2 * z + 0.5, 0.0, 1.0),  # MATLAB: 0.2x+0.5 on [-2.5, 2.5]
}
STATE_FUNCTIONS = {
    "tanh": np.tanh,
    "softsign": lambda z: z / (1.0 + np.abs(z)),
}

State = list[tuple[np.ndarray, np.ndarray]]
Observer = Callable[[str, np.ndarray], None]


def predict(net: Network, x, initial_state: State | None = None):
    """Run the network on one sequence `x` (T, C), or on a list of independent sequences.

    Returns ``(y, final_state)``: y is (K,) for output mode "last" and (T, K) for "sequence";
    final_state is a list with one (h, c) pair per LSTM layer. `initial_state` has the same form and
    defaults to the layers' `hidden_state`/`cell_state` (zeros when unset). For a list of sequences
    the result is ``([y, ...], [final_state, ...])``, each sequence starting from `initial_state`."""
    sequences, single = as_sequences(x, net.input_size)
    if single:
        return _run(net, sequences[0], initial_state, None)
    results = [_run(net, xi, initial_state, None) for xi in sequences]
    return [r[0] for r in results], [r[1] for r in results]


def ranges(net: Network, sequences) -> dict[str, float]:
    """Largest |value| seen over `sequences` (one (T, C) array or a list) for the tensors
    ``x`` (the normalised input), ``<lstm>.z`` (the 4H gate preactivations), ``<lstm>.c`` (the cell
    state, initial state included) and ``<fc>.y`` (FullyConnected outputs)."""
    peaks: dict[str, float] = {}

    def observe(name: str, value: np.ndarray) -> None:
        peaks[name] = max(peaks.get(name, 0.0), float(np.max(np.abs(value), initial=0.0)))

    for x in as_sequences(sequences, net.input_size, what="calibration")[0]:
        _run(net, x, None, observe)
    return peaks


def _run(net: Network, x, initial_state: State | None, observe: Observer | None):
    observe = observe or (lambda name, value: None)
    x = as_sequence(x, net.input_size)
    state = _initial_state(net, initial_state)
    final: State = []
    v = x
    for layer in net.layers:
        if isinstance(layer, SequenceInput):
            v = _normalize(layer, v)
            observe("x", v)
        elif isinstance(layer, LSTM):
            h, c = state[len(final)]
            observe(f"{layer.name}.c", c)
            v, h, c = _lstm(layer, v, h, c, observe)
            final.append((h, c))
        elif isinstance(layer, FullyConnected):
            v = v @ layer.weights.T + layer.bias
            observe(f"{layer.name}.y", v)
        elif isinstance(layer, Softmax):
            e = np.exp(v - np.max(v, axis=-1, keepdims=True))
            v = e / np.sum(e, axis=-1, keepdims=True)
        elif not isinstance(layer, (Dropout, Regression)):  # Dropout and Regression: identity
            raise TypeError(f"{layer.name}: no reference for {type(layer).__name__}")
    return v, final


def _initial_state(net: Network, initial_state: State | None) -> State:
    lstms = net.lstm_layers
    if initial_state is None:
        return net.initial_state()
    pairs = state_pairs(initial_state, len(lstms), "initial_state")
    state = []
    for layer, (h, c) in zip(lstms, pairs):
        h, c = as_real_array(h, f"{layer.name} initial state h"), as_real_array(c, f"{layer.name} initial state c")
        if h.shape != (layer.num_hidden,) or c.shape != (layer.num_hidden,):
            raise ValueError(f"{layer.name}: initial state has shapes h {h.shape}, c {c.shape}, "
                             f"expected ({layer.num_hidden},)")
        state.append((h, c))
    return state


def _normalize(layer: SequenceInput, x: np.ndarray) -> np.ndarray:
    if layer.normalization == "zerocenter":
        return x - layer.mean
    if layer.normalization == "zscore":
        return (x - layer.mean) / layer.std
    return x


def _lstm(layer: LSTM, xs: np.ndarray, h: np.ndarray, c: np.ndarray, observe: Observer):
    """Run one LSTM layer over the sequence xs (T, C); returns (output, h_T, c_T)."""
    n = layer.num_hidden
    gate, state_fn = GATE_FUNCTIONS[layer.gate_activation], STATE_FUNCTIONS[layer.state_activation]
    outputs = []
    for x_t in xs:
        z = layer.input_weights @ x_t + layer.recurrent_weights @ h + layer.bias
        observe(f"{layer.name}.z", z)
        i, f, g, o = gate(z[:n]), gate(z[n:2 * n]), state_fn(z[2 * n:3 * n]), gate(z[3 * n:])
        c = f * c + i * g
        observe(f"{layer.name}.c", c)
        h = o * state_fn(c)
        outputs.append(h)
    out = np.array(outputs) if layer.output_mode == "sequence" else h
    return out, h, c
