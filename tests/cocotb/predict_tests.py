"""cocotb module: `predict` on the RTL for the issue's reference network, through the host
driver exactly as a CPU would run it (memory image, registers, START, irq).

Checks per sequence: RTL output == golden model output bit for bit (the raw output bytes),
performance counters == the golden model's cycle model, golden within the documented bound of
the float64 reference (tests/networks.py). Runs under tests/cocotb/test_predict.py."""
from __future__ import annotations

import os
import time

import cocotb
import numpy as np

from compiler import reference
from sim.driver import run_sync
from sim.runner import config_from_env
from tests.cocotb.common import deployed
from examples import networks

CFG = config_from_env()
SEED = int(os.environ.get("DLP_TEST_SEED", "2024"))


@cocotb.test()
async def predict_matches_golden_and_float(dut):
    net = networks.classifier(seed=SEED)
    xs = networks.sequences(seed=SEED + 1)
    rtl, golden = await deployed(dut, net, CFG)
    assert (await rtl.dev.read_reg("CYCLES")) == run_sync(golden.dev.read_reg("CYCLES")), \
        "deploy cycles differ from the cycle model"
    worst = 0.0
    for x in xs:
        t0 = time.perf_counter()
        y_rtl, prof_rtl = await rtl.predict(x)
        wall = time.perf_counter() - t0
        y_gold, prof_gold = run_sync(golden.predict(x))
        y_ref, _ = reference.predict(net, x)
        assert np.array_equal(y_rtl, y_gold), f"T={len(x)}: RTL output differs from the golden model"
        assert prof_rtl.as_dict() == prof_gold.as_dict(), \
            f"T={len(x)}: counters {prof_rtl.as_dict()} != cycle model {prof_gold.as_dict()}"
        err = float(np.max(np.abs(y_gold - y_ref)))
        worst = max(worst, err)
        assert err < networks.CLASSIFIER_INT16_BOUND, f"T={len(x)}: golden vs float error {err:.3g}"
        dut._log.info("T=%2d: bit-exact, %d cycles (%.1f per step), %.0f cycles/s, max |p - p_float| %.2e",
                      len(x), prof_rtl.cycles, prof_rtl.cycles / len(x), prof_rtl.cycles / wall, err)
    dut._log.info("worst golden-vs-float error %.2e (bound %.1e)", worst, networks.CLASSIFIER_INT16_BOUND)
