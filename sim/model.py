"""Bit-exact golden model of the processor, with a cycle model.

Independent integer code: it decodes the same instruction stream from the same external-memory
image and computes every result with numpy integer arithmetic written from the ISA's definition
(docs/isa.md), not from the RTL. The RTL must match it bit for bit.

`GoldenDevice` exposes the processor the way the host sees it: a byte-addressed external memory
and the AXI4-Lite registers. Writing CTRL.START runs the program to END (or to an error) at once;
the performance counters then hold what the cycle model predicts the RTL would count.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from rtl import isa
from rtl.config import ProcessorConfig
from rtl.isa import ErrorCode, Kernel, Op
from rtl.lut import sigmoid_table


class ProcessorFault(Exception):
    """The program stopped with an error code, as the RTL would report it in STATUS."""

    def __init__(self, code: ErrorCode, pc: int, message: str):
        super().__init__(f"{code.name} at pc {pc}: {message}")
        self.code = code
        self.pc = pc


# ---- arithmetic primitives (the ISA's definitions, on int64 numpy arrays) -----------------------
def round_shift(v: np.ndarray, s: int) -> np.ndarray:
    """Round to nearest, ties toward +inf (MATLAB fixed-point 'Nearest'): floor((v + 2^(s-1)) / 2^s)."""
    if s == 0:
        return v
    return (v + (1 << (s - 1))) >> s


def wrap(v: np.ndarray, bits: int) -> np.ndarray:
    """Two's-complement wrap to `bits` (what a register of that width holds)."""
    half = 1 << (bits - 1)
    return ((v + half) & ((1 << bits) - 1)) - half


@dataclasses.dataclass
class Counters:
    cycles: int = 0
    busy: dict = dataclasses.field(default_factory=lambda: {k: 0 for k in Kernel})
    instrs: int = 0
    saturations: int = 0


class Machine:
    """On-chip state and the semantics of every instruction."""

    def __init__(self, cfg: ProcessorConfig):
        self.cfg = cfg
        p = cfg.lanes
        self.abuf = np.zeros(cfg.abuf_elements, dtype=np.int64)
        self.wbuf = np.zeros((cfg.wbuf_words, p), dtype=np.int64)
        self.bbuf = np.zeros(cfg.bbuf_depth, dtype=np.int64)
        self.imem: list[int] = []
        t, d = sigmoid_table(cfg)
        self.lut_t = np.array(t, dtype=np.int64)
        self.lut_d = np.array(d, dtype=np.int64)
        self.sat_count = 0

    # -- helpers --
    def _sat(self, v: np.ndarray) -> np.ndarray:
        lo, hi = self.cfg.data_min, self.cfg.data_max
        self.sat_count += int(np.count_nonzero((v < lo) | (v > hi)))
        return np.clip(v, lo, hi)

    def _arange(self, pc: int, lo: int, n: int, what: str):
        if lo + n > self.cfg.abuf_elements:
            raise ProcessorFault(ErrorCode.BUFFER_OVERFLOW, pc,
                                 f"{what} [{lo}, {lo + n}) past the activation buffer ({self.cfg.abuf_elements})")

    # -- kernels --
    def fc(self, pc: int, f: dict) -> None:
        cfg, p = self.cfg, self.cfg.lanes
        n_rows, k = f["length"], f["cols"]
        kw = -(-k // p)
        self._arange(pc, f["src0"], k, "FC source")
        self._arange(pc, f["dst"], n_rows, "FC destination")
        if f["waddr"] + n_rows * kw > cfg.wbuf_words:
            raise ProcessorFault(ErrorCode.BUFFER_OVERFLOW, pc, "FC weights past the weight buffer")
        if f["bias"] + n_rows > cfg.bbuf_depth:
            raise ProcessorFault(ErrorCode.BUFFER_OVERFLOW, pc, "FC bias past the bias buffer")
        w = self.wbuf[f["waddr"]:f["waddr"] + n_rows * kw].reshape(n_rows, kw * p)[:, :k]
        a = self.abuf[f["src0"]:f["src0"] + k]
        acc = self.bbuf[f["bias"]:f["bias"] + n_rows] + w @ a
        acc = wrap(acc, cfg.acc_bits)
        self.abuf[f["dst"]:f["dst"] + n_rows] = self._sat(round_shift(acc, f["shift0"]))

    def act(self, pc: int, f: dict) -> None:
        cfg = self.cfg
        n = f["length"]
        self._arange(pc, f["src0"], n, "ACT source")
        self._arange(pc, f["dst"], n, "ACT destination")
        fb, depth = cfg.lut_frac_bits, cfg.lut_depth
        x = self.abuf[f["src0"]:f["src0"] + n]
        q = (np.abs(x) << (2 * fb)) >> f["shift0"]
        idx = q >> fb
        frac = q & ((1 << fb) - 1)
        beyond = idx >= depth
        idx = np.where(beyond, depth, idx)
        frac = np.where(beyond, 0, frac)
        y = (self.lut_t[idx] << fb) + self.lut_d[idx] * frac  # sigmoid(|x|) in Q0.(16+fb)
        one = 1 << (cfg.LUT_VALUE_BITS + fb)
        if f["func"] == isa.ActFunc.SIGMOID:
            r = np.where(x >= 0, y, one - y)
        else:
            r = 2 * y - one
            r = np.where(x >= 0, r, -r)
        out = round_shift(r, cfg.LUT_VALUE_BITS + fb - f["shift1"])
        # Bounded functions: clipping 1.0 to the largest code is not an overflow, so not counted.
        self.abuf[f["dst"]:f["dst"] + n] = np.clip(out, cfg.data_min, cfg.data_max)

    def ew(self, pc: int, f: dict) -> None:
        n = f["length"]
        for key in ("src0", "src1"):
            self._arange(pc, f[key], n, f"EW {key}")
        self._arange(pc, f["dst"], n, "EW destination")
        a = self.abuf[f["src0"]:f["src0"] + n]
        b = self.abuf[f["src1"]:f["src1"] + n]
        if f["func"] == isa.EwFunc.ADD:
            r = (a << f["shift0"]) + (b << f["shift1"])
        else:
            r = a * b
        self.abuf[f["dst"]:f["dst"] + n] = self._sat(round_shift(r, f["shift2"]))


class GoldenDevice:
    """The processor as the host sees it: external memory plus registers, run by the golden model.

    Methods mirror the host driver's device protocol (sim/driver.py) in plain synchronous form."""

    def __init__(self, cfg: ProcessorConfig, mem_bytes: int = 1 << 24, timing=None):
        self.cfg = cfg
        self.mem = bytearray(mem_bytes)
        self.machine = Machine(cfg)
        self.timing = timing or CycleModel(cfg)
        self.regs = {name: 0 for name in isa.REGISTERS}
        self.regs["HW_ID"] = isa.HW_ID
        self.regs["HW_CONFIG"] = cfg.hw_config_word()
        self._prog_dirty = True
        self.trace: list[tuple[int, Op, dict]] = []
        self.keep_trace = False

    # -- memory --
    def write_mem(self, addr: int, data: bytes) -> None:
        if addr < 0 or addr + len(data) > len(self.mem):
            raise ValueError(f"write of {len(data)} bytes at 0x{addr:x} is outside the {len(self.mem)}-byte memory")
        self.mem[addr:addr + len(data)] = data

    def read_mem(self, addr: int, n: int) -> bytes:
        if addr < 0 or addr + n > len(self.mem):
            raise ValueError(f"read of {n} bytes at 0x{addr:x} is outside the {len(self.mem)}-byte memory")
        return bytes(self.mem[addr:addr + n])

    # -- registers --
    def write_reg(self, name: str, value: int) -> None:
        reg = isa.REGISTERS[name]
        if reg.access == "ro":
            return  # writes to read-only registers are ignored, as on the bus
        value &= 0xFFFFFFFF
        if name == "CTRL":
            self.regs["CTRL"] = value & isa.CTRL_IRQ_ENABLE
            if value & isa.CTRL_START:
                self._start()
            return
        if name in ("PROG_ADDR", "PROG_LEN"):
            self._prog_dirty = True
        self.regs[name] = value

    def read_reg(self, name: str) -> int:
        return self.regs[name]

    # -- execution --
    def _bus_read(self, addr: int, n: int, pc: int) -> bytes:
        if addr + n > len(self.mem):
            raise ProcessorFault(ErrorCode.AXI_ERROR, pc, f"read at 0x{addr:x} outside memory")
        return bytes(self.mem[addr:addr + n])

    def _start(self) -> None:
        m, cfg = self.machine, self.cfg
        m.sat_count = 0
        self.trace = []
        for name in isa.PERF_COUNTERS:
            self.regs[name] = 0
        self.regs["STATUS"] = 0
        self.timing.reset()
        self.executed = 0
        pc = 0
        try:
            if self._prog_dirty:
                n = self.regs["PROG_LEN"]
                if not 1 <= n <= cfg.imem_depth:
                    raise ProcessorFault(ErrorCode.BAD_PROGRAM, 0, f"PROG_LEN={n}, imem holds {cfg.imem_depth}")
                addr = self.regs["PROG_ADDR"]
                if addr % max(16, cfg.beat_bytes):
                    raise ProcessorFault(ErrorCode.MISALIGNED, 0, f"PROG_ADDR=0x{addr:x}")
                m.imem = isa.from_bytes(self._bus_read(addr, 16 * n, 0))
                self._prog_dirty = False
                self.timing.fetch(n)
            pc = self._execute()
            status = isa.STATUS_DONE
        except ProcessorFault as fault:
            pc = fault.pc
            status = isa.STATUS_DONE | isa.STATUS_ERROR | (int(fault.code) << 8)
            self.last_fault = fault
            if fault.code == ErrorCode.BAD_PROGRAM:
                self._prog_dirty = True
        self.regs["STATUS"] = status
        self.regs["PC"] = pc
        self.regs["SAT_COUNT"] = m.sat_count
        c = self.timing.counters()
        self.regs["CYCLES"] = c.cycles & 0xFFFFFFFF
        self.regs["INSTRS"] = self.executed
        for k in Kernel:
            self.regs[f"BUSY_{k.name}"] = c.busy[k] & 0xFFFFFFFF

    def _execute(self) -> int:
        m, cfg = self.machine, self.cfg
        prog = m.imem
        n = len(prog)
        pc = 0
        loop = None  # (body_pc, count)
        t = 0
        self.executed = 0
        while True:
            if pc >= n:
                raise ProcessorFault(ErrorCode.PC_OVERRUN, pc, "ran past the last instruction without END")
            try:
                op, f = isa.decode(prog[pc])
            except ValueError as e:
                raise ProcessorFault(ErrorCode.ILLEGAL_OPCODE, pc, str(e)) from None
            why = isa.check_legal(op, f, cfg)
            if why:
                raise ProcessorFault(ErrorCode.ILLEGAL_OPCODE, pc, why)
            if self.keep_trace:
                self.trace.append((pc, op, f))
            if op == Op.END:
                self.timing.end(pc)
                self.executed += 1
                return pc
            if op == Op.NOP:
                self.timing.control(pc, op)
                pc += 1
            elif op == Op.SYNC:
                self.timing.sync(pc)
                pc += 1
            elif op == Op.LOOP:
                if loop is not None:
                    raise ProcessorFault(ErrorCode.LOOP_ERROR, pc, "LOOP inside a loop")
                count = f["count"] if f["func"] == isa.LoopCount.IMMEDIATE else self.regs["SEQ_LEN"]
                self.timing.control(pc, op)
                if count == 0:
                    pc = f["jump"]
                    self.timing.jump()
                else:
                    loop, t = (pc + 1, count), 0
                    pc += 1
            elif op == Op.ENDLOOP:
                if loop is None:
                    raise ProcessorFault(ErrorCode.LOOP_ERROR, pc, "ENDLOOP outside a loop")
                self.timing.control(pc, op)
                t += 1
                if t < loop[1]:
                    pc = loop[0]
                    self.timing.jump()
                else:
                    loop, t = None, 0
                    pc += 1
            elif op in (Op.LOAD, Op.STORE):
                if f["cond"] and not (self.regs["FLAGS"] >> (f["cond"] - 1)) & 1:
                    self.timing.control(pc, op)
                else:
                    self._dma(pc, op, f, t)
                pc += 1
            else:
                {Op.FC: m.fc, Op.ACT: m.act, Op.EW: m.ew}[op](pc, f)
                self.timing.issue(pc, op, f)
                pc += 1
            self.executed += 1  # it left the issue stage; a faulting instruction never does

    def _dma(self, pc: int, op: Op, f: dict, t: int) -> None:
        m, cfg = self.machine, self.cfg
        addr = (self.regs[f"BASE{f['base']}"] + f["ddr_offset"] + t * f["stride"]) & 0xFFFFFFFF
        if addr % cfg.beat_bytes:
            raise ProcessorFault(ErrorCode.MISALIGNED, pc, f"external address 0x{addr:x}")
        n = f["length"]
        eb = cfg.elem_bytes
        dtype = np.dtype(f"<i{eb}")
        if op == Op.STORE:
            m._arange(pc, f["src0"], n, "STORE source")
            if addr + n * eb > len(self.mem):
                raise ProcessorFault(ErrorCode.AXI_ERROR, pc, f"write at 0x{addr:x} outside memory")
            data = m.abuf[f["src0"]:f["src0"] + n].astype(dtype).tobytes()
            self.mem[addr:addr + len(data)] = data
            self.timing.issue(pc, op, f, nbytes=len(data), addr=addr)
            return
        target = f["func"]
        if target == isa.LoadTarget.ABUF:
            m._arange(pc, f["dst"], n, "LOAD destination")
            raw = self._bus_read(addr, -(-n * eb // cfg.beat_bytes) * cfg.beat_bytes, pc)
            m.abuf[f["dst"]:f["dst"] + n] = np.frombuffer(raw, dtype=dtype)[:n]
            nbytes = len(raw)
        elif target == isa.LoadTarget.WBUF:
            if f["dst"] + n > cfg.wbuf_words:
                raise ProcessorFault(ErrorCode.BUFFER_OVERFLOW, pc, "LOAD past the weight buffer")
            raw = self._bus_read(addr, n * cfg.word_bits // 8, pc)
            m.wbuf[f["dst"]:f["dst"] + n] = np.frombuffer(raw, dtype=dtype).reshape(n, cfg.lanes)
            nbytes = len(raw)
        else:
            if f["dst"] + n > cfg.bbuf_depth:
                raise ProcessorFault(ErrorCode.BUFFER_OVERFLOW, pc, "LOAD past the bias buffer")
            nbytes = -(-n * 4 // cfg.beat_bytes) * cfg.beat_bytes
            raw = self._bus_read(addr, nbytes, pc)
            m.bbuf[f["dst"]:f["dst"] + n] = np.frombuffer(raw, dtype="<i4")[:n]
        self.timing.issue(pc, op, f, nbytes=nbytes, addr=addr)


class CycleModel:
    """Predicts the RTL's cycle counts: in-order issue, one instruction per kernel at a time,
    hazards on activation-buffer ranges (isa.access_ranges). Latencies are the RTL's, documented
    in docs/architecture.md; `mem_latency` is the external memory's read latency in cycles."""

    def __init__(self, cfg: ProcessorConfig, mem_latency: int = 2):
        self.cfg = cfg
        self.mem_latency = mem_latency
        self.reset()

    def reset(self) -> None:
        self.now = 0
        self.kernel_free = {k: 0 for k in Kernel}  # cycle at which each kernel can take work
        self.running: list[tuple[int, Kernel, list, list]] = []  # (done_cycle, kernel, reads, writes)
        self._c = Counters()

    def counters(self) -> Counters:
        return self._c

    # Placeholders until the RTL timing is characterised (see docs/architecture.md).
    def fetch(self, n: int) -> None:
        self.now += n

    def control(self, pc, op) -> None:
        self.now += 1

    def jump(self) -> None:
        pass

    def sync(self, pc) -> None:
        self.now = max([self.now] + list(self.kernel_free.values()))

    def end(self, pc) -> None:
        self.sync(pc)
        self._c.cycles = self.now

    def issue(self, pc, op, f, nbytes=0, addr=0) -> None:
        self._c.instrs += 1
        self.now += 1
