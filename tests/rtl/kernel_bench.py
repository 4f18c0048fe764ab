"""MyHDL-native bench for the compute kernels: the activation buffer, weight and bias RAMs and the
FC, ACT and EW kernels, driven directly (no control unit, no AXI). Each test loads random data,
runs one instruction on the RTL in the MyHDL simulator and on the golden model's `Machine`, and
compares the buffers bit for bit."""
from __future__ import annotations

import numpy as np
from myhdl import ResetSignal, Signal, StopSimulation, block, delay, instance, intbv

from rtl import isa
from rtl.abuf import abuf
from rtl.act_kernel import act_kernel
from rtl.config import ProcessorConfig
from rtl.ew_kernel import ew_kernel
from rtl.fc_kernel import fc_kernel
from rtl.interfaces import AbufReadPort, AbufWritePort, Decoded, KernelCtl, RamPort
from rtl.primitives import ram
from sim.model import Machine


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

    def run(self, machine: Machine, instructions: list[tuple[isa.Op, dict]]) -> dict:
        """Load the machine's buffers into the RTL, run the instructions one after the other,
        return the RTL's activation buffer, per-instruction cycle counts and saturation count.

        Result keys: ``abuf`` (the whole activation buffer afterwards), ``cycles`` (per instruction:
        cycles from the one after the start pulse up to and including the one in which done is
        high), ``busy`` (per instruction: cycles in which the kernel's busy was high, counted from
        the start cycle to the cycle after done, so a busy that rises early or falls late shows)
        and ``saturations`` (FC and EW saturation events of all instructions)."""
        cfg, p = self.cfg, self.cfg.lanes
        mask = (1 << cfg.data_bits) - 1
        result = {}

        @block
        def bench():
            dut = self.top()

            @instance
            def clock():
                self.clk.next = 0
                while True:
                    yield delay(5)
                    self.clk.next = not self.clk

            @instance
            def stimulus():
                clk = self.clk
                self.rst.next = 1
                for _ in range(3):
                    yield clk.posedge
                self.rst.next = 0
                dma_w, dma_r = self.wports[3], self.rports[4]
                # preload buffers through the DMA write port and the RAM write ports
                for base in range(0, cfg.abuf_elements, p):
                    vals = machine.abuf[base:base + p]
                    dma_w.en.next, dma_w.addr.next, dma_w.count.next = 1, base, p
                    dma_w.data.next = sum((int(v) & mask) << (cfg.data_bits * i) for i, v in enumerate(vals))
                    yield clk.posedge
                dma_w.en.next = 0
                for i, row in enumerate(machine.wbuf):
                    if not row.any():
                        continue
                    self.wram.we.next, self.wram.waddr.next = 1, i
                    self.wram.wdata.next = sum((int(v) & mask) << (cfg.data_bits * j) for j, v in enumerate(row))
                    yield clk.posedge
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
                        assert n < 100000, f"{op.name} did not finish"
                    cycles.append(n)
                    yield clk.posedge
                    busy.append(nbusy + int(ctl.busy))  # + the cycle after done
                # read back the whole activation buffer
                out = np.zeros(cfg.abuf_elements, dtype=np.int64)
                for base in range(0, cfg.abuf_elements, p):
                    dma_r.addr.next = base
                    yield clk.posedge
                    yield clk.posedge
                    yield clk.posedge
                    word = int(dma_r.data)
                    for i in range(p):
                        v = (word >> (cfg.data_bits * i)) & mask
                        out[base + i] = v - (1 << cfg.data_bits) if v >> (cfg.data_bits - 1) else v
                result.update(abuf=out, cycles=cycles, busy=busy, saturations=sats)
                raise StopSimulation

            return dut, clock, stimulus

        sim = bench()
        sim.run_sim(quiet=1)
        sim.quit_sim()
        return result


def random_machine(cfg: ProcessorConfig, rng: np.random.Generator) -> Machine:
    m = Machine(cfg)
    m.abuf[:] = rng.integers(cfg.data_min, cfg.data_max + 1, cfg.abuf_elements)
    m.wbuf[:] = rng.integers(cfg.data_min, cfg.data_max + 1, m.wbuf.shape)
    m.bbuf[:] = rng.integers(-(1 << 24), 1 << 24, cfg.bbuf_depth)
    return m
