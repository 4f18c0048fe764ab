"""The processor under cocotb, seen the way a host CPU sees it: an AXI4-Lite master on the
register port and an AXI RAM (cocotbext-axi) as the external memory.

Only usable inside a running simulation. The testbench never touches internal signals: it
writes the memory image, programs registers and waits for the interrupt."""
from __future__ import annotations

import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, Timer, with_timeout
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam

from rtl import isa
from rtl.config import ProcessorConfig

from .driver import DeviceTimeout
from .runner import clock_from_env


class CocotbDevice:
    """Async device protocol of sim/driver.py over the DUT's ports.

    mem_bytes    size of the AXI RAM
    backpressure random ready/valid pauses on every AXI channel of the RAM (seeded)
    """

    def __init__(self, dut, cfg: ProcessorConfig, mem_bytes: int = 1 << 22, backpressure: bool = False,
                 seed: int = 1):
        self.dut = dut
        self.cfg = cfg
        source, self.period_ns = clock_from_env()
        if source == "gpi":
            # the clock toggles in cocotb's C++ layer: no Python per edge (see sim/runner.py)
            Clock(dut.clk, self.period_ns, "ns", impl="gpi").start()
        self.ram = AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=mem_bytes)
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        if backpressure:
            rng = random.Random(seed)

            def pauses():
                while True:
                    yield rng.random() < 0.3

            for channel in (self.ram.write_if.aw_channel, self.ram.write_if.w_channel,
                            self.ram.write_if.b_channel, self.ram.read_if.ar_channel,
                            self.ram.read_if.r_channel):
                channel.set_pause_generator(pauses())

    async def reset(self) -> None:
        self.dut.rst.value = 1
        await ClockCycles(self.dut.clk, 4)
        self.dut.rst.value = 0
        await ClockCycles(self.dut.clk, 2)

    async def write_mem(self, addr: int, data: bytes) -> None:
        self.ram.write(addr, data)

    async def read_mem(self, addr: int, n: int) -> bytes:
        return self.ram.read(addr, n)

    async def write_reg(self, name: str, value: int) -> None:
        await self.axil.write_dword(isa.REGISTERS[name].offset, value & 0xFFFFFFFF)

    async def read_reg(self, name: str) -> int:
        return await self.axil.read_dword(isa.REGISTERS[name].offset)

    async def start_and_wait(self, timeout_cycles: int) -> None:
        """Set CTRL.START (with IRQ_ENABLE) and sleep until irq rises: no Python runs per clock
        edge meanwhile. The wait starts before the register write, so even a program that ends
        before the write's response arrives is seen (irq falls on START, then rises)."""
        finished = cocotb.start_soon(with_timeout(RisingEdge(self.dut.irq), timeout_cycles * self.period_ns, "ns"))
        await self.write_reg("CTRL", isa.CTRL_START | isa.CTRL_IRQ_ENABLE)
        try:
            await finished
        except cocotb.triggers.SimTimeoutError:
            raise DeviceTimeout(timeout_cycles) from None

    async def idle(self, cycles: int) -> None:
        await Timer(cycles * self.period_ns, "ns")
