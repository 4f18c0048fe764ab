"""MyHDL-native bench for the compute kernels: the activation buffer, weight and bias RAMs and the
FC, ACT and EW kernels, driven directly (no control unit, no AXI). Each test loads random data,
runs one instruction on the RTL in the MyHDL simulator and on the golden model's `Machine`, and
compares the buffers bit for bit. The activation buffer's memories are loaded and read back
directly (a backdoor, `abuf_memories`), so every region can be set up in one cycle.

Elaborating the design costs far more than simulating one instruction (MyHDL inspects the call
stack for every generator it creates), so a bench elaborates once and keeps its simulation alive:
each `run` hands a job to the waiting stimulus process and resumes the simulation until the job is
finished. MyHDL allows one live simulation per process; starting a bench (or `release_simulator`)
closes the one that is running."""
from __future__ import annotations

import numpy as np
from myhdl import ResetSignal, Signal, block, instance, intbv

from rtl import isa
from rtl.isa import Op
from rtl.abuf import abuf
from rtl.act_kernel import act_kernel
from rtl.config import ProcessorConfig
from rtl.ew_kernel import ew_kernel
from rtl.fc_kernel import fc_kernel
from rtl.interfaces import AbufReadPort, AbufWritePort, Decoded, KernelCtl, RamPort
from rtl.predecode import kernel_flags
from rtl.primitives import pipelined_ram, ram
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
        self._abuf = abuf(cfg, self.clk, *r, *w)
        return [
            self._abuf,
            pipelined_ram(self.clk, self.wram, cfg.wbuf_words),
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
        mems = abuf_memories(cfg, self._abuf)
        load_abuf(cfg, mems, machine.abuf)
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
            for name in ("func", "dst", "src0", "src1", "length", "cols", "bias", "shift0", "shift1", "shift2",
                         "split"):
                getattr(self.dec, name).next = 0
            for name, v in fields.items():
                getattr(self.dec, {"waddr": "src1"}.get(name, name)).next = v
            for name in ("src0", "src1", "dst"):
                if op == Op.FC and name == "src1":
                    continue  # the weight address
                region = isa.region_of(cfg, fields.get(name, 0))
                getattr(self.dec, f"{name}_region").next = 0 if region is None else int(region)
            for name, v in kernel_flags(cfg, op, fields).items():
                getattr(self.dec, name).next = v
            ctl.start.next = 1
            yield clk.posedge
            ctl.start.next = 0
            n, nbusy = 0, int(ctl.busy)  # values in the start cycle
            # the issue unit's scoreboard relies on done(t) == done_soon(t-1) and
            # done_soon(t) == done_soon_next(t-1)
            soon, soon_next = bool(ctl.done_soon), bool(ctl.done_soon_next)
            while True:
                yield clk.posedge
                n += 1
                assert bool(ctl.done) == soon, f"{op.name} {fields}: done_soon did not announce done (cycle {n})"
                assert bool(ctl.done_soon) == soon_next, \
                    f"{op.name} {fields}: done_soon_next did not announce done_soon (cycle {n})"
                soon, soon_next = bool(ctl.done_soon), bool(ctl.done_soon_next)
                sats += int(self.fc_sat) + int(self.ew_sat)
                nbusy += int(ctl.busy)
                if ctl.done:
                    break
                assert n < timeout_cycles, f"{op.name} {fields}: no done after {n} cycles"
            cycles.append(n)
            yield clk.posedge
            assert bool(ctl.done) == soon, f"{op.name} {fields}: done_soon did not announce done (cycle {n + 1})"
            assert bool(ctl.done_soon) == soon_next, \
                f"{op.name} {fields}: done_soon_next did not announce done_soon (cycle {n + 1})"
            busy.append(nbusy + int(ctl.busy))  # + the cycle after done
        yield clk.posedge  # the last write lands at the end of the cycle after done (WRITE_LATENCY)
        self._result = dict(abuf=read_abuf(cfg, mems), cycles=cycles, busy=busy, saturations=sats)


def abuf_memories(cfg: ProcessorConfig, block) -> dict:
    """The activation buffer's memories inside an elaborated `abuf` block: {"V": [P bank lists],
    "Z": rows, "E0": rows, "E1": rows} (lists of MyHDL signals)."""
    # instance names carry a counter that keeps growing across elaborations: go by order
    banks = [s.memdict["mem"].mem for s in block.subs if s.name.startswith("v_bank")]
    rows = [s.memdict["mem"].mem for s in block.subs if s.name.startswith("row_memory")]
    assert len(banks) == cfg.lanes and len(rows) == 3
    return {"V": banks, "Z": rows[0], "E0": rows[1], "E1": rows[2]}


def _region_rows(cfg: ProcessorConfig) -> dict:
    return {name: (first * cfg.lanes, rows) for name, (first, rows) in cfg.region_rows.items()}


def load_abuf(cfg: ProcessorConfig, mems: dict, values: np.ndarray) -> None:
    """Set every memory of the activation buffer from the flat element array `values` (takes
    effect at the next delta cycle, like a write)."""
    p, w = cfg.lanes, cfg.data_bits
    mask = (1 << w) - 1
    regions = _region_rows(cfg)
    base, rows = regions["V"]
    for e in range(rows * p):
        mems["V"][e % p][e // p].next = int(values[base + e]) & mask
    for name, copies in (("Z", ("Z",)), ("E", ("E0", "E1"))):
        base, rows = regions[name]
        for r in range(rows):
            word = sum((int(v) & mask) << (w * i) for i, v in enumerate(values[base + r * p:base + (r + 1) * p]))
            for c in copies:
                mems[c][r].next = word


def read_abuf(cfg: ProcessorConfig, mems: dict) -> np.ndarray:
    """The flat element array held by the activation buffer's memories (gaps between regions
    are 0; E is read from copy 0, and copy 1 must agree)."""
    p, w = cfg.lanes, cfg.data_bits
    out = np.zeros(cfg.abuf_elements, dtype=np.int64)

    def signed(v: int) -> int:
        return v - (1 << w) if v >> (w - 1) else v

    regions = _region_rows(cfg)
    base, rows = regions["V"]
    for e in range(rows * p):
        out[base + e] = signed(int(mems["V"][e % p][e // p].val))
    for name, mem in (("Z", mems["Z"]), ("E", mems["E0"])):
        base, rows = regions[name]
        for r in range(rows):
            word = int(mem[r].val)
            for i in range(p):
                out[base + r * p + i] = signed((word >> (w * i)) & ((1 << w) - 1))
    assert all(int(a.val) == int(b.val) for a, b in zip(mems["E0"], mems["E1"])), "the two copies of E differ"
    return out


def random_machine(cfg: ProcessorConfig, rng: np.random.Generator) -> Machine:
    m = Machine(cfg)
    m.abuf[:] = random_abuf(cfg, rng)
    m.wbuf[:] = rng.integers(cfg.data_min, cfg.data_max + 1, m.wbuf.shape)
    m.bbuf[:] = rng.integers(-(1 << 24), 1 << 24, cfg.bbuf_depth)
    return m


def random_abuf(cfg: ProcessorConfig, rng: np.random.Generator) -> np.ndarray:
    """Random elements in the regions, zeros in the gaps between them (which hold no memory)."""
    values = np.zeros(cfg.abuf_elements, dtype=np.int64)
    for lo, hi in isa.region_bounds(cfg).values():
        values[lo:hi] = rng.integers(cfg.data_min, cfg.data_max + 1, hi - lo)
    return values
