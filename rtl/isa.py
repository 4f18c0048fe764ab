"""The instruction set and the register map, defined once.

The compiler encodes with `encode`, the golden model and the listing decode with `decode`, and the
RTL decoder slices instruction words with the `FIELDS` positions below. `docs/isa.md` is generated
from this module (`python -m rtl.isa > docs/isa.md`) and a test checks that it is current.

Every instruction is 128 bits. Fields sit at fixed positions; an opcode uses a subset of them.
Fields that overlap (an alias such as `waddr` over `src1`, or `ddr_offset` over `cols`+`bias`) are
never used by the same opcode; `tests/unit/test_isa.py` checks that.
"""
from __future__ import annotations

import dataclasses
import enum
import operator

INSTR_BITS = 128


@dataclasses.dataclass(frozen=True)
class Field:
    name: str
    lsb: int
    width: int
    doc: str

    @property
    def msb(self) -> int:
        return self.lsb + self.width - 1

    @property
    def mask(self) -> int:
        return (1 << self.width) - 1

    @property
    def bounds(self) -> tuple[int, int]:
        """(msb + 1, lsb): the field as a MyHDL slice word[hi:lo] of an instruction word."""
        return self.msb + 1, self.lsb


FIELDS = {f.name: f for f in (
    Field("opcode", 0, 4, "operation, see the opcode table"),
    Field("func", 4, 4, "variant of the operation (activation function, element-wise op, DMA target)"),
    Field("dst", 8, 16, "destination address: activation-buffer element (or weight word / bias entry for LOAD)"),
    Field("jump", 8, 16, "LOOP: program counter to continue at when the trip count is 0"),
    Field("src0", 24, 16, "first source: activation-buffer element address"),
    Field("src1", 40, 16, "second source: activation-buffer element address"),
    Field("waddr", 40, 16, "FC: weight-buffer word address of row 0"),
    Field("length", 56, 16, "number of elements (FC: output rows; LOAD wbuf: words; LOAD bbuf: entries)"),
    Field("count", 56, 16, "LOOP: immediate trip count (func=0)"),
    Field("cols", 72, 16, "FC: input vector length K"),
    Field("bias", 88, 16, "FC: bias-buffer entry of row 0"),
    Field("ddr_offset", 72, 32, "LOAD/STORE: byte offset added to the selected base register"),
    Field("shift0", 104, 6, "FC: accumulator right shift; ACT: LUT index shift; EW add: left shift of src0"),
    Field("shift1", 110, 6, "ACT: output fraction bits; EW add: left shift of src1; FC: left shift of the "
                            "products of columns < split"),
    Field("shift2", 116, 6, "EW: result right shift (rounded)"),
    Field("stride", 104, 16, "LOAD/STORE: bytes added per iteration of the enclosing loop"),
    Field("base", 120, 2, "LOAD/STORE: base register BASE0..BASE3"),
    Field("cond", 122, 2, "LOAD/STORE: 0 always; k=1..3 only when FLAGS bit k-1 is set"),
    Field("split", 116, 12, "FC: columns 0..split-1 form the first segment (its own fixed-point scale)"),
)}


class Op(enum.IntEnum):
    NOP = 0
    END = 1
    SYNC = 2
    LOOP = 3
    ENDLOOP = 4
    LOAD = 5
    STORE = 6
    FC = 7
    ACT = 8
    EW = 9


class ActFunc(enum.IntEnum):
    SIGMOID = 0
    TANH = 1
    HARD_SIGMOID = 2
    SOFTSIGN = 3
    SOFTMAX = 4


class EwFunc(enum.IntEnum):
    ADD = 0
    MUL = 1


class LoadTarget(enum.IntEnum):
    ABUF = 0
    WBUF = 1
    BBUF = 2


class LoopCount(enum.IntEnum):
    IMMEDIATE = 0
    SEQ_LEN = 1


class Kernel(enum.IntEnum):
    """Execution units; all run concurrently. FC, ACT and EW are pipelines that take the next
    instruction as soon as the previous one has read its last word (up to two in flight each);
    the DMA runs one transfer at a time."""
    FC = 0
    ACT = 1
    EW = 2
    DMA = 3


class Region(enum.IntEnum):
    """Regions of the activation buffer's element address space (`region_bounds`). Each is its own
    memory with one write port: block RAM with at most one write and two ports per RAM."""
    V = 0  # vectors [x; h_1; ...]: P banks, P-wide reads and writes at any element address
    Z = 1  # FC results: P-element rows, P-wide accesses start at a row
    E = 2  # element-wise operands and results: P-element rows, two read ports (two copies)


REGION_DOC = {
    Region.V: "vectors [x; h_1; h_2; ...] read by the FC kernel: P banks, so P-wide reads and writes start "
              "at any element; read by FC and DMA, written by EW and DMA",
    Region.Z: "FC results: rows of P elements (P-wide accesses start at a row; FC writes single elements); "
              "read by FC, ACT, EW (operand a) and DMA, written by FC only",
    Region.E: "element-wise operands and results: rows of P elements, two copies for two read ports; "
              "read by ACT and EW operand a (port 0), EW operand b and DMA (port 1), written by ACT, EW and DMA",
}
ALIGNED_REGIONS = (Region.Z, Region.E)


class Resource(enum.IntEnum):
    """The ports of the regions. Instructions of different kernels that need the same port do not
    run at the same time (the issue unit waits); one kernel's instructions share its own ports."""
    V_READ = 0
    V_WRITE = 1
    Z_READ = 2
    Z_WRITE = 3
    E_READ0 = 4
    E_READ1 = 5
    E_WRITE = 6


#: Kernel ports: the regions each reaches and the region port each access uses.
PORTS: dict[str, dict[Region, Resource]] = {
    "fc.read": {Region.V: Resource.V_READ, Region.Z: Resource.Z_READ},
    "fc.write": {Region.Z: Resource.Z_WRITE},
    "act.read": {Region.Z: Resource.Z_READ, Region.E: Resource.E_READ0},
    "act.write": {Region.E: Resource.E_WRITE},
    "ew.read_a": {Region.Z: Resource.Z_READ, Region.E: Resource.E_READ0},
    "ew.read_b": {Region.E: Resource.E_READ1},
    "ew.write": {Region.V: Resource.V_WRITE, Region.E: Resource.E_WRITE},
    "dma.read": {Region.V: Resource.V_READ, Region.Z: Resource.Z_READ, Region.E: Resource.E_READ1},
    "dma.write": {Region.V: Resource.V_WRITE, Region.E: Resource.E_WRITE},
}


# Which fields each opcode uses, which kernel executes it, and what it does.
FORMATS: dict[Op, tuple[tuple[str, ...], Kernel | None, str]] = {
    Op.NOP: ((), None, "does nothing"),
    Op.END: ((), None, "waits until every kernel is idle, then sets STATUS.DONE and stops"),
    Op.SYNC: ((), None, "waits until every kernel is idle"),
    Op.LOOP: (("func", "count", "jump"), None,
              "starts a loop over the following instructions up to the ENDLOOP at `jump`-1 (`jump` is "
              "the pc after the loop, at least pc+4: the body holds two instructions besides the "
              "ENDLOOP, the time the fetch needs to learn the loop and wrap without a bubble); trip count from `count` (func=0) or the SEQ_LEN register (func=1); the loop "
              "index t runs 0..count-1 and is 0 outside loops; a trip count of 0 continues at `jump`; "
              "loops do not nest"),
    Op.ENDLOOP: ((), None, "ends the loop body (it must sit at the LOOP's `jump`-1, and only an ENDLOOP may): "
                          "next iteration, or falls through after the last"),
    Op.LOAD: (("func", "dst", "length", "ddr_offset", "stride", "base", "cond"), Kernel.DMA,
              "copies from external memory at BASE[base] + ddr_offset + t*stride (beat aligned) into "
              "the buffer selected by func (0 activations: `length` elements; 1 weights: `length` "
              "words; 2 biases: `length` 32-bit entries). Loads into the weight and bias buffers "
              "wait for all kernels to be idle and block issue until done"),
    Op.STORE: (("src0", "length", "ddr_offset", "stride", "base", "cond"), Kernel.DMA,
               "copies `length` activation elements from src0 to external memory at "
               "BASE[base] + ddr_offset + t*stride (beat aligned; bytes past the last element are not written)"),
    Op.FC: (("dst", "src0", "waddr", "length", "cols", "bias", "shift0", "shift1", "split"), Kernel.FC,
            "y[n] = sat(round((bias[bias+n] + sum_k W[n,k]*a[src0+k]*2^(shift1 if k < split else 0)) "
            ">> shift0)) for n < length, k < cols (the two column segments may have different scales, "
            "as x and h of [x; h]); row n of W is ceil(cols/lanes) weight words from "
            "waddr + n*ceil(cols/lanes)"),
    Op.ACT: (("func", "dst", "src0", "length", "shift0", "shift1"), Kernel.ACT,
             "func 0-3: y[e] = sigmoid, tanh, hard-sigmoid or softsign of a[src0+e] through an "
             "interpolated table, P elements per cycle; func 4: y = softmax of the `length` elements "
             "(max, exp table, sum, one division, element-serial; dst must not overlap the source); "
             "shift0 scales the table index, shift1 is the output's fraction bits"),
    Op.EW: (("func", "dst", "src0", "src1", "length", "shift0", "shift1", "shift2"), Kernel.EW,
            "func=0: y = sat(round(((a << shift0) + (b << shift1)) >> shift2)), at most one of shift0 "
            "and shift1 non-zero (aligning two formats shifts one operand); "
            "func=1: y = sat(round((a*b) >> shift2)); a = a[src0+e], b = a[src1+e]"),
}


def encode(op: Op, **fields: int) -> int:
    """Encode one instruction; unknown, unused or out-of-range fields raise ValueError."""
    op = Op(op)
    allowed = FORMATS[op][0]
    word = op
    for name, value in fields.items():
        if name not in allowed:
            raise ValueError(f"{op.name} has no field {name!r} (fields: {', '.join(allowed) or 'none'})")
        f = FIELDS[name]
        value = operator.index(value)  # integers only: 3.7 must not become 3
        if not 0 <= value <= f.mask:
            raise ValueError(f"{op.name}.{name}={value} does not fit in {f.width} bits")
        word |= value << f.lsb
    return int(word)


def decode(word: int) -> tuple[Op, dict[str, int]]:
    """Decode one instruction word into its opcode and the fields that opcode uses."""
    code = word & FIELDS["opcode"].mask
    try:
        op = Op(code)
    except ValueError:
        raise ValueError(f"illegal opcode {code} in instruction 0x{word:032x}") from None
    return op, {n: (word >> FIELDS[n].lsb) & FIELDS[n].mask for n in FORMATS[op][0]}


def to_bytes(words: list[int]) -> bytes:
    """Instruction words as they lie in external memory: little-endian, 16 bytes each."""
    return b"".join(int(w).to_bytes(INSTR_BITS // 8, "little") for w in words)


def from_bytes(blob: bytes) -> list[int]:
    n = INSTR_BITS // 8
    return [int.from_bytes(blob[i:i + n], "little") for i in range(0, len(blob), n)]


@dataclasses.dataclass(frozen=True)
class Access:
    """One activation-buffer access of an instruction: the kernel port, the element range
    [lo, hi), whether it moves P elements per cycle (`wide`; such accesses start at a row in the
    aligned regions) or one element per cycle, and the instruction field that gives lo."""
    port: str
    lo: int
    hi: int
    wide: bool
    field: str

    @property
    def is_write(self) -> bool:
        return self.port.endswith(".write")


def accesses(op: Op, f: dict[str, int]) -> list[Access]:
    """The activation-buffer accesses of an instruction (empty ranges included)."""
    n = f.get("length", 0)
    if op == Op.FC:
        return [Access("fc.read", f["src0"], f["src0"] + f["cols"], True, "src0"),
                Access("fc.write", f["dst"], f["dst"] + n, False, "dst")]
    if op == Op.ACT:
        wide = f["func"] != ActFunc.SOFTMAX
        return [Access("act.read", f["src0"], f["src0"] + n, wide, "src0"),
                Access("act.write", f["dst"], f["dst"] + n, wide, "dst")]
    if op == Op.EW:
        return [Access("ew.read_a", f["src0"], f["src0"] + n, True, "src0"),
                Access("ew.read_b", f["src1"], f["src1"] + n, True, "src1"),
                Access("ew.write", f["dst"], f["dst"] + n, True, "dst")]
    if op == Op.LOAD and f["func"] == LoadTarget.ABUF:
        return [Access("dma.write", f["dst"], f["dst"] + n, True, "dst")]
    if op == Op.STORE:
        return [Access("dma.read", f["src0"], f["src0"] + n, True, "src0")]
    return []


def access_ranges(op: Op, f: dict[str, int]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Activation-buffer element ranges [lo, hi) an instruction reads and writes.

    The issue unit does not start an instruction whose reads overlap a running instruction's
    writes, or whose writes overlap a running instruction's reads or writes."""
    acc = accesses(op, f)
    return ([(a.lo, a.hi) for a in acc if not a.is_write], [(a.lo, a.hi) for a in acc if a.is_write])


def region_bounds(cfg) -> dict[Region, tuple[int, int]]:
    """Element address range [lo, hi) of each region (see ProcessorConfig.region_rows)."""
    return {Region[name]: (first * cfg.lanes, (first + rows) * cfg.lanes)
            for name, (first, rows) in cfg.region_rows.items()}


def region_of(cfg, addr: int) -> Region | None:
    """The region holding an element address, or None for the gaps between regions."""
    for region, (lo, hi) in region_bounds(cfg).items():
        if lo <= addr < hi:
            return region
    return None


def check_access(op: Op, f: dict[str, int], cfg) -> str | None:
    """Why an instruction's activation-buffer accesses break the region rules (ErrorCode.REGION_ERROR),
    or None: every non-empty range lies inside one region that its kernel port reaches, and a wide
    access into an aligned region (Z, E) starts at a row (a multiple of P elements)."""
    bounds = region_bounds(cfg)
    for a in accesses(op, f):
        if a.hi <= a.lo:
            continue
        region = region_of(cfg, a.lo)
        if region is None:
            return f"{op.name}.{a.field}={a.lo} is in no region of the activation buffer"
        if a.hi > bounds[region][1]:
            return (f"{op.name} range [{a.lo}, {a.hi}) runs past the end of region {region.name} "
                    f"[{bounds[region][0]}, {bounds[region][1]})")
        if region not in PORTS[a.port]:
            reach = ", ".join(r.name for r in PORTS[a.port])
            return f"{op.name}.{a.field}={a.lo} is in region {region.name}, which the {a.port} port cannot reach ({reach})"
        if a.wide and region in ALIGNED_REGIONS and a.lo % cfg.lanes:
            return f"{op.name}.{a.field}={a.lo} in region {region.name} does not start a row of {cfg.lanes} elements"
    return None


def check_bounds(op: Op, f: dict[str, int], cfg) -> str | None:
    """Why an instruction reaches past the end of a buffer (ErrorCode.BUFFER_OVERFLOW), or None:
    an activation-buffer range past its last element, FC weight rows past the weight buffer or
    biases past the bias buffer, a weight or bias LOAD past its buffer."""
    for a in accesses(op, f):
        if a.hi > cfg.abuf_elements:
            return f"{op.name} range [{a.lo}, {a.hi}) runs past the activation buffer ({cfg.abuf_elements} elements)"
    n = f.get("length", 0)
    if op == Op.FC:
        if f["waddr"] + n * -(-f["cols"] // cfg.lanes) > cfg.wbuf_words:
            return f"FC weights from word {f['waddr']} run past the weight buffer ({cfg.wbuf_words} words)"
        if f["bias"] + n > cfg.bbuf_depth:
            return f"FC biases from entry {f['bias']} run past the bias buffer ({cfg.bbuf_depth} entries)"
    if op == Op.LOAD and f["func"] == LoadTarget.WBUF and f["dst"] + n > cfg.wbuf_words:
        return f"LOAD of {n} words at {f['dst']} runs past the weight buffer ({cfg.wbuf_words} words)"
    if op == Op.LOAD and f["func"] == LoadTarget.BBUF and f["dst"] + n > cfg.bbuf_depth:
        return f"LOAD of {n} biases at {f['dst']} runs past the bias buffer ({cfg.bbuf_depth} entries)"
    return None


def resources(op: Op, f: dict[str, int], cfg) -> set[Resource]:
    """Region ports an instruction uses (for instructions that pass `check_access`)."""
    out = set()
    for a in accesses(op, f):
        if a.hi > a.lo:
            region = region_of(cfg, a.lo)
            if region is not None and region in PORTS[a.port]:
                out.add(PORTS[a.port][region])
    return out


def field_limits(cfg) -> dict[tuple[Op, str], int]:
    """Largest legal value of the shift fields for a config; larger values make the instruction
    illegal (ErrorCode.ILLEGAL_OPCODE), so every datapath width in the RTL is bounded."""
    fb = cfg.lut_frac_bits
    return {
        (Op.FC, "shift0"): cfg.acc_bits - 1,
        (Op.FC, "shift1"): cfg.data_bits - 1,
        (Op.ACT, "shift0"): 2 * fb + cfg.data_bits,
        (Op.ACT, "shift1"): cfg.lut_value_bits + fb,
        (Op.EW, "shift0"): cfg.data_bits - 1,
        (Op.EW, "shift1"): cfg.data_bits - 1,
        (Op.EW, "shift2"): 2 * cfg.data_bits,
    }


FUNC_LIMITS = {Op.ACT: max(ActFunc), Op.EW: max(EwFunc), Op.LOAD: max(LoadTarget), Op.LOOP: max(LoopCount)}


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < a[1] and b[0] < b[1] and a[0] < b[1] and b[0] < a[1]


def check_legal(op: Op, f: dict[str, int], cfg) -> str | None:
    """Why an instruction is illegal for this config, or None. Mirrors the RTL's decode check.

    Besides unknown func values and shifts over their limits, an instruction may not write over
    its own sources except exactly in place (same start, element-wise ops only, not softmax):
    kernels read ahead of their writes, so any other overlap would depend on pipeline timing."""
    if op in FUNC_LIMITS and f["func"] > FUNC_LIMITS[op]:
        return f"{op.name} has no func {f['func']}"
    for (lop, name), limit in field_limits(cfg).items():
        if lop == op and f[name] > limit:
            return f"{op.name}.{name}={f[name]} exceeds {limit}"
    if op == Op.FC and f["cols"] == 0:
        return "FC.cols is 0"
    if op == Op.EW and f["func"] == EwFunc.ADD and f["shift0"] and f["shift1"]:
        return (f"EW.ADD shifts both operands (shift0={f['shift0']}, shift1={f['shift1']}): "
                "at most one may be non-zero")
    reads, writes = access_ranges(op, f)
    for r in reads:
        for w in writes:
            # softmax re-reads its source after it has started writing: no overlap at all
            elementwise = op == Op.EW or (op == Op.ACT and f["func"] != ActFunc.SOFTMAX)
            in_place = elementwise and r[0] == w[0]
            if _overlap(r, w) and not in_place:
                return f"{op.name} writes [{w[0]}, {w[1]}) over its source [{r[0]}, {r[1]}) at another offset"
    return None


# ---- error codes (STATUS.ERROR_CODE) ----------------------------------------------------------
class ErrorCode(enum.IntEnum):
    NONE = 0
    ILLEGAL_OPCODE = 1      # unknown opcode, a func the opcode does not have, a shift over its limit or
                            # not allowed (EW add with both operand shifts), an overlap of its own source
    AXI_ERROR = 2           # SLVERR/DECERR on a read or write response
    BUFFER_OVERFLOW = 3     # an access range runs past the end of its buffer
    BAD_PROGRAM = 4         # PROG_LEN is 0 or larger than the instruction memory
    LOOP_ERROR = 5          # nested LOOP, LOOP with jump < pc+4, ENDLOOP outside a loop or not at the
                            # LOOP's jump-1, or another instruction there
    PC_OVERRUN = 6          # execution ran past the last instruction without END
    MISALIGNED = 7          # LOAD/STORE external address not aligned to the AXI beat
    REGION_ERROR = 8        # an access range is outside the regions, crosses a region's end, is in a
                            # region its kernel cannot reach, or is wide and not row aligned in Z/E


# ---- register map (AXI4-Lite slave, 32-bit registers) ------------------------------------------
@dataclasses.dataclass(frozen=True)
class Register:
    name: str
    offset: int
    access: str  # "rw", "ro", "wo"
    doc: str
    bits: int = 32  # bits the processor keeps (bits bits-1:0); the others are ignored and read as 0

    @property
    def mask(self) -> int:
        """The bits a write keeps and a read returns."""
        return (1 << self.bits) - 1


REGISTERS = {r.name: r for r in (
    Register("CTRL", 0x00, "rw", "bit0 START (write 1: fetch the program if PROG_* changed, then run; "
                                 "reads 0), bit1 IRQ_ENABLE (irq = STATUS.DONE & IRQ_ENABLE)", bits=2),
    Register("STATUS", 0x04, "ro", "bit0 DONE, bit1 BUSY, bit2 ERROR, bits 15:8 ERROR_CODE; "
                                   "START clears DONE and ERROR"),
    Register("PROG_ADDR", 0x08, "rw", "external address of the program (16-byte aligned)"),
    Register("PROG_LEN", 0x0C, "rw", "bits 15:0 program length in instructions", bits=16),
    Register("SEQ_LEN", 0x10, "rw", "bits 15:0 trip count of LOOP with func=1 (time steps T, at most "
                                    "65,535)", bits=16),
    Register("BASE0", 0x14, "rw", "base address 0 for LOAD/STORE (compiler: the DDR image)"),
    Register("BASE1", 0x18, "rw", "base address 1 (compiler: input sequence)"),
    Register("BASE2", 0x1C, "rw", "base address 2 (compiler: output)"),
    Register("BASE3", 0x20, "rw", "base address 3 (compiler: state)"),
    Register("FLAGS", 0x24, "rw", "bits 2:0 condition flags for LOAD/STORE `cond`", bits=3),
    Register("CYCLES", 0x30, "ro", "clock cycles from START to DONE (program fetch included)"),
    Register("BUSY_FC", 0x34, "ro", "cycles the FC kernel was busy"),
    Register("BUSY_ACT", 0x38, "ro", "cycles the activation kernel was busy"),
    Register("BUSY_EW", 0x3C, "ro", "cycles the element-wise kernel was busy"),
    Register("BUSY_DMA", 0x40, "ro", "cycles the DMA kernel was busy (program fetch excluded)"),
    Register("INSTRS", 0x44, "ro", "instructions issued since START"),
    Register("PC", 0x48, "ro", "program counter of the instruction waiting to issue (or that failed)"),
    Register("SAT_COUNT", 0x4C, "ro", "results clipped by saturation since START"),
    Register("HW_CONFIG", 0x50, "ro", "bits 7:0 log2(lanes), 15:8 data bits, 23:16 log2(AXI bits), "
                                      "31:24 first byte of the config fingerprint"),
    Register("HW_ID", 0x54, "ro", "0x444C5031 ('DLP1')"),
    Register("HW_FINGERPRINT", 0x58, "ro", "first 32 bits of the config fingerprint (ProcessorConfig.fingerprint())"),
)}

# SEQ_LEN's width: a LOOP counts at most as far as its immediate `count` (the 16-bit length field)
# or SEQ_LEN, so the loop counters, the loop index t and the DMA's t * stride are 16 bits wide
SEQ_LEN_BITS = REGISTERS["SEQ_LEN"].bits
MAX_SEQ_LEN = REGISTERS["SEQ_LEN"].mask

HW_ID = 0x444C5031
CTRL_START = 1 << 0
CTRL_IRQ_ENABLE = 1 << 1
STATUS_DONE = 1 << 0
STATUS_BUSY = 1 << 1
STATUS_ERROR = 1 << 2
PERF_COUNTERS = ("CYCLES", "BUSY_FC", "BUSY_ACT", "BUSY_EW", "BUSY_DMA", "INSTRS", "SAT_COUNT")


def status_fields(status: int) -> tuple[bool, bool, bool, ErrorCode]:
    code = (status >> 8) & 0xFF
    try:
        code = ErrorCode(code)
    except ValueError:
        pass
    return bool(status & STATUS_DONE), bool(status & STATUS_BUSY), bool(status & STATUS_ERROR), code


def markdown() -> str:
    """docs/isa.md, generated from the definitions above."""
    out = ["# Instruction set and register map", "",
           "Generated by `python -m rtl.isa > docs/isa.md` from `rtl/isa.py`; a test checks it is current.",
           "", f"Every instruction is {INSTR_BITS} bits, stored little-endian in external memory "
           "(16 bytes each).", "", "## Fields", "", "| field | bits | width | meaning |",
           "|---|---|---|---|"]
    for f in sorted(FIELDS.values(), key=lambda f: (f.lsb, f.name)):
        out.append(f"| `{f.name}` | {f.msb}:{f.lsb} | {f.width} | {f.doc} |")
    out += ["", "## Opcodes", "", "| opcode | name | kernel | fields | semantics |", "|---|---|---|---|---|"]
    for op, (fields, kernel, doc) in FORMATS.items():
        kname = kernel.name if kernel is not None else "issue unit"
        out.append(f"| {int(op)} | `{op.name}` | {kname} | {', '.join(f'`{x}`' for x in fields) or '-'} | {doc} |")
    out += ["", "## Function codes", ""]
    for title, enum_cls in (("ACT func", ActFunc), ("EW func", EwFunc), ("LOAD func (target)", LoadTarget),
                            ("LOOP func (trip count)", LoopCount)):
        out.append(f"- {title}: " + ", ".join(f"{int(e)} = `{e.name}`" for e in enum_cls))
    out += ["", "## Error codes (STATUS bits 15:8)", "", "| code | name |", "|---|---|"]
    for e in ErrorCode:
        out.append(f"| {int(e)} | `{e.name}` |")
    out += ["", "## Registers (AXI4-Lite, 32 bits)", "", "| offset | name | access | bits kept | meaning |",
            "|---|---|---|---|---|"]
    for r in REGISTERS.values():
        out.append(f"| 0x{r.offset:02X} | `{r.name}` | {r.access} | {r.bits} | {r.doc} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
