"""Stacked networks (2 and 3 LSTM layers, mixed hidden sizes, both output modes, regression and
classification heads, hard-sigmoid/softsign) on the RTL, int16 and int8, Icarus and Verilator
(tests/cocotb/networks_tests.py)."""
from __future__ import annotations

import pytest

from sim import runner
from tests.cocotb.configs import P8_INT8, P16_INT16

CONFIGS = [P16_INT16, P8_INT8]


@pytest.mark.parametrize("simulator", runner.SIMULATORS)
@pytest.mark.parametrize("cfg", [pytest.param(c, id=c.short_id()) for c in CONFIGS])
def test_networks(simulator, cfg, tmp_path):
    runner.run_and_check(cfg, simulator, "tests.cocotb.networks_tests", tmp_path)
