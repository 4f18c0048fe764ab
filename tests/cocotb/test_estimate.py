"""Workflow.estimate_performance against the RTL: for the demo network (examples/demo.py), the
estimated total cycles of T steps equal the CYCLES counter of a `predict` of T steps on Icarus
and Verilator. One simulator session per simulator serves every length (the Workflow's own
session, as a user would run it)."""
from __future__ import annotations

import pytest

from examples import networks
from sim import Workflow, runner
from tests.cocotb.configs import P16_INT16

CFG = P16_INT16  # shared with the other runners, so the simulator builds are too
LENGTHS = (1, 7, 26)


@pytest.mark.parametrize("simulator", runner.SIMULATORS)
def test_estimated_cycles_equal_the_rtl_counter(simulator):
    net = networks.classifier(seed=2024)  # the demo's network
    xs = networks.sequences(seed=2025, lengths=LENGTHS)
    with Workflow(net, config=CFG, target=simulator, max_sequence_length=max(LENGTHS)) as wf:
        wf.deploy()
        first = True
        for x in xs:
            est = wf.estimate_performance(sequence_length=len(x))
            wf.predict(x)
            fetch = est["program_fetch_cycles"] if first else 0  # the first call fetches the program
            assert wf.last_profile["cycles"] == est["total"]["cycles"] + fetch, f"T={len(x)} on {simulator}"
            assert wf.last_profile["busy"] == est["total"]["busy"], f"T={len(x)} on {simulator}"
            first = False
        # once more, now that the program is in the instruction memory
        wf.predict(xs[0])
        assert wf.last_profile["cycles"] == wf.estimate_performance(len(xs[0]))["total"]["cycles"]
