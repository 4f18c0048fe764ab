"""Stacked and mixed networks for the RTL regressions (tests/cocotb/networks_tests.py) and their
golden-vs-float bounds. Seeded random weights, PyTorch's initialisation.

Bounds (max |golden - float64| over the outputs, int16): 5e-3 on probabilities, 1e-2 on
regression outputs. They follow the first-order analysis of tests/unit/test_golden_vs_float.py
(per-step rounding of x/h, z, the tables, c and the FC output, extended over T steps in
quadrature) with the deeper stacks' extra layers and the softsign table (error 7.6e-5, twice
sigmoid's) added; the measured errors (docs/architecture.md, "Accuracy") are 10 to 100 times
below. int8 only has to stay within 0.1 (its accuracy is measured on Japanese Vowels)."""
from __future__ import annotations

import numpy as np

from compiler import Dropout, Network, Regression, SequenceInput, Softmax
from examples.networks import random_fc, random_lstm

PROBABILITY_BOUND = 5e-3
REGRESSION_BOUND = 1e-2
INT8_BOUND = 0.1


def stacked_networks(seed: int = 21) -> dict[str, tuple[Network, float]]:
    rng = np.random.default_rng(seed)
    return {
        "two_layer_last_softmax": (Network([
            SequenceInput(12), random_lstm(rng, 12, 24), random_lstm(rng, 24, 16, output_mode="last"),
            random_fc(rng, 5, 16), Softmax()]), PROBABILITY_BOUND),
        "three_layer_sequence_regression": (Network([
            SequenceInput(8), random_lstm(rng, 8, 12), random_lstm(rng, 12, 20), random_lstm(rng, 20, 8),
            random_fc(rng, 3, 8), Regression()]), REGRESSION_BOUND),
        "two_layer_last_regression_dropout": (Network([
            SequenceInput(6), random_lstm(rng, 6, 16), Dropout(0.3), random_lstm(rng, 16, 10, output_mode="last"),
            random_fc(rng, 1, 10), Regression()]), REGRESSION_BOUND),
        "hard_sigmoid_softsign_sequence_softmax": (Network([
            SequenceInput(10), random_lstm(rng, 10, 20, gate_activation="hard-sigmoid", state_activation="softsign"),
            random_fc(rng, 4, 20), Softmax()]), PROBABILITY_BOUND),
    }
