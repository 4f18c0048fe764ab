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
from rtl.lut import table


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


@dataclasses.dataclass(frozen=True)
class Retired:
    """What the processor's retire trace (rtl/trace.py) reports for one completed instruction:
    its kernel, pc, loop index, start and done cycles (counted from the cycle after CTRL.START),
    and the kernel's write signature after it (the sum mod 2**32 over every activation-buffer
    element the kernel wrote since START of address * 2**16 + the element's two's-complement bits)."""
    kernel: Kernel
    pc: int
    t: int
    issue: int
    done: int
    sig: int
    defined: bool = True  # the golden model's sig is meaningful (it wrote no undefined element so far)


SIGNATURE_MASK = (1 << 32) - 1
# rtl/trace.py counts cycles from the cycle after START; the cycle model from the START cycle
TRACE_CYCLE_OFFSET = 1


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
        # elements defined since START: loaded, or computed from defined elements only. The others
        # hold whatever the memory held before (like X in a four-state simulation), which a
        # verification flow running many programs on one simulator must not compare (see
        # GoldenDevice.undefined)
        self.written = np.zeros(cfg.abuf_elements, dtype=bool)
        self.wbuf = np.zeros((cfg.wbuf_words, p), dtype=np.int64)
        self.bbuf = np.zeros(cfg.bbuf_depth, dtype=np.int64)
        self.imem: list[int] = []
        self.tables = {name: tuple(np.array(a, dtype=np.int64) for a in table(cfg, name))
                       for name in ("sigmoid", "hard-sigmoid", "softsign", "exp")}
        self.sat_count = 0

    # -- helpers --
    def _sat(self, v: np.ndarray) -> np.ndarray:
        lo, hi = self.cfg.data_min, self.cfg.data_max
        self.sat_count += int(np.count_nonzero((v < lo) | (v > hi)))
        return np.clip(v, lo, hi)

    # -- kernels --
    def fc(self, pc: int, f: dict) -> None:
        cfg, p = self.cfg, self.cfg.lanes
        n_rows, k = f["length"], f["cols"]
        kw = -(-k // p)
        w = self.wbuf[f["waddr"]:f["waddr"] + n_rows * kw].reshape(n_rows, kw * p)[:, :k]
        a = self.abuf[f["src0"]:f["src0"] + k].copy()
        a[:f["split"]] <<= f["shift1"]  # the first column segment's products scaled up by 2^shift1
        acc = self.bbuf[f["bias"]:f["bias"] + n_rows] + w @ a
        acc = wrap(acc, cfg.acc_bits)
        self.abuf[f["dst"]:f["dst"] + n_rows] = self._sat(round_shift(acc, f["shift0"]))
        self.written[f["dst"]:f["dst"] + n_rows] = self.written[f["src0"]:f["src0"] + k].all()

    def _lookup(self, function: str, mag: np.ndarray, shift0: int) -> np.ndarray:
        """Interpolated table value at |x| = mag, in Q0.(V+F) (V = lut_value_bits): index (mag << 2F) >> shift0,
        F fraction bits between entries, saturating at the last entry."""
        fb = self.cfg.lut_frac_bits
        t, d = self.tables[function]
        depth = len(t) - 1
        q = (mag << (2 * fb)) >> shift0
        idx = q >> fb
        frac = q & ((1 << fb) - 1)
        beyond = idx >= depth
        idx = np.where(beyond, depth, idx)
        frac = np.where(beyond, 0, frac)
        sign = -1 if function == "exp" else 1  # exp(-u) decreases, the others increase
        return (t[idx] << fb) + sign * d[idx] * frac

    def act(self, pc: int, f: dict) -> None:
        cfg = self.cfg
        n = f["length"]
        fb = cfg.lut_frac_bits
        x = self.abuf[f["src0"]:f["src0"] + n]
        if f["func"] == isa.ActFunc.SOFTMAX:
            self.abuf[f["dst"]:f["dst"] + n] = self._softmax(x, f["shift0"], f["shift1"])
            self.written[f["dst"]:f["dst"] + n] = self.written[f["src0"]:f["src0"] + n].all()
            return
        func = isa.ActFunc(f["func"])
        table = {isa.ActFunc.SIGMOID: "sigmoid", isa.ActFunc.TANH: "sigmoid",
                 isa.ActFunc.HARD_SIGMOID: "hard-sigmoid", isa.ActFunc.SOFTSIGN: "softsign"}[func]
        y = self._lookup(table, np.abs(x), f["shift0"])  # f(|x|) in Q0.(V+fb)
        one = 1 << (cfg.lut_value_bits + fb)
        if func in (isa.ActFunc.SIGMOID, isa.ActFunc.HARD_SIGMOID):
            r = np.where(x >= 0, y, one - y)  # f(-x) = 1 - f(x)
        elif func == isa.ActFunc.TANH:
            r = 2 * y - one  # the index holds 2|x|: tanh(x) = 2 sigmoid(2x) - 1
            r = np.where(x >= 0, r, -r)
        else:
            r = np.where(x >= 0, y, -y)  # softsign is odd
        out = round_shift(r, cfg.lut_value_bits + fb - f["shift1"])
        # Bounded functions: clipping 1.0 to the largest code is not an overflow, so not counted.
        self.abuf[f["dst"]:f["dst"] + n] = np.clip(out, cfg.data_min, cfg.data_max)
        self.written[f["dst"]:f["dst"] + n] = self.written[f["src0"]:f["src0"] + n].copy()

    def _softmax(self, z: np.ndarray, shift0: int, out_frac: int) -> np.ndarray:
        """exp(z - max) from the exp table, summed, one division 2^N // sum, then
        p = round(e * (2^N // sum) / 2^(N - out_frac)), N = 2 * (V + F)."""
        cfg = self.cfg
        if not len(z):
            return z
        e = self._lookup("exp", z.max() - z, shift0)
        n_bits = 2 * (cfg.lut_value_bits + cfg.lut_frac_bits)
        recip = (1 << n_bits) // int(e.sum())
        return np.clip(round_shift(e * recip, n_bits - out_frac), cfg.data_min, cfg.data_max)

    def ew(self, pc: int, f: dict) -> None:
        n = f["length"]
        a = self.abuf[f["src0"]:f["src0"] + n]
        b = self.abuf[f["src1"]:f["src1"] + n]
        if f["func"] == isa.EwFunc.ADD:
            r = (a << f["shift0"]) + (b << f["shift1"])
        else:
            r = a * b
        defined = self.written[f["src0"]:f["src0"] + n] & self.written[f["src1"]:f["src1"] + n]
        self.abuf[f["dst"]:f["dst"] + n] = self._sat(round_shift(r, f["shift2"]))
        self.written[f["dst"]:f["dst"] + n] = defined


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
        self.regs["HW_FINGERPRINT"] = cfg.fingerprint_word()
        self._prog_dirty = True
        self.trace: list[tuple[int, Op, dict]] = []
        self.keep_trace = False
        self.retired: list[Retired] = []  # per completed kernel instruction, in issue order
        self._signature = {k: 0 for k in Kernel}
        self._defined = {k: True for k in Kernel}
        # optional: an object told about every instruction before it executes (observe(pc, op, f,
        # t, machine), skipped_dma()) and after (after(machine)): functional coverage
        self.observer = None
        # 1 for the bytes a STORE wrote from activation-buffer elements that no instruction of its
        # run had written: the RTL's memories may hold anything there (they keep their contents
        # from earlier runs), so comparisons skip them
        self.undefined = bytearray(mem_bytes)

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
        self.regs[name] = value & reg.mask  # the other bits are ignored, read as 0

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
        self.retired = []
        self._signature = {k: 0 for k in Kernel}
        self._defined = {k: True for k in Kernel}
        for name in isa.PERF_COUNTERS:
            self.regs[name] = 0
        self.regs["STATUS"] = 0
        self.timing.reset()
        m.written[:] = False
        self.executed = 0
        pc = 0
        try:
            n = self.regs["PROG_LEN"]
            if not 1 <= n <= cfg.imem_depth:
                raise ProcessorFault(ErrorCode.BAD_PROGRAM, 0, f"PROG_LEN={n}, imem holds {cfg.imem_depth}")
            if self._prog_dirty:
                addr = self.regs["PROG_ADDR"]
                if addr % max(16, cfg.beat_bytes):
                    raise ProcessorFault(ErrorCode.MISALIGNED, 0, f"PROG_ADDR=0x{addr:x}")
                m.imem = isa.from_bytes(self._bus_read(addr, 16 * n, 0))
                self._prog_dirty = False
                self.timing.fetch(n, addr)
            else:
                self.timing.no_fetch()
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
        self.regs["INSTRS"] = self.executed  # counted here; the cycle model's count must agree
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
            why = isa.check_bounds(op, f, cfg)
            if why:
                raise ProcessorFault(ErrorCode.BUFFER_OVERFLOW, pc, why)
            why = isa.check_access(op, f, cfg)
            if why:
                raise ProcessorFault(ErrorCode.REGION_ERROR, pc, why)
            at_end = loop is not None and pc == loop[2]
            if op == Op.ENDLOOP and not at_end:
                raise ProcessorFault(ErrorCode.LOOP_ERROR, pc, "ENDLOOP outside a loop or not at its LOOP's jump-1"
                                     if loop is None else f"ENDLOOP at pc {pc}, the loop ends at {loop[2]}")
            if at_end and op != Op.ENDLOOP:
                raise ProcessorFault(ErrorCode.LOOP_ERROR, pc, f"{op.name} at the loop's end (pc {pc}): only an "
                                     "ENDLOOP may sit at its LOOP's jump-1")
            if self.keep_trace:
                self.trace.append((pc, op, f))
            observer = self.observer
            if observer is not None:
                skipped = op in (Op.LOAD, Op.STORE) and f["cond"] and not (self.regs["FLAGS"] >> (f["cond"] - 1)) & 1
                if skipped:
                    observer.skipped_dma()
                else:
                    observer.observe(pc, op, f, t, self.machine)
            if op == Op.END:
                self.timing.end()
                self.executed += 1
                return pc
            if op == Op.NOP:
                self.timing.control()
                pc += 1
            elif op == Op.SYNC:
                self.timing.sync()
                pc += 1
            elif op == Op.LOOP:
                if loop is not None:
                    raise ProcessorFault(ErrorCode.LOOP_ERROR, pc, "LOOP inside a loop")
                if f["jump"] < pc + 4:
                    raise ProcessorFault(ErrorCode.LOOP_ERROR, pc, f"LOOP jump={f['jump']}: the body needs two "
                                         "instructions and the ENDLOOP (jump >= pc+4)")
                count = f["count"] if f["func"] == isa.LoopCount.IMMEDIATE else self.regs["SEQ_LEN"]
                self.timing.control(zero_trip=count == 0)
                if count == 0:
                    pc = f["jump"]
                else:
                    loop, t = (pc + 1, count, f["jump"] - 1), 0
                    pc += 1
            elif op == Op.ENDLOOP:
                self.timing.control()
                t += 1
                if t < loop[1]:
                    pc = loop[0]
                else:
                    loop, t = None, 0
                    pc += 1
            elif op in (Op.LOAD, Op.STORE):
                if f["cond"] and not (self.regs["FLAGS"] >> (f["cond"] - 1)) & 1:
                    self.timing.control()
                else:
                    self._dma(pc, op, f, t)
                pc += 1
            elif f["length"] == 0:
                self.timing.control()  # nothing to compute: it leaves the issue stage like a NOP
                pc += 1
            else:
                {Op.FC: m.fc, Op.ACT: m.act, Op.EW: m.ew}[op](pc, f)
                self.timing.issue(op, f, pc=pc)
                self._retire(f["dst"], f["length"], t)
                pc += 1
            if observer is not None:
                observer.after(self.machine)
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
            if addr + n * eb > len(self.mem):
                raise ProcessorFault(ErrorCode.AXI_ERROR, pc, f"write at 0x{addr:x} outside memory")
            data = m.abuf[f["src0"]:f["src0"] + n].astype(dtype).tobytes()
            unwritten = np.repeat(~m.written[f["src0"]:f["src0"] + n], eb).astype(np.uint8).tobytes()
            self.undefined[addr:addr + len(unwritten)] = unwritten
            self.mem[addr:addr + len(data)] = data
            self.timing.issue(op, f, addr, pc=pc)
            self._retire(0, 0, t)
            return
        target = f["func"]
        if target == isa.LoadTarget.ABUF:
            raw = self._bus_read(addr, -(-n * eb // cfg.beat_bytes) * cfg.beat_bytes, pc)
            m.abuf[f["dst"]:f["dst"] + n] = np.frombuffer(raw, dtype=dtype)[:n]
            m.written[f["dst"]:f["dst"] + n] = True
            nbytes = len(raw)
        elif target == isa.LoadTarget.WBUF:
            raw = self._bus_read(addr, n * cfg.word_bits // 8, pc)
            m.wbuf[f["dst"]:f["dst"] + n] = np.frombuffer(raw, dtype=dtype).reshape(n, cfg.lanes)
            nbytes = len(raw)
        else:
            nbytes = -(-n * 4 // cfg.beat_bytes) * cfg.beat_bytes
            raw = self._bus_read(addr, nbytes, pc)
            m.bbuf[f["dst"]:f["dst"] + n] = np.frombuffer(raw, dtype="<i4")[:n]
        self.timing.issue(op, f, addr, pc=pc)
        self._retire(f["dst"], n if target == isa.LoadTarget.ABUF else 0, t)

    def _retire(self, dst: int, n: int, t: int) -> None:
        """Record the instruction the cycle model just issued, with the elements [dst, dst+n) of
        the activation buffer it wrote."""
        pc, kernel, issue, done = self.timing.events[-1]
        bits = self.cfg.data_bits
        values = self.machine.abuf[dst:dst + n] & ((1 << bits) - 1)
        addrs = np.arange(dst, dst + n, dtype=np.int64)
        sig = (self._signature[kernel] + int(((addrs << 16) + values).sum())) & SIGNATURE_MASK
        self._signature[kernel] = sig
        # a value computed from elements no instruction of the run wrote is not defined on the RTL
        # (its memories keep earlier runs' contents): nor is any later signature of the kernel
        self._defined[kernel] &= bool(self.machine.written[dst:dst + n].all())
        self.retired.append(Retired(kernel, pc, t, issue - TRACE_CYCLE_OFFSET, done - TRACE_CYCLE_OFFSET, sig,
                                    self._defined[kernel]))


class CycleModel:
    """Predicts the RTL's cycle counts, cycle for cycle, from the documented timings of the issue
    unit (rtl/issue.py) and the kernels.

    Front end. Instruction k of the run (in execution order) is presented to the instruction memory
    in cycle P_k = max(P_{k-1} + 1 (+2 after a LOOP of zero trips), Q_{k-5} + 1), the first cycle
    with fewer than five instructions between the fetch and the issue stage; it reaches the N
    register (the instruction R takes next) in N_k = max(P_k + 3, R_{k-1}), the R register in
    R_k = max(N_k + 1, Q_{k-1} + 1) and moves into the issue stage at the end of
    Q_k = max(R_k, I_{k-1}), where I_{k-1} is the cycle the previous instruction left it. The first
    instruction is presented in the run's first cycle (the cycle after START, or after the program
    fetch). Loops cost nothing beyond their LOOP and ENDLOOP instructions.

    Issue. Instruction k leaves the issue stage in the first cycle I_k >= Q_k + 1 in which:
    control instructions (NOP, LOOP, ENDLOOP, skipped LOAD/STORE, FC/ACT/EW of length 0): always;
    END and SYNC: every kernel is idle; a kernel instruction: its kernel takes it (FC, ACT, EW: the
    previous instruction of the kernel has presented its last word, I >= I_prev + N_prev, and fewer
    than two of its instructions are in flight; softmax: the ACT kernel is empty, and holds it until
    done; DMA: idle), no instruction in flight conflicts with it (RAW/WAR/WAW on the activation
    buffer ranges, rounded out to rows in regions Z and E; or a region port used by another kernel),
    and no weight/bias load holds issue (they wait for all kernels and hold issue until the cycle
    after their done). "In flight" ends with the done cycle (a done frees in its own cycle).

    Durations (issue cycle to done cycle), N = words presented:

        FC    N = rows*ceil(cols/P)    N + 13 + log2(P)
        ACT   N = ceil(length/P)       N + 14             EW   N + 9
        ACT softmax  3*length + (lut_value_bits + lut_frac_bits + 1) + 19
        DMA   5 cycles to the first address handshake (2 for the program fetch), then per burst of
              B beats: read mem_read_latency + B - 1 cycles to the last beat (+1 cycle per 32-bit
              entry for bias loads), write 6 per beat + mem_write_latency to the response; 3 cycles
              between bursts; 3 cycles after a read's last burst, 4 after a write's.

    `mem_read_latency` (AR handshake to first beat) and `mem_write_latency` (last W handshake to
    B) describe the external memory; the defaults are those of cocotbext-axi's AxiRam without
    back-pressure. With back-pressure the RTL takes longer and the model is a lower bound.
    """

    FETCH_LIMIT = 5          # rtl/issue.py FETCH_LIMIT
    ZERO_TRIP_GAP = 2        # fetch cycles lost after a LOOP of zero trips
    ADDRESS_CYCLES = 3       # the DMA's external address pipeline (LOAD/STORE, not the program fetch)
    PREDECODE = 4            # rtl/predecode.py PREDECODE_LATENCY: program writes and the fetch's done

    def __init__(self, cfg: ProcessorConfig, mem_read_latency: int = 2, mem_write_latency: int = 2):
        self.cfg = cfg
        self.mem_read_latency = mem_read_latency
        self.mem_write_latency = mem_write_latency
        self.reset()

    def reset(self) -> None:
        self.events: list[tuple[int, Kernel, int, int]] = []  # (pc, kernel, issue cycle, done cycle)
        self.start_cycle = 0  # the cycle CTRL.START was taken
        self.run_begin = 0    # the run's first cycle
        # (done cycle, kernel, hazard reads, hazard writes, region ports)
        self.running: list[tuple[int, Kernel, list, list, set]] = []
        self.seq_free = {k: 0 for k in (Kernel.FC, Kernel.ACT, Kernel.EW)}
        self.softmax_done = 0
        self.drain_until = 0  # a weight/bias load holds issue until this cycle
        self.busy_intervals = {k: [] for k in Kernel}
        self._instrs = 0
        self._cycles = 0
        self._p = None        # P of the previous instruction
        self._q = []          # Q of the previous instructions (the last FETCH_LIMIT)
        self._r = None        # R of the previous instruction
        self._leave = None    # the cycle the previous instruction left the issue stage
        self._gap = 0
        self.leave_cycles: list[int] = []  # the cycle each executed instruction left the issue stage

    def _left(self, cycle: int) -> None:
        self._leave = cycle
        self.leave_cycles.append(cycle)

    def counters(self) -> Counters:
        c = Counters(cycles=self._cycles, instrs=self._instrs)
        for k, spans in self.busy_intervals.items():
            c.busy[k] = _union_length(spans)
        return c

    # ---- DMA ------------------------------------------------------------------------------------
    def _bursts(self, addr: int, beats: int) -> list[int]:
        """Burst sizes of a transfer: at most 256 beats, split at 4 KB boundaries."""
        out, bb = [], self.cfg.beat_bytes
        while beats:
            n = min(beats, 256, (4096 - (addr & 4095)) // bb)
            out.append(n)
            beats -= n
            addr += n * bb
        return out

    def _read_cycles(self, addr: int, beats: int, entries: int = 0, address_cycles: int = 0) -> int:
        """Cycles from the DMA's start to its done for a read of `beats` beats."""
        cycles = 1 + address_cycles  # start -> (address pipeline) -> CHECK
        epb = self.cfg.axi_data_bits // self.cfg.BIAS_BITS
        left = entries
        for n in self._bursts(addr, beats):
            cycles += 2  # SIZE, CHECK -> address handshake
            if entries:
                # each beat waits for the previous beat's entries to be written out
                per_beat = [min(epb, max(0, left - j * epb)) for j in range(n)]
                left -= sum(per_beat)
                cycles += self.mem_read_latency + sum(m + 1 for m in per_beat[:-1])
                cycles += per_beat[-1] + 1  # drain the last beat's entries
            else:
                cycles += self.mem_read_latency + n - 1
            cycles += 1  # to CHECK (next burst) or DRAIN
        return cycles + 2 - (1 if entries else 0)  # the last burst: DRAIN, FINISH

    def _write_cycles(self, addr: int, beats: int) -> int:
        cycles = 1 + self.ADDRESS_CYCLES
        for n in self._bursts(addr, beats):
            cycles += 2 + 6 * n + self.mem_write_latency + 1
        return cycles + 3

    def fetch(self, instructions: int, addr: int) -> None:
        beats = instructions * isa.INSTR_BITS // self.cfg.axi_data_bits
        # fetch_start in the cycle after START, the done PREDECODE cycles after the DMA's, RUN next
        self.run_begin = self.start_cycle + 1 + self._read_cycles(addr, beats) + self.PREDECODE + 1

    def no_fetch(self) -> None:
        self.run_begin = self.start_cycle + 1

    # ---- front end --------------------------------------------------------------------------------
    def _front(self) -> int:
        """The first cycle the next instruction can leave the issue stage, as far as the front end
        is concerned (see the class docstring)."""
        p = self.run_begin if self._p is None else self._p + 1 + self._gap
        if len(self._q) == self.FETCH_LIMIT:
            p = max(p, self._q[0] + 1)
        n = p + 3 if self._r is None else max(p + 3, self._r)
        r = n + 1 if not self._q else max(n + 1, self._q[-1] + 1)
        q = r if self._leave is None else max(r, self._leave)
        self._p, self._r, self._gap = p, r, 0
        self._q = (self._q + [q])[-self.FETCH_LIMIT:]
        return q + 1

    def _in_flight(self, cycle: int) -> list:
        return [r for r in self.running if r[0] > cycle]

    def _all_done(self, cycle: int) -> int:
        return max([cycle] + [r[0] for r in self.running])

    def control(self, zero_trip: bool = False) -> None:
        self._instrs += 1
        self._left(self._front())
        if zero_trip:
            self._gap = self.ZERO_TRIP_GAP

    def sync(self) -> None:
        c = self._front()
        self._left(self._all_done(c))
        self._instrs += 1

    def end(self) -> None:
        c = self._front()
        self._left(self._all_done(c))
        self._instrs += 1
        self._cycles = self._leave - self.start_cycle

    # ---- kernel instructions ---------------------------------------------------------------------
    def _hazard_ranges(self, op: Op, f: dict) -> tuple[list, list]:
        """Access ranges as the scoreboard compares them: rounded out to rows in Z and E."""
        p = self.cfg.lanes
        reads, writes = [], []
        for a in isa.accesses(op, f):
            lo, hi = a.lo, a.hi
            if hi > lo and isa.region_of(self.cfg, lo) in isa.ALIGNED_REGIONS:
                lo, hi = lo // p * p, -(-hi // p) * p
            (writes if a.is_write else reads).append((lo, hi))
        return reads, writes

    def issue(self, op: Op, f: dict, addr: int = 0, pc: int = -1) -> None:
        cfg, p = self.cfg, self.cfg.lanes
        kernel = isa.FORMATS[op][1]
        reads, writes = self._hazard_ranges(op, f)
        ports = isa.resources(op, f, cfg)
        blocking = op == Op.LOAD and f["func"] != isa.LoadTarget.ABUF
        softmax = op == Op.ACT and f["func"] == isa.ActFunc.SOFTMAX
        c = max(self._front(), self.drain_until)
        if blocking:
            c = max(c, self._all_done(c))
        for done, k, r_reads, r_writes, r_ports in self.running:
            if any(_overlap(a, b) for a in reads for b in r_writes) or \
                    any(_overlap(a, b) for a in writes for b in r_reads + r_writes) or \
                    (k != kernel and ports & r_ports):
                c = max(c, done)
        same = [r[0] for r in self.running if r[1] == kernel and r[0] > c]
        if kernel == Kernel.DMA or softmax:
            c = max([c] + same)
        else:
            c = max(c, self.seq_free[kernel], self.softmax_done if kernel == Kernel.ACT else 0)
            if len(same) >= 2:
                c = max(c, sorted(same)[-2])
        n = f.get("length", 0)
        if op == Op.FC:
            words = n * -(-f["cols"] // p)
            dur = words + 13 + cfg.lane_bits
        elif softmax:
            # three element-serial passes and a restoring division of V + F + 1 quotient bits
            words = 0
            dur = 3 * n + (cfg.lut_value_bits + cfg.lut_frac_bits + 1) + 19
        elif op in (Op.ACT, Op.EW):
            words = -(-n // p)
            dur = words + (14 if op == Op.ACT else 9)
        elif op == Op.STORE:
            dur = self._write_cycles(addr, -(-n // cfg.elems_per_beat))
        elif f["func"] == isa.LoadTarget.ABUF:
            dur = self._read_cycles(addr, -(-n // cfg.elems_per_beat), address_cycles=self.ADDRESS_CYCLES)
        elif f["func"] == isa.LoadTarget.WBUF:
            dur = self._read_cycles(addr, n * cfg.word_bits // cfg.axi_data_bits, address_cycles=self.ADDRESS_CYCLES)
        else:
            epb = cfg.axi_data_bits // cfg.BIAS_BITS
            dur = self._read_cycles(addr, -(-n // epb), entries=n, address_cycles=self.ADDRESS_CYCLES)
        if not n and op in (Op.LOAD, Op.STORE):
            dur = 4 + self.ADDRESS_CYCLES  # start -> address pipeline -> SIZE -> CHECK -> FINISH -> done
        done = c + dur
        if kernel in self.seq_free:
            self.seq_free[kernel] = c + max(words, 1)
        if softmax:
            self.softmax_done = done
        self.running = [r for r in self.running if r[0] > c] + [(done, kernel, reads, writes, ports)]
        self.events.append((pc, kernel, c - self.start_cycle, done - self.start_cycle))
        self.busy_intervals[kernel].append((c + 1, done))
        self._instrs += 1
        if blocking:
            self.drain_until = done + 1
        self._left(c)


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < a[1] and b[0] < b[1] and a[0] < b[1] and b[0] < a[1]


def _union_length(spans: list[tuple[int, int]]) -> int:
    """Cycles covered by inclusive [first, last] intervals."""
    total, end = 0, None
    for lo, hi in sorted(spans):
        if end is None or lo > end:
            total += hi - lo + 1
            end = hi
        elif hi > end:
            total += hi - end
            end = hi
    return total
