"""State semantics on the golden model (target "model"), for three networks with non-zero initial
states: the invariants of tests/state_scenarios.py, bit for bit, plus the float bound."""
from __future__ import annotations

import numpy as np
import pytest

from compiler import compile as compile_network
from rtl import ProcessorConfig
from sim.driver import HostDriver, SyncDevice, run_sync
from sim.model import GoldenDevice
from tests.state_scenarios import check_state_semantics, state_networks

NETWORKS = state_networks()


@pytest.mark.parametrize("name", list(NETWORKS))
def test_state_semantics_on_the_golden_model(name):
    net, bound = NETWORKS[name]
    program = compile_network(net, ProcessorConfig(), max_sequence_length=32)
    # the "target" is a second golden device with the image at another base address
    target = HostDriver(SyncDevice(GoldenDevice(program.config)), program, image_base=0x10000)
    golden = HostDriver(SyncDevice(GoldenDevice(program.config)), program)
    run_sync(target.deploy())
    run_sync(golden.deploy())
    err = run_sync(check_state_semantics(target, golden, net, bound, np.random.default_rng(5), log=lambda m: None))
    assert err < bound
