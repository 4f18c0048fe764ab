"""Bit-exact regression of every instruction on the RTL (Icarus and Verilator) against the golden
model; see tests/cocotb/isa_tests.py for the cocotb side."""
from __future__ import annotations

import pytest

from sim import runner
from tests.cocotb.configs import P4_INT8_AXI32, P16_INT16

CONFIGS = [P16_INT16, P4_INT8_AXI32]


@pytest.mark.parametrize("simulator", runner.SIMULATORS)
@pytest.mark.parametrize("cfg", [pytest.param(c, id=c.short_id()) for c in CONFIGS])
def test_isa(simulator, cfg, tmp_path):
    runner.run_and_check(cfg, simulator, "tests.cocotb.isa_tests", tmp_path)
