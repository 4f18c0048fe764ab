"""cocotb module: predict, predict_and_update_state and reset_state on the RTL (the invariants
of tests/state_scenarios.py, each output bit-exact with the golden model), for networks with
non-zero initial states; and a stall that must end in a timeout error naming the instruction.
Runs under tests/cocotb/test_state.py."""
from __future__ import annotations

import cocotb
import numpy as np

from sim.driver import DeviceTimeout
from sim.runner import config_from_env
from tests.cocotb.common import deployed
from tests.state_scenarios import check_state_semantics, state_networks

CFG = config_from_env()
NETWORKS = state_networks()


def _state_test(name):
    async def test(dut):
        net, bound = NETWORKS[name]
        rtl, golden = await deployed(dut, net, CFG)
        await check_state_semantics(rtl, golden, net, bound, np.random.default_rng(5), log=dut._log.info)
    test.__name__ = test.__qualname__ = f"state_{name}"
    return cocotb.test()(test)


for _name in NETWORKS:
    globals()[f"state_{_name}"] = _state_test(_name)


@cocotb.test()
async def stall_ends_with_timeout_naming_the_instruction(dut):
    """The external memory stops answering reads: predict must end with DeviceTimeout naming
    the instruction that waits for the DMA (the state loads at the start of the run program),
    not hang."""
    net, _ = NETWORKS["last_classifier"]
    rtl, _ = await deployed(dut, net, CFG)
    await rtl.predict(np.zeros((2, net.input_size)))  # fetches the run program
    rtl.dev.ram.read_if.r_channel.pause = True  # from now on the R channel never answers
    # a short cycle budget: the default (over 100,000 cycles) takes minutes to run out on Icarus
    rtl.timeout_cycles = lambda steps: 3000
    try:
        await rtl.predict(np.zeros((3, net.input_size)))
    except DeviceTimeout as exc:
        message = str(exc)
    else:
        raise AssertionError("predict returned although the memory never answered")
    dut._log.info("got: %s", message)
    assert "no DONE after 3000 cycles: run program stalled at pc 1: lstm_1.load_c" in message, message
