"""Target "myhdl": the Workflow on the MyHDL simulation of the processor agrees bit for bit with
the golden model (outputs and cycle counts) and keeps MathWorks' state semantics."""
from __future__ import annotations

import numpy as np

from compiler import Network, Regression, SequenceInput
from examples.networks import random_fc, random_lstm
from rtl import ProcessorConfig
from sim import Workflow
from sim.driver import HostDriver, SyncDevice, run_sync
from sim.model import GoldenDevice
from tests.state_scenarios import check_state_semantics, with_initial_state

CFG = ProcessorConfig(lanes=4, vbuf_words=16, zbuf_words=16, ebuf_words=16, wbuf_words=128, bbuf_depth=64, imem_depth=64)


def small_network(seed: int = 8) -> Network:
    rng = np.random.default_rng(seed)
    return Network([SequenceInput(4), with_initial_state(rng, random_lstm(rng, 4, 8)), random_fc(rng, 3, 8),
                    Regression()])


def test_myhdl_target_matches_the_golden_model_and_state_semantics():
    net = small_network()
    with Workflow(net, config=CFG, target="myhdl", max_sequence_length=16) as wf, \
            Workflow(net, config=CFG, target="model", max_sequence_length=16) as golden:
        for x in (np.random.default_rng(1).normal(size=(t, 4)) for t in (1, 4)):
            assert np.array_equal(wf.predict(x), golden.predict(x))
            assert wf.last_profile["cycles"] == golden.last_profile["cycles"]
        golden_driver = HostDriver(SyncDevice(GoldenDevice(CFG)), wf.program)
        run_sync(golden_driver.deploy())
        err = run_sync(check_state_semantics(wf._driver, golden_driver, net, 8.5e-3, np.random.default_rng(2),
                                             log=lambda m: None))
        assert err < 8.5e-3
