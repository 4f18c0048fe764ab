"""Shared fixtures: builders of layers with seeded random weights (no `Network.random` by design)."""
from __future__ import annotations

import numpy as np
import pytest

from compiler import LSTM, FullyConnected


def _uniform(rng: np.random.Generator, fan: int, shape, scale: float) -> np.ndarray:
    """U(-s, s) with s = scale/sqrt(fan): PyTorch's default LSTM/Linear initialisation for scale 1."""
    s = scale / np.sqrt(fan)
    return rng.uniform(-s, s, shape)


def _random_lstm(rng: np.random.Generator, num_features: int, num_hidden: int, scale: float = 1.0,
                 **options) -> LSTM:
    h = num_hidden
    return LSTM(h, input_weights=_uniform(rng, h, (4 * h, num_features), scale),
                recurrent_weights=_uniform(rng, h, (4 * h, h), scale), bias=_uniform(rng, h, 4 * h, scale), **options)


def _random_fc(rng: np.random.Generator, output_size: int, input_size: int, scale: float = 1.0,
               **options) -> FullyConnected:
    return FullyConnected(output_size, weights=_uniform(rng, input_size, (output_size, input_size), scale),
                          bias=_uniform(rng, input_size, output_size, scale), **options)


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
