"""State semantics on the RTL (Icarus and Verilator): predict, predict_and_update_state,
reset_state and their interleavings, non-zero initial states, bit-exact against the golden model
and within the float bound; a stall ends in a timeout naming the instruction
(tests/cocotb/state_tests.py)."""
from __future__ import annotations

import pytest

from rtl.config import ProcessorConfig
from sim import runner

CONFIGS = [ProcessorConfig(lanes=16, vbuf_words=16, zbuf_words=32, ebuf_words=32, wbuf_words=512, bbuf_depth=256, imem_depth=64)]


@pytest.mark.parametrize("simulator", runner.SIMULATORS)
@pytest.mark.parametrize("cfg", [pytest.param(c, id=c.short_id()) for c in CONFIGS])
def test_state(simulator, cfg, tmp_path):
    runner.run_and_check(cfg, simulator, "tests.cocotb.state_tests", tmp_path)
