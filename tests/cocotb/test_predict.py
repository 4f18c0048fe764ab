"""`predict` of SequenceInput(12) -> LSTM(32, "last") -> FC(9) -> Softmax on the RTL, on Icarus and
Verilator: bit-exact with the golden model, cycle counts equal to its cycle model, within the
documented bound of the float reference (tests/cocotb/predict_tests.py)."""
from __future__ import annotations

import pytest

from rtl.config import ProcessorConfig
from sim import runner

CONFIGS = [ProcessorConfig(lanes=16, vbuf_words=16, zbuf_words=32, ebuf_words=32, wbuf_words=512, bbuf_depth=256, imem_depth=64)]


@pytest.mark.parametrize("simulator", runner.SIMULATORS)
@pytest.mark.parametrize("cfg", [pytest.param(c, id=c.short_id()) for c in CONFIGS])
def test_predict(simulator, cfg, tmp_path):
    runner.run_and_check(cfg, simulator, "tests.cocotb.predict_tests", tmp_path)
