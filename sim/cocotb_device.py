"""The processor under cocotb, seen the way a host CPU sees it: an AXI4-Lite master on the
register port and an AXI RAM (cocotbext-axi's, answering SLVERR or DECERR outside its size) as the
external memory.

Only usable inside a running simulation. The testbench never touches internal signals: it
writes the memory image, programs registers and waits for the interrupt."""
from __future__ import annotations

import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge, Timer, ValueChange, with_timeout
from cocotb.utils import get_sim_time
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiResp
from cocotbext.axi.axi_ram import AxiRamRead, AxiRamWrite
from cocotbext.axi.memory import Memory

from rtl import isa
from rtl.isa import Kernel
from rtl.config import ProcessorConfig

from .driver import DeviceTimeout
from .runner import clock_from_env


class _BoundedRead(AxiRamRead):
    """cocotbext-axi's RAM read side, except that a beat outside the memory fails (the slave
    answers it with an error response) instead of wrapping around."""

    async def _read(self, address, length):
        if address + length > self.size:
            raise ValueError(f"read at 0x{address:x} outside the {self.size}-byte memory")
        return self.read(address, length)


class _BoundedWrite(AxiRamWrite):
    async def _write(self, address, data):
        if address + len(data) > self.size:
            raise ValueError(f"write at 0x{address:x} outside the {self.size}-byte memory")
        self.write(address, data)


class ExternalMemory(Memory):
    """AXI4 slave RAM of `size` bytes. A beat outside it is answered with `error_response`
    (SLVERR, cocotbext-axi's answer to a failed access, or DECERR: no slave at that address, as an
    interconnect answers), which the processor must report as AXI_ERROR."""

    def __init__(self, bus, clock, reset, size: int):
        super().__init__(size)
        self.error_response = AxiResp.SLVERR
        self.write_if = _BoundedWrite(bus.write, clock, reset, mem=self.mem)
        self.read_if = _BoundedRead(bus.read, clock, reset, mem=self.mem)
        for channel, field in ((self.read_if.r_channel, "rresp"), (self.write_if.b_channel, "bresp")):
            channel.send = self._with_error_response(channel.send, field)

    def _with_error_response(self, send, field: str):
        # cocotbext-axi answers a failed access with SLVERR; turn it into the chosen error
        async def send_response(transaction):
            if getattr(transaction, field) == AxiResp.SLVERR:
                setattr(transaction, field, self.error_response)
            await send(transaction)
        return send_response

    @property
    def channels(self) -> dict:
        w, r = self.write_if, self.read_if
        return {"aw": w.aw_channel, "w": w.w_channel, "b": w.b_channel, "ar": r.ar_channel, "r": r.r_channel}


class CocotbDevice:
    """Async device protocol of sim/driver.py over the DUT's ports.

    mem_bytes    size of the AXI RAM (accesses past it get error responses)
    backpressure random ready/valid pauses on every AXI channel of the RAM (seeded, 30 %);
                 `set_backpressure` changes them between runs
    trace        record the retire trace of every run (`take_retired`); needs a build with the
                 trace ports (sim/runner.py builds them)
    """

    def __init__(self, dut, cfg: ProcessorConfig, mem_bytes: int = 1 << 22, backpressure: bool = False,
                 seed: int = 1, trace: bool = False):
        self.dut = dut
        self.cfg = cfg
        self.monitor = None
        self.done_times: list[int] = []
        if trace:
            if not RetireMonitor.available(dut):
                raise RuntimeError("trace=True: this build has no retire trace ports (convert with trace=True)")
            self.monitor = RetireMonitor(dut)
            self.monitor.start()
        source, self.period_ns = clock_from_env()
        if source == "gpi":
            # the clock toggles in cocotb's C++ layer: no Python per edge (see sim/runner.py)
            Clock(dut.clk, self.period_ns, "ns", impl="gpi").start()
        self.ram = ExternalMemory(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=mem_bytes)
        self.axil = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst)
        if backpressure:
            self.set_backpressure(seed, {name: 0.3 for name in self.ram.channels})

    def set_backpressure(self, seed: int, pause_probability: dict[str, float] | None) -> None:
        """Pause each AXI channel of the RAM ("aw", "w", "b", "ar", "r") in a random fraction of
        cycles (seeded), or never (None / 0). Pauses wake Python every cycle: tests only."""
        rng = random.Random(seed)

        def pauses(p):
            while True:
                yield rng.random() < p

        for name, channel in self.ram.channels.items():
            p = (pause_probability or {}).get(name, 0)
            channel.set_pause_generator(pauses(p) if p > 0 else None)
            if p <= 0:
                channel.pause = False  # removing a generator leaves its last value in place

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
        if self.monitor is not None:
            self.monitor.clear()  # the records of this run only (a reset also changes the trace)
        finished = cocotb.start_soon(with_timeout(RisingEdge(self.dut.irq), timeout_cycles * self.period_ns, "ns"))
        await self.write_reg("CTRL", isa.CTRL_START | isa.CTRL_IRQ_ENABLE)
        try:
            await finished
        except cocotb.triggers.SimTimeoutError:
            raise DeviceTimeout(timeout_cycles) from None
        self.done_times.append(get_sim_time("step"))

    async def take_done_times(self) -> list:
        """Simulation times (the simulator's precision, the dump's time unit) at which irq rose
        (DONE) in the runs since the last call, then forgets them."""
        times, self.done_times = self.done_times, []
        return times

    async def take_retired(self) -> list:
        """The retire records of the last run (sim.model.Retired, by issue cycle), then forgets them."""
        if self.monitor is None:
            raise RuntimeError("take_retired: the device was made without trace=True")
        records = sorted((r for lst in self.monitor.records.values() for r in lst), key=lambda r: (r.issue, r.kernel))
        self.monitor.clear()
        return records

    async def idle(self, cycles: int) -> None:
        await Timer(cycles * self.period_ns, "ns")


class RetireMonitor:
    """Collects the processor's retire trace (rtl/trace.py) into `records`, one list of
    sim.model.Retired per kernel, in completion order. Python wakes once per record (on the
    change of the kernel's `seq`), never per clock edge. Needs a build with the trace ports."""

    def __init__(self, dut):
        from rtl.trace import KERNELS

        self.dut = dut
        self.kernels = KERNELS
        self.records: dict[Kernel, list] = {Kernel[k.upper()]: [] for k in KERNELS}
        self._tasks = []

    @staticmethod
    def available(dut) -> bool:
        return hasattr(dut, "trace_fc_seq")

    def start(self) -> None:
        self.stop()
        self.clear()
        self._tasks = [cocotb.start_soon(self._watch(k)) for k in self.kernels]

    def clear(self) -> None:
        for lst in self.records.values():
            lst.clear()

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        self._tasks = []

    async def _watch(self, k: str) -> None:
        from .model import Retired

        sig = {f: getattr(self.dut, f"trace_{k}_{f}") for f in ("seq", "pc", "t", "issue", "done", "sig")}
        kernel = Kernel[k.upper()]
        while True:
            await ValueChange(sig["seq"])
            await ReadOnly()
            try:
                values = [int(sig[f].value) for f in ("pc", "t", "issue", "done", "sig")]
            except ValueError:  # X or Z: before the first reset (Icarus starts registers at X)
                continue
            self.records[kernel].append(Retired(kernel, *values))
