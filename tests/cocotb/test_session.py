"""The Workflow on the simulator targets: one simulator process serves a whole session, calls
agree bit for bit with the golden model, the session closes cleanly, and a dead or stalled
simulator raises an error that names the log instead of hanging."""
from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from examples import networks
from sim import Workflow
from sim.driver import DeviceTimeout, run_sync
from sim.runner import SIMULATORS
from sim.session import SimulatorError
from tests.cocotb.configs import P16_INT16

CFG = P16_INT16
NET = networks.classifier(seed=3)


@pytest.mark.parametrize("simulator", SIMULATORS)
def test_one_process_serves_the_session(simulator):
    xs = networks.sequences(seed=4, lengths=(1, 5, 9))
    with Workflow(NET, config=CFG, target=simulator, max_sequence_length=32) as wf, \
            Workflow(NET, config=CFG, target="model", max_sequence_length=32) as golden:
        wf.deploy()
        session = wf.session
        pid = session.pid
        assert session.alive and session.startup_seconds > 0
        for x in xs:  # one call per sequence, lengths chosen per call without recompiling
            assert np.array_equal(wf.predict(x), golden.predict(x))
            assert wf.last_profile["cycles"] == golden.last_profile["cycles"]
            # per-layer cycles (from the golden cycle model) add up to the RTL's busy counters
            layers = wf.last_profile["layers"]
            assert {k: sum(per.get(k, 0) for per in layers.values()) for k in wf.last_profile["busy"]} \
                == wf.last_profile["busy"]
        assert all(np.array_equal(a, b) for a, b in zip(wf.predict(xs), golden.predict(xs)))  # a list, one call
        for x in xs[1:]:
            assert np.array_equal(wf.predict_and_update_state(x), golden.predict_and_update_state(x))
        wf.reset_state()
        golden.reset_state()
        assert np.array_equal(wf.predict_and_update_state(xs[0]), golden.predict_and_update_state(xs[0]))
        assert session.pid == pid and session.alive, "the simulator was relaunched"
        assert wf.last_profile["simulation_seconds"] <= wf.last_profile["wall_seconds"]
    assert not session.alive, "the simulator process outlived the session"


def test_killed_simulator_raises_with_log_path():
    """A request to a simulator that died fails with an error naming its log. (Through the
    Workflow, a simulator found dead before a call is restarted instead: the test below.)"""
    with Workflow(NET, config=CFG, target="verilator", max_sequence_length=32) as wf:
        wf.deploy()
        os.killpg(wf.session.pid, signal.SIGKILL)
        with pytest.raises(SimulatorError, match=r"log: .*simulator\.log"):
            run_sync(wf.session.read_reg("STATUS"))


def test_wall_clock_stall_raises_with_log_path():
    """A call that takes longer than the session's wall-clock budget is declared stalled."""
    with Workflow(NET, config=CFG, target="verilator", max_sequence_length=1024) as wf:
        wf.deploy()
        wf.session.wall_timeout = 0.05
        with pytest.raises(SimulatorError, match=r"stalled: no answer within .*log: "):
            wf.predict(np.zeros((1024, 12)))


def test_cycle_budget_names_the_waiting_instruction():
    """When the cycle budget runs out, the error names the instruction at the PC register."""
    with Workflow(NET, config=CFG, target="verilator", max_sequence_length=32) as wf:
        wf.deploy()
        wf._driver.timeout_cycles = lambda steps: 300
        with pytest.raises(DeviceTimeout, match=r"no DONE after 300 cycles: run program stalled at pc \d+: lstm_1\."):
            wf.predict(np.zeros((20, 12)))


def test_killed_simulator_is_restarted_with_the_stored_state():
    """A simulator process that dies between calls is restarted by the next call, which deploys
    again and restores the stored state (the golden model that follows every call kept it): the
    call returns what it would have returned without the crash, and nothing of the state is lost."""
    net = networks.classifier(seed=5, hidden=8)
    x1, x2 = networks.sequences(seed=6, lengths=(3, 2))
    with Workflow(net, config=CFG, target="icarus", max_sequence_length=4) as wf, \
            Workflow(net, config=CFG, target="model", max_sequence_length=4) as golden:
        assert np.array_equal(wf.predict_and_update_state(x1), golden.predict_and_update_state(x1))
        pid = wf.session.pid
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while wf.session.alive and time.monotonic() < deadline:
            time.sleep(0.05)  # SIGKILL is delivered asynchronously
        with pytest.warns(RuntimeWarning, match=rf"simulator \(pid {pid}\) had died; restarted it"):
            y = wf.predict_and_update_state(x2)
        assert np.array_equal(y, golden.predict_and_update_state(x2))
        assert wf.restarts == 1 and wf.session.pid != pid and wf.session.alive
        for (h, c), (gh, gc) in zip(wf.state, golden.state):
            assert np.array_equal(h, gh) and np.array_equal(c, gc)
