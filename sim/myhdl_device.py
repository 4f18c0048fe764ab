"""The processor in the MyHDL simulator: the same design that is converted to Verilog, run
natively in Python, behind the host driver's device protocol (target "myhdl" of the Workflow).

The testbench is MyHDL: an AXI4 slave memory (a bytearray) on the processor's master port and
an AXI4-Lite master on its register port. Slow (all of the design runs in Python) but needs no
HDL simulator, and every signal can be inspected or traced (`waves=True` writes a VCD).

MyHDL allows one simulation per process: close a MyHDLDevice before creating another.
"""
from __future__ import annotations

import collections
import os
import pathlib

from myhdl import ResetSignal, Signal, block, instance, intbv

from rtl import isa
from rtl.config import ProcessorConfig
from rtl.interfaces import AxiLiteSlave, Axi4Master

from .driver import DeviceTimeout

HALF_PERIOD = 5  # MyHDL time units per half clock period


@block
def axi_memory(clk, axi, mem: bytearray, beat_bytes: int):
    """AXI4 slave memory model (testbench only): INCR bursts, one beat per cycle, OKAY responses;
    accesses outside `mem` answer SLVERR (reads return 0). Its latencies are cocotbext-axi
    AxiRam's (first read beat two cycles after the address handshake, write response two cycles
    after the last beat), so every RTL target counts the same cycles as the golden cycle model.
    Ports: clk (in), axi (Axi4Master bundle, slave side). Latency: first read beat 2 cycles after AR, write response 2 cycles after the last W beat. Reset: none (testbench model)."""

    @instance
    def read_channel():
        axi.arready.next = 1
        while True:
            yield clk.posedge
            if axi.arvalid and axi.arready:
                addr, beats = int(axi.araddr), int(axi.arlen) + 1
                axi.arready.next = 0
                yield clk.posedge
                for k in range(beats):
                    a = addr + k * beat_bytes
                    ok = 0 <= a and a + beat_bytes <= len(mem)
                    axi.rdata.next = int.from_bytes(mem[a:a + beat_bytes], "little") if ok else 0
                    axi.rresp.next = 0 if ok else 2
                    axi.rlast.next = k == beats - 1
                    axi.rvalid.next = 1
                    yield clk.posedge
                    while not axi.rready:
                        yield clk.posedge
                axi.rvalid.next = 0
                axi.rlast.next = 0
                axi.arready.next = 1

    @instance
    def write_channel():
        axi.awready.next = 1
        while True:
            yield clk.posedge
            if axi.awvalid and axi.awready:
                addr, beats = int(axi.awaddr), int(axi.awlen) + 1
                axi.awready.next = 0
                axi.wready.next = 1
                bad = False
                for k in range(beats):
                    yield clk.posedge
                    while not axi.wvalid:
                        yield clk.posedge
                    a = addr + k * beat_bytes
                    data = int(axi.wdata).to_bytes(beat_bytes, "little")
                    strb = int(axi.wstrb)
                    if 0 <= a and a + beat_bytes <= len(mem):
                        for i in range(beat_bytes):
                            if strb >> i & 1:
                                mem[a + i] = data[i]
                    else:
                        bad = True
                axi.wready.next = 0
                yield clk.posedge
                axi.bresp.next = 2 if bad else 0
                axi.bvalid.next = 1
                yield clk.posedge
                while not axi.bready:
                    yield clk.posedge
                axi.bvalid.next = 0
                axi.awready.next = 1

    return read_channel, write_channel


@block
def axil_master(clk, axil, requests: collections.deque, answers: dict):
    """AXI4-Lite master (testbench only): executes ("write", offset, value) and ("read", offset)
    requests in order and stores each answer under the request's id.
    Ports: clk (in), axil (AxiLiteSlave bundle, master side). Latency: one transaction at a time. Reset: none (testbench model)."""

    @instance
    def run():
        while True:
            yield clk.posedge
            if not requests:
                continue
            rid, kind, offset, value = requests.popleft()
            if kind == "write":
                axil.awaddr.next, axil.wdata.next, axil.wstrb.next = offset, value, 0xF
                axil.awvalid.next, axil.wvalid.next, axil.bready.next = 1, 1, 1
                yield clk.posedge
                while not axil.awready:
                    yield clk.posedge
                axil.awvalid.next, axil.wvalid.next = 0, 0
                while not axil.bvalid:
                    yield clk.posedge
                axil.bready.next = 0
                answers[rid] = None
            else:
                axil.araddr.next, axil.arvalid.next, axil.rready.next = offset, 1, 1
                yield clk.posedge
                while not axil.arready:
                    yield clk.posedge
                axil.arvalid.next = 0
                while not axil.rvalid:
                    yield clk.posedge
                axil.rready.next = 0
                answers[rid] = int(axil.rdata)

    return run


class MyHDLDevice:
    """Device protocol of sim/driver.py over the MyHDL simulation of the processor."""

    def __init__(self, cfg: ProcessorConfig, mem_bytes: int = 1 << 22, waves: bool = False,
                 run_dir: str | os.PathLike | None = None):
        from rtl.top import clock_gen, processor

        self.cfg = cfg
        self.mem = bytearray(mem_bytes)
        self.clk = Signal(bool(0))
        self.rst = ResetSignal(1, active=1, isasync=False)
        self.axi = Axi4Master(cfg)
        self.axil = AxiLiteSlave()
        self.irq = Signal(bool(0))
        self._requests: collections.deque = collections.deque()
        self._answers: dict = {}
        self._next_id = 0
        self.cycles = 0
        dev = self

        @block
        def bench():
            """The testbench top: the processor, the AXI memory, the AXI-Lite master and a
            clock. Ports: none. Latency: as the processor. Reset: rst high for the first 4 cycles."""
            dut = processor(cfg, dev.clk, dev.rst, dev.axi, dev.axil, dev.irq)
            memory = axi_memory(dev.clk, dev.axi, dev.mem, cfg.beat_bytes)
            master = axil_master(dev.clk, dev.axil, dev._requests, dev._answers)

            clock = clock_gen(dev.clk, HALF_PERIOD)

            return dut, memory, master, clock

        self._bench = bench()
        if waves:
            # traceSignals writes <name>.vcd into the current directory
            run_dir = pathlib.Path(run_dir or ".")
            run_dir.mkdir(parents=True, exist_ok=True)
            cwd = os.getcwd()
            os.chdir(run_dir)
            try:
                self._bench.config_sim(trace=True, name="dlp_myhdl")
                self._run_cycles(0)
            finally:
                os.chdir(cwd)
            self.wave_path = run_dir / "dlp_myhdl.vcd"
        self._run_cycles(4)
        self.rst.next = 0
        self._run_cycles(2)

    # ---- simulation control -------------------------------------------------------------------
    def _run_cycles(self, n: int) -> None:
        self._bench.run_sim(2 * HALF_PERIOD * n if n else 1, quiet=1)
        self.cycles += n

    def _bus(self, kind: str, offset: int, value: int = 0):
        rid = self._next_id
        self._next_id += 1
        self._requests.append((rid, kind, offset, value))
        for _ in range(1000):
            self._run_cycles(2)
            if rid in self._answers:
                return self._answers.pop(rid)
        raise RuntimeError(f"AXI4-Lite {kind} at 0x{offset:02x} got no response in 2000 cycles")

    def close(self) -> None:
        self._bench.quit_sim()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- device protocol ----------------------------------------------------------------------
    async def write_mem(self, addr: int, data: bytes) -> None:
        self.mem[addr:addr + len(data)] = data

    async def read_mem(self, addr: int, n: int) -> bytes:
        return bytes(self.mem[addr:addr + n])

    async def write_reg(self, name: str, value: int) -> None:
        self._bus("write", isa.REGISTERS[name].offset, value & 0xFFFFFFFF)

    async def read_reg(self, name: str) -> int:
        return self._bus("read", isa.REGISTERS[name].offset)

    async def start_and_wait(self, timeout_cycles: int, chunk: int = 64) -> None:
        self._bus("write", isa.REGISTERS["CTRL"].offset, isa.CTRL_START | isa.CTRL_IRQ_ENABLE)
        waited = 0
        while not self.irq:
            if waited >= timeout_cycles:
                raise DeviceTimeout(timeout_cycles)
            self._run_cycles(chunk)
            waited += chunk
