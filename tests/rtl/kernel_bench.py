"""MyHDL-native bench for the compute kernels: the activation buffer, weight and bias RAMs and the
FC, ACT and EW kernels, driven directly (no control unit, no AXI). Each test loads random data,
runs one instruction on the RTL in the MyHDL simulator and on the golden model's `Machine`, and
compares the buffers bit for bit.

Elaborating the design costs far more than simulating one instruction (MyHDL inspects the call
stack for every generator it creates), so a bench elaborates once and keeps its simulation alive:
each `run` hands a job to the waiting stimulus process and resumes the simulation until the job is
finished. MyHDL allows one live simulation per process; starting a bench (or `release_simulator`)
closes the one that is running."""
from __future__ import annotations

import numpy as np
from myhdl import ResetSignal, Signal, block, instance, intbv

from rtl import isa
from rtl.abuf import abuf
from rtl.act_kernel import act_kernel
from rtl.config import ProcessorConfig
from rtl.ew_kernel import ew_kernel
from rtl.fc_kernel import fc_kernel
from rtl.interfaces import AbufReadPort, AbufWritePort, Decoded, KernelCtl, RamPort
from rtl.primitives import ram
from rtl.top import clock_gen
from sim.model import Machine

HALF_PERIOD = 5
RESUME_CYCLES = 16        # the simulation is resumed in slices of this many cycles

_live: list = []  # the bench whose simulation is alive (at most one)


def release_simulator() -> None:
    """Close the live bench simulation, if any, so that another MyHDL simulation can start."""
    while _live:
        _live.pop().close()


class KernelBench:
    def __init__(self, cfg: ProcessorConfig):
        self.cfg = cfg
        self.clk = Signal(bool(0))
        self.rst = ResetSignal(1, active=1, isasync=False)
        self.dec = Decoded()
        self.ctl = {k: KernelCtl() for k in (isa.Kernel.FC, isa.Kernel.ACT, isa.Kernel.EW)}
        self.rports = [AbufReadPort(cfg) for _ in range(5)]
        self.wports = [AbufWritePort(cfg) for _ in range(4)]
        self.wram = RamPort(cfg.wbuf_words, cfg.word_bits)
        self.bram = RamPort(cfg.bbuf_depth, cfg.BIAS_BITS)
        self.fc_sat = Signal(bool(0))
        self.ew_sat = Signal(intbv(0, min=0, max=cfg.lanes + 1))
        self._sim = None        # the elaborated bench block while its simulation is alive
        self._job = None        # (machine, instructions) waiting for or being run by the stimulus
        self._result = None     # the finished job's result
        self._error = None      # an exception raised inside the stimulus
        self._wbuf_rows = set()  # weight rows holding non-zero data in the RTL

    @block
    def top(self):
        cfg, r, w = self.cfg, self.rports, self.wports
        return [
            abuf(cfg, self.clk, *r, *w),
            ram(self.clk, self.wram, cfg.wbuf_words),
            ram(self.clk, self.bram, cfg.bbuf_depth),
            fc_kernel(cfg, self.clk, self.rst, self.ctl[isa.Kernel.FC], self.dec, r[0], w[0], self.wram,
                      self.bram, self.fc_sat),
            act_kernel(cfg, self.clk, self.rst, self.ctl[isa.Kernel.ACT], self.dec, r[1], w[1]),
            ew_kernel(cfg, self.clk, self.rst, self.ctl[isa.Kernel.EW], self.dec, r[2], r[3], w[2],
                      self.ew_sat),
        ]

    # ---- public ---------------------------------------------------------------------------------
    def run(self, machine: Machine, instructions: list[tuple[isa.Op, dict]],
            timeout_cycles: int = 100_000) -> dict:
        """Load the machine's buffers into the RTL, run the instructions one after the other,
        return the RTL's activation buffer, per-instruction cycle counts and saturation count.

        Result keys: ``abuf`` (the whole activation buffer afterwards), ``cycles`` (per instruction:
        cycles from the one after the start pulse up to and including the one in which done is
        high), ``busy`` (per instruction: cycles in which the kernel's busy was high, counted from
        the start cycle to the cycle after done, so a busy that rises early or falls late shows)
        and ``saturations`` (FC and EW saturation events of all instructions). An instruction
        without done after `timeout_cycles` fails the run with an AssertionError."""
        if self._sim is None:
            self._start()
        self._job, self._result, self._error = (machine, list(instructions), timeout_cycles), None, None
        try:
            while self._result is None and self._error is None:
                self._sim.run_sim(duration=2 * HALF_PERIOD * RESUME_CYCLES, quiet=1)
        except BaseException:
            self.close()  # MyHDL has finalised the simulation; the next run elaborates again
            raise
        if self._error is not None:
            self.close()
            raise self._error
        return self._result

    def close(self) -> None:
        if self._sim is not None:
            self._sim.quit_sim()
            self._sim = None
            self._wbuf_rows = set()
        if self in _live:
            _live.remove(self)

    # ---- simulation -----------------------------------------------------------------------------
    def _start(self) -> None:
        release_simulator()
        self._sim = self._bench()
        _live.append(self)

    @block
    def _bench(self):
        dut = self.top()

        clock = clock_gen(self.clk, HALF_PERIOD)

        @instance
        def stimulus():
            while True:
                if self._job is None:
                    yield self.clk.posedge
                    continue
                try:
                    yield from self._execute(*self._job)
                except AssertionError as e:  # a hung kernel: run() re-raises it and closes the simulation
                    self._error = e
                self._job = None

        return dut, clock, stimulus

    def _execute(self, machine: Machine, instructions, timeout_cycles: int):
        """Generator run by the stimulus process for one job; sets self._result."""
        cfg, p, clk = self.cfg, self.cfg.lanes, self.clk
        mask = (1 << cfg.data_bits) - 1

        def pack(values) -> int:
            return sum((int(v) & mask) << (cfg.data_bits * i) for i, v in enumerate(values))

        self.rst.next = 1
        for _ in range(3):
            yield clk.posedge
        self.rst.next = 0
        dma_w, dma_r = self.wports[3], self.rports[4]
        # preload buffers through the DMA write port and the RAM write ports
        for base in range(0, cfg.abuf_elements, p):
            dma_w.en.next, dma_w.addr.next, dma_w.count.next = 1, base, p
            dma_w.data.next = pack(machine.abuf[base:base + p])
            yield clk.posedge
        dma_w.en.next = 0
        rows = {i for i, row in enumerate(machine.wbuf) if row.any()}
        for i in sorted(rows | self._wbuf_rows):  # non-zero rows now, and rows to clear
            self.wram.we.next, self.wram.waddr.next = 1, i
            self.wram.wdata.next = pack(machine.wbuf[i])
            yield clk.posedge
        self._wbuf_rows = rows
        for i, v in enumerate(machine.bbuf):
            self.bram.we.next, self.bram.waddr.next, self.bram.wdata.next = 1, i, int(v) & 0xFFFFFFFF
            yield clk.posedge
        self.wram.we.next = 0
        self.bram.we.next = 0
        yield clk.posedge
        cycles, busy, sats = [], [], 0
        for op, fields in instructions:
            kernel = isa.FORMATS[op][1]
            ctl = self.ctl[kernel]
            for name in ("func", "dst", "src0", "src1", "length", "cols", "bias", "shift0", "shift1", "shift2"):
                getattr(self.dec, name).next = 0
            for name, v in fields.items():
                getattr(self.dec, {"waddr": "src1"}.get(name, name)).next = v
            ctl.start.next = 1
            yield clk.posedge
            ctl.start.next = 0
            n, nbusy = 0, int(ctl.busy)  # values in the start cycle
            while True:
                yield clk.posedge
                n += 1
                sats += int(self.fc_sat) + int(self.ew_sat)
                nbusy += int(ctl.busy)
                if ctl.done:
                    break
                assert n < timeout_cycles, f"{op.name} {fields}: no done after {n} cycles"
            cycles.append(n)
            yield clk.posedge
            busy.append(nbusy + int(ctl.busy))  # + the cycle after done
        # read back the whole activation buffer, one address per cycle: the address set in step c
        # is on the port during the cycle that ends at step c's yield; its data are on the port
        # two cycles later, so they are seen after the yield of step c + 2
        words = cfg.abuf_words
        out = np.zeros(cfg.abuf_elements, dtype=np.int64)
        dma_r.en.next = 1
        for c in range(words + 2):
            if c < words:
                dma_r.addr.next = c * p
            else:
                dma_r.en.next = 0
            yield clk.posedge
            if c >= 2:
                word = int(dma_r.data)
                for i in range(p):
                    v = (word >> (cfg.data_bits * i)) & mask
                    out[(c - 2) * p + i] = v - (1 << cfg.data_bits) if v >> (cfg.data_bits - 1) else v
        self._result = dict(abuf=out, cycles=cycles, busy=busy, saturations=sats)


def random_machine(cfg: ProcessorConfig, rng: np.random.Generator) -> Machine:
    m = Machine(cfg)
    m.abuf[:] = rng.integers(cfg.data_min, cfg.data_max + 1, cfg.abuf_elements)
    m.wbuf[:] = rng.integers(cfg.data_min, cfg.data_max + 1, m.wbuf.shape)
    m.bbuf[:] = rng.integers(-(1 << 24), 1 << 24, cfg.bbuf_depth)
    return m
