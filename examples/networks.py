"""Example networks with seeded random weights, used by the demo and by the regression tests.

Weights follow PyTorch's default initialisation U(-1/sqrt(fan), 1/sqrt(fan)). The accuracy
bounds are derived in tests/unit/test_golden_vs_float.py (first-order rounding analysis of one
step, times sqrt(26)) and summarised in docs/architecture.md, "Accuracy"."""
from __future__ import annotations

import numpy as np

from compiler import LSTM, FullyConnected, Network, SequenceInput, Softmax

# max |probability error| of the int16 golden model against the float64 reference, classifier below
CLASSIFIER_INT16_BOUND = 2.5e-3
SEQUENCE_LENGTHS = (1, 4, 9, 15, 21, 26)


def uniform(rng: np.random.Generator, fan: int, shape, scale: float = 1.0) -> np.ndarray:
    s = scale / np.sqrt(fan)
    return rng.uniform(-s, s, shape)


def random_lstm(rng: np.random.Generator, num_features: int, num_hidden: int, scale: float = 1.0,
                **options) -> LSTM:
    h = num_hidden
    return LSTM(h, input_weights=uniform(rng, h, (4 * h, num_features), scale),
                recurrent_weights=uniform(rng, h, (4 * h, h), scale), bias=uniform(rng, h, 4 * h, scale), **options)


def random_fc(rng: np.random.Generator, output_size: int, input_size: int, scale: float = 1.0,
              **options) -> FullyConnected:
    return FullyConnected(output_size, weights=uniform(rng, input_size, (output_size, input_size), scale),
                          bias=uniform(rng, input_size, output_size, scale), **options)


def classifier(seed: int = 2024, features: int = 12, hidden: int = 32, classes: int = 9) -> Network:
    """SequenceInput(12) -> LSTM(32, "last") -> FullyConnected(9) -> Softmax."""
    rng = np.random.default_rng(seed)
    return Network([SequenceInput(features), random_lstm(rng, features, hidden, output_mode="last"),
                    random_fc(rng, classes, hidden), Softmax()])


def sequences(seed: int = 7, lengths=SEQUENCE_LENGTHS, features: int = 12) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(t, features)) for t in lengths]
