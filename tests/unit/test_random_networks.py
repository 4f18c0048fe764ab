"""Random networks and call sequences on the golden model against the float64 reference: the
bound FLOAT_BOUND (tests/random_networks.py) holds on every output of every call without
saturation; the generator is reproducible and varied."""
from __future__ import annotations

import collections

import numpy as np
import pytest

from compiler import LSTM
from sim.driver import HostDriver, SyncDevice, run_sync
from sim.model import GoldenDevice
from tests.cocotb.configs import P4_INT8_AXI32, P16_INT16
from tests.random_networks import FLOAT_BOUND, FloatTwin, play, random_case


@pytest.mark.parametrize("cfg", [pytest.param(c, id=c.short_id()[:12]) for c in (P16_INT16, P4_INT8_AXI32)])
def test_golden_within_float_bound(cfg):
    worst, kinds = 0.0, collections.Counter()
    for seed in range(60):
        case = random_case(cfg, seed)
        driver = HostDriver(SyncDevice(GoldenDevice(cfg, mem_bytes=1 << 20)), case.program)
        run_sync(driver.deploy())
        twin = FloatTwin(case.network)
        for call in case.calls:
            kinds[call.kind] += 1
            y, profile = run_sync(play(driver, call))
            y_float = twin.call(call)
            if y is not None and profile.saturations == 0:
                err = float(np.max(np.abs(y - y_float)))
                assert err < FLOAT_BOUND[cfg.data_type], f"seed {seed} ({case.describe()}): {call.kind} " \
                                                         f"T={len(call.x)} error {err:.3g}"
                worst = max(worst, err)
    assert set(kinds) == {"predict", "update", "reset", "set_state"}
    print(f"{cfg.data_type}: worst golden-vs-float {worst:.3g} over 60 random networks")


def test_networks_vary_and_replay():
    cases = [random_case(P16_INT16, s) for s in range(30)]
    depths = collections.Counter(sum(isinstance(layer, LSTM) for layer in c.network.layers) for c in cases)
    assert set(depths) == {1, 2, 3}, depths
    again = random_case(P16_INT16, 7)
    assert again.describe() == cases[7].describe() and again.program.image == cases[7].program.image
