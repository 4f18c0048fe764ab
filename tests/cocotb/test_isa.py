"""Bit-exact regression of every instruction on the RTL (Icarus and Verilator) against the golden
model; see tests/cocotb/isa_tests.py for the cocotb side."""
from __future__ import annotations

import pytest

from rtl.config import ProcessorConfig
from sim import runner

CONFIGS = [ProcessorConfig(lanes=16, vbuf_words=16, zbuf_words=32, ebuf_words=32, wbuf_words=128, bbuf_depth=64,
                           imem_depth=64),
           ProcessorConfig(lanes=4, data_type="int8", vbuf_words=64, zbuf_words=64, ebuf_words=64, wbuf_words=256,
                           bbuf_depth=64, imem_depth=64, axi_data_bits=32)]


@pytest.mark.parametrize("simulator", runner.SIMULATORS)
@pytest.mark.parametrize("cfg", [pytest.param(c, id=c.short_id()) for c in CONFIGS])
def test_isa(simulator, cfg, tmp_path):
    runner.run_and_check(cfg, simulator, "tests.cocotb.isa_tests", tmp_path)
