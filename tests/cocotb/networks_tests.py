"""cocotb module: stacked and mixed networks (tests/zoo.py) on the RTL: every output bit-exact
with the golden model, counters equal to the cycle model, golden within the documented bound of
the float64 reference. Runs under tests/cocotb/test_networks.py."""
from __future__ import annotations

import cocotb
import numpy as np

from compiler import reference
from sim.driver import run_sync
from sim.runner import config_from_env
from tests.cocotb.common import deployed
from tests.zoo import INT8_BOUND, stacked_networks

CFG = config_from_env()
NETWORKS = stacked_networks()


def _network_test(name):
    async def test(dut):
        net, bound = NETWORKS[name]
        if CFG.data_type == "int8":
            bound = INT8_BOUND
        rtl, golden = await deployed(dut, net, CFG, max_sequence_length=16)
        rng = np.random.default_rng(3)
        worst = 0.0
        for t in (1, 7, 15):
            x = rng.normal(size=(t, net.input_size))
            y, prof = await rtl.predict(x)
            y_gold, prof_gold = run_sync(golden.predict(x))
            assert np.array_equal(y, y_gold), f"{name} T={t}: RTL output differs from the golden model"
            assert prof.as_dict() == prof_gold.as_dict(), f"{name} T={t}: counters differ from the cycle model"
            err = float(np.max(np.abs(y_gold - reference.predict(net, x)[0])))
            assert err < bound, f"{name} T={t}: golden vs float {err:.3g} > {bound}"
            worst = max(worst, err)
        dut._log.info("%s: bit-exact on T = 1, 7, 15; max golden-vs-float error %.2e (bound %g)", name, worst, bound)
    test.__name__ = test.__qualname__ = name
    return cocotb.test()(test)


for _name in NETWORKS:
    globals()[_name] = _network_test(_name)
