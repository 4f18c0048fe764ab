"""Japanese Vowels on the golden model, all 370 test sequences: the int16 processor picks the
float network's class on every sequence; the int8 processor, calibrated on the training set,
stays within one percentage point of the float accuracy."""
from __future__ import annotations

import numpy as np
import pytest

from examples.japanese_vowels import data
from examples.japanese_vowels.evaluate import golden, load_network
from rtl import ProcessorConfig
from compiler import reference


@pytest.fixture(scope="module")
def setup():
    net = load_network()
    xs, labels = data.load("test")
    float_probs = np.array([reference.predict(net, x)[0] for x in xs])
    return net, xs, labels, float_probs


def test_int16_classes_equal_the_float_classes(setup):
    net, xs, labels, float_probs = setup
    probs = np.array(golden(net, ProcessorConfig(data_type="int16")).predict(xs))
    np.testing.assert_array_equal(probs.argmax(1), float_probs.argmax(1))
    assert np.abs(probs - float_probs).max() < 1e-2  # measured 6.5e-3


def test_int8_accuracy_within_one_point_of_float(setup):
    net, xs, labels, float_probs = setup
    x_train, _ = data.load("train")
    probs = np.array(golden(net, ProcessorConfig(data_type="int8"), calibration=x_train).predict(xs))
    float_acc = (float_probs.argmax(1) == labels).mean()
    int8_acc = (probs.argmax(1) == labels).mean()
    assert float_acc - int8_acc <= 0.01, f"int8 {int8_acc:.2%} vs float {float_acc:.2%}"
