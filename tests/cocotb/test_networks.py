"""Stacked networks (2 and 3 LSTM layers, mixed hidden sizes, both output modes, regression and
classification heads, hard-sigmoid/softsign) on the RTL, int16 and int8, Icarus and Verilator
(tests/cocotb/networks_tests.py)."""
from __future__ import annotations

import pytest

from rtl.config import ProcessorConfig
from sim import runner

CONFIGS = [ProcessorConfig(lanes=16, vbuf_words=16, zbuf_words=32, ebuf_words=32, wbuf_words=512, bbuf_depth=256, imem_depth=128),
           ProcessorConfig(lanes=8, data_type="int8", vbuf_words=16, zbuf_words=32, ebuf_words=32, wbuf_words=1024, bbuf_depth=256,
                           imem_depth=128)]


@pytest.mark.parametrize("simulator", runner.SIMULATORS)
@pytest.mark.parametrize("cfg", [pytest.param(c, id=c.short_id()) for c in CONFIGS])
def test_networks(simulator, cfg, tmp_path):
    runner.run_and_check(cfg, simulator, "tests.cocotb.networks_tests", tmp_path)
