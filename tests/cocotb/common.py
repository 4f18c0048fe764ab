"""Shared by the cocotb modules: a compiled network deployed on the RTL and on the golden model."""
from __future__ import annotations

from compiler import compile as compile_network
from sim.cocotb_device import CocotbDevice
from sim.driver import HostDriver, SyncDevice, run_sync
from sim.model import GoldenDevice


async def deployed(dut, net, cfg, max_sequence_length: int = 32, mem_bytes: int = 1 << 20):
    """(rtl, golden): host drivers of the same program, the RTL's through the DUT's AXI ports,
    both deployed (weights loaded)."""
    program = compile_network(net, cfg, max_sequence_length=max_sequence_length)
    rtl = HostDriver(CocotbDevice(dut, cfg, mem_bytes=mem_bytes), program)
    await rtl.dev.reset()
    golden = HostDriver(SyncDevice(GoldenDevice(cfg, mem_bytes=mem_bytes)), program)
    await rtl.deploy()
    run_sync(golden.deploy())
    return rtl, golden
