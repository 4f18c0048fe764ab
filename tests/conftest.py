"""Shared fixtures: builders of layers with seeded random weights (tests/networks.py)."""
from __future__ import annotations

import numpy as np
import pytest

from examples.networks import random_fc as _random_fc
from examples.networks import random_lstm as _random_lstm


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(2024)


@pytest.fixture
def random_lstm():
    """random_lstm(rng, num_features, num_hidden, scale=1.0, **LSTM options) -> LSTM"""
    return _random_lstm


@pytest.fixture
def random_fc():
    """random_fc(rng, output_size, input_size, scale=1.0, **FullyConnected options) -> FullyConnected"""
    return _random_fc
