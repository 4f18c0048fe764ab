"""`predict` of SequenceInput(12) -> LSTM(32, "last") -> FC(9) -> Softmax on the RTL, on Icarus and
Verilator: bit-exact with the golden model, cycle counts equal to its cycle model, within the
documented bound of the float reference (tests/cocotb/predict_tests.py)."""
from __future__ import annotations

import pytest

from sim import runner
from tests.cocotb.configs import P16_INT16

CONFIGS = [P16_INT16]


@pytest.mark.parametrize("simulator", runner.SIMULATORS)
@pytest.mark.parametrize("cfg", [pytest.param(c, id=c.short_id()) for c in CONFIGS])
def test_predict(simulator, cfg, tmp_path):
    runner.run_and_check(cfg, simulator, "tests.cocotb.predict_tests", tmp_path)
