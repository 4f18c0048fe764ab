"""State semantics on the RTL (Icarus and Verilator): predict, predict_and_update_state,
reset_state and their interleavings, non-zero initial states, bit-exact against the golden model
and within the float bound; a stall ends in a timeout naming the instruction
(tests/cocotb/state_tests.py)."""
from __future__ import annotations

import pytest

from sim import runner
from tests.cocotb.configs import P16_INT16

CONFIGS = [P16_INT16]


@pytest.mark.parametrize("simulator", runner.SIMULATORS)
@pytest.mark.parametrize("cfg", [pytest.param(c, id=c.short_id()) for c in CONFIGS])
def test_state(simulator, cfg, tmp_path):
    runner.run_and_check(cfg, simulator, "tests.cocotb.state_tests", tmp_path)
