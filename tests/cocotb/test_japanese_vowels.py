"""Japanese Vowels on the RTL (Verilator, one simulator session): bit-exact with the golden model
on the first 20 test sequences; all 370 in the slow sweep (`make test-all`), which prints its
wall time."""
from __future__ import annotations

import time

import numpy as np
import pytest

from examples.japanese_vowels import data
from examples.japanese_vowels.evaluate import load_network
from rtl import ProcessorConfig
from sim import Workflow


def run(n: int) -> tuple[float, int]:
    net = load_network()
    xs, _ = data.load("test")
    xs = xs[:n]
    cfg = ProcessorConfig()
    with Workflow(net, config=cfg, target="verilator", max_sequence_length=64) as rtl, \
            Workflow(net, config=cfg, target="model", max_sequence_length=64) as gold:
        rtl.deploy()
        t0 = time.perf_counter()
        y = np.array(rtl.predict(xs))
        wall = time.perf_counter() - t0
        cycles = rtl.last_profile["cycles"]
        want = np.array(gold.predict(xs))
        assert np.array_equal(y, want), "RTL output differs from the golden model"
        assert cycles == gold.last_profile["cycles"], "cycle count differs from the cycle model"
    return wall, cycles


def test_first_20_test_sequences_bit_exact():
    run(20)


@pytest.mark.slow
def test_whole_test_set_bit_exact():
    wall, cycles = run(370)
    print(f"\nJapanese Vowels, 370 test sequences on Verilator: {cycles} cycles in {wall:.1f} s "
          f"({cycles / wall:,.0f} cycles/s)")
