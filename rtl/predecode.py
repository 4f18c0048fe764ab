"""Instruction predecoding: everything the issue stage needs that can be computed from an
instruction word alone is computed while the program loads and stored beside the word in the
instruction memory, so the issue unit's one-cycle decision reads it from a register.

Per instruction (the `layout`, bits above the 128 instruction bits):

    kernel        0 FC, 1 ACT, 2 EW, 3 DMA (LOAD/STORE), 4 none (control)
    illegal       isa.check_legal (unknown func, shift over its limit, both EW add shifts, a write
                  over its own source at another offset, FC with cols = 0)
    overflow      isa.check_bounds (activation-buffer ranges, FC weight rows and biases, weight and
                  bias LOADs past their buffers)
    region_err    isa.check_access (a range outside the regions, past its region's end, in a region
                  its kernel port cannot reach, or wide and not row aligned in Z or E)
    blocking      a LOAD into the weight or bias buffer (waits for all kernels, holds issue)
    empty         FC, ACT or EW of length 0 (leaves the issue stage without a kernel)
    softmax       ACT func 4 (needs the ACT kernel to itself)
    loop_bad      a LOOP whose jump leaves too short a body (jump < pc + 4)
    loop_before_end   a LOOP's jump - 2 (the pc before its ENDLOOP), 16 bits: the fetch knows the
                  end is next by one comparator (rtl/issue.py)
    loop_short    a LOOP whose body is the shortest legal one (jump = pc + 4)
    pred          the instruction conflicts (rtl.hazards.range_conflict) with the one before it in
                  program order (0 for the first). Instructions arrive at the issue unit in
                  program order except after an ENDLOOP (a wrap) and after a LOOP of no passes (a
                  jump): both have no ranges and no region ports, like the LOOP and the ENDLOOP
                  before a wrap's or a jump's target in program order, so this is the conflict
                  with the previous arrival, which the issue stage needs (rtl/issue.py); computed
                  here, the issue unit compares nothing as instructions arrive
    count_zero    a LOOP with an immediate count of 0 (the fetch skips it without a comparator)
    count_many    the count field is more than 1 (read for a LOOP with an immediate count)
    loop_seq      a LOOP counted by the SEQ_LEN register
    one_word      an FC whose rows are one weight word each (1 <= cols <= lanes)
    one_row       a length of 1 (FC: one output row)
                  (the FC kernel's `ready` for its next start is a register computed from these:
                  from the 16-bit fields, an adder and two comparators, it was the critical path
                  of ce5ca32's placement at two seeds)
    one_vec       a length of at most one word (ACT, EW: length <= lanes): the vector
                  sequencer's "free after this start", from which ACT's and EW's `ready`
                  registers are computed (as a comparator of the decoded length it was the
                  critical path of db9fab4's hazard change at seed 2, 6.96 ns to EW `ready`)
    loop_end      the instruction sits at the end of the loop of the nearest LOOP before it (its
                  jump - 1): while that loop runs, only an ENDLOOP may sit there. Programs load in
                  address order, and inside a running loop no other LOOP can precede the pc (a
                  nested LOOP faults), so this equals "pc == the running loop's jump - 1"
    reg0, reg1, regw   isa.Region of src0, src1, dst (the kernels' read and write ports use them)
    res           isa.Resource bits: the region ports the instruction uses
    r0lo .. whi   hazard ranges [lo, hi) of read 0, read 1 and the write in scoreboard coordinates
                  (hazard_coordinates): elements in region V, rows in regions Z and E; lo and hi
                  fields hazard_bits(cfg) wide; empty ranges are [0, 0)
"""
from __future__ import annotations

import dataclasses

from myhdl import Signal, always, always_comb, always_seq, block, concat, intbv, modbv

from . import isa
from .config import ProcessorConfig
from .hazards import range_conflict

Op = isa.Op
K_FC, K_ACT, K_EW, K_DMA, K_NONE = 0, 1, 2, 3, 4
R_NONE = 3
RANGE_BITS = 18  # range ends before the bounds check: 65535 + 65535
#: Cycles by which imem_predecode delays the program's writes (and the fetch's done pulse).
PREDECODE_LATENCY = 4


def hazard_coordinates(cfg: ProcessorConfig) -> tuple[int, int]:
    """The scoreboard's coordinates of the activation buffer, as (V_end, K): element e of region V
    is point e (V_end = its elements), row r of regions Z and E (accessed in whole rows as far as
    hazards go) is point r + K, K = V_end - Z's first row. One point per element of V and per row
    of Z and E, in address order, so two ranges overlap exactly when their points do, and the
    comparators are as wide as the points need, not as the element addresses: the small config's
    13-bit element addresses become 11-bit points (carry cells: a comparator of n bits is
    floor((n+1)/2) CCU2C, and the scoreboard has 80 comparators)."""
    bounds = isa.region_bounds(cfg)
    v_end = bounds[isa.Region.V][1]
    return v_end, v_end - (bounds[isa.Region.Z][0] >> cfg.lane_bits)


def hazard_bits(cfg: ProcessorConfig) -> tuple[int, int]:
    """Widths of the scoreboard's range ends (lo, hi) in hazard_coordinates: up to the last row of
    region E (an instruction with a range past its region faults before its ranges are ever
    compared). hi can be one bit wider than lo (the end of E is a power of two): the comparator
    lo < hi is then hi's top bit or an lo-wide comparison."""
    _, k = hazard_coordinates(cfg)
    points = (isa.region_bounds(cfg)[isa.Region.E][1] >> cfg.lane_bits) + k
    return max(1, (points - 1).bit_length()), max(1, points.bit_length())


@dataclasses.dataclass(frozen=True)
class Layout:
    """Bit positions of the predecoded fields in an instruction-memory word."""
    fields: dict  # name -> (lsb, width)
    width: int    # whole word: instruction + predecoded bits

    def hi_lo(self, name: str) -> tuple[int, int]:
        lsb, w = self.fields[name]
        return lsb + w, lsb


def layout(cfg: ProcessorConfig) -> Layout:
    lob, hib = hazard_bits(cfg)
    spec = [("kernel", 3), ("illegal", 1), ("overflow", 1), ("region_err", 1), ("blocking", 1), ("empty", 1),
            ("softmax", 1), ("loop_bad", 1), ("loop_end", 1), ("count_zero", 1), ("count_many", 1),
            ("loop_seq", 1), ("loop_short", 1), ("pred", 1), ("one_word", 1), ("one_row", 1), ("one_vec", 1),
            ("loop_before_end", 16), ("reg0", 2), ("reg1", 2),
            ("regw", 2), ("res", len(isa.Resource)),
            ("r0lo", lob), ("r0hi", hib), ("r1lo", lob), ("r1hi", hib), ("wlo", lob), ("whi", hib)]
    fields, at = {}, isa.INSTR_BITS
    for name, w in spec:
        fields[name] = (at, w)
        at += w
    return Layout(fields, at)


def kernel_flags(cfg: ProcessorConfig, op: Op, fields: dict[str, int]) -> dict[str, bool]:
    """The predecoded facts a kernel reads beside the instruction's fields (rtl.interfaces.Decoded:
    fc_one_word, one_row, one_vec), as imem_predecode computes them."""
    cols, n = fields.get("cols", 0), fields.get("length", 0)
    return {"fc_one_word": op == Op.FC and 1 <= cols <= cfg.lanes, "one_row": n == 1, "one_vec": n <= cfg.lanes}


@block
def imem_predecode(cfg: ProcessorConfig, clk, rst, dma_iram, iram, fetch_done_in, fetch_err_in,
                   fetch_done_out, fetch_err_out):
    """Between the DMA and the instruction memory: predecodes each instruction written (see the
    module docstring) in four registered stages and writes it with its predecoded bits.

    Ports: clk, rst; dma_iram (RamPort write side from the DMA: we, waddr, wdata of 128 bits);
    iram (RamPort write side to the instruction memory, layout(cfg).width bits); fetch_done_in,
    fetch_err_in (in, from the DMA); fetch_done_out, fetch_err_out (out, delayed with the writes).
    Latency: PREDECODE_LATENCY cycles for writes and the done pulse (one instruction per cycle).
    Reset: synchronous, no write pending (the weight-word product, read only beside a valid
    stage, has none)."""
    p = cfg.lanes
    lb = cfg.lane_bits
    mask = p - 1
    lay = layout(cfg)
    assert len(iram.wdata) == lay.width and len(dma_iram.wdata) == isa.INSTR_BITS
    lob, hib = hazard_bits(cfg)
    LMASK, HMASK = (1 << lob) - 1, (1 << hib) - 1
    _, row_k = hazard_coordinates(cfg)
    ROW_K = row_k % (1 << lob)                          # a row's point: row + K (mod the width)
    ROW_K_HI = (mask + (row_k << lb)) % (1 << (hib + lb))  # an end's point: (end + P-1) >> lb, + K
    ABUF_END = cfg.abuf_elements
    bounds = isa.region_bounds(cfg)
    V_HI = bounds[isa.Region.V][1]
    Z_LO, Z_HI = bounds[isa.Region.Z]
    E_LO, E_HI = bounds[isa.Region.E]
    R_V, R_Z, R_E = int(isa.Region.V), int(isa.Region.Z), int(isa.Region.E)
    REGION_HI = (V_HI, Z_HI, E_HI, 0)
    REGION_ALIGNED = (0, 1, 1, 0)
    # Region port (isa.Resource bit) of a kernel port in region r, 0 where the port cannot reach the
    # region (and for "no region"): one table per operand slot, indexed by 4 * (the slot's own port
    # number) + r, so that no table holds an entry for a port its slot never has (slot 1 is only
    # EW's read_b). Read only for a non-empty range.
    SLOT_PORTS = (("fc.read", "act.read", "ew.read_a", "dma.read"), ("ew.read_b",),
                  ("fc.write", "act.write", "ew.write", "dma.write"))
    RES0, RES1, RESW = (tuple((1 << int(isa.PORTS[name][r])) if r in isa.PORTS[name] else 0
                              for name in names for r in (isa.Region.V, isa.Region.Z, isa.Region.E, None))
                        for names in SLOT_PORTS)
    P_FC_R, P_ACT_R, P_EW_A, P_DMA_R = range(4)
    P_FC_W, P_ACT_W, P_EW_W, P_DMA_W = range(4)
    NRES = len(isa.Resource)
    limits = isa.field_limits(cfg)
    LIMIT_ACT_SHIFT0 = limits[(Op.ACT, "shift0")]
    LIMIT_ACT_SHIFT1 = limits[(Op.ACT, "shift1")]
    LIMIT_EW_SHIFT0 = limits[(Op.EW, "shift0")]
    LIMIT_EW_SHIFT1 = limits[(Op.EW, "shift1")]
    LIMIT_EW_SHIFT2 = limits[(Op.EW, "shift2")]
    LIMIT_FC_SHIFT0 = limits[(Op.FC, "shift0")]
    LIMIT_FC_SHIFT1 = limits[(Op.FC, "shift1")]
    ACTFUNC_SOFTMAX = int(isa.ActFunc.SOFTMAX)
    EWFUNC_ADD = int(isa.EwFunc.ADD)
    LOADTARGET_ABUF, LOADTARGET_WBUF, LOADTARGET_BBUF = (int(isa.LoadTarget.ABUF), int(isa.LoadTarget.WBUF),
                                                         int(isa.LoadTarget.BBUF))
    MAX_ACTFUNC, MAX_EWFUNC = int(max(isa.ActFunc)), int(max(isa.EwFunc))
    LOOPCOUNT_SEQ_LEN = int(isa.LoopCount.SEQ_LEN)
    MAX_LOADTARGET, MAX_LOOPCOUNT, MAX_OP = int(max(isa.LoadTarget)), int(max(isa.LoopCount)), int(max(Op))
    OP_ACT, OP_EW, OP_FC, OP_LOAD, OP_LOOP, OP_STORE = (int(Op.ACT), int(Op.EW), int(Op.FC), int(Op.LOAD),
                                                        int(Op.LOOP), int(Op.STORE))

    opcode_hi, opcode_lo = isa.FIELDS["opcode"].bounds
    func_hi, func_lo = isa.FIELDS["func"].bounds
    dst_hi, dst_lo = isa.FIELDS["dst"].bounds
    src0_hi, src0_lo = isa.FIELDS["src0"].bounds
    src1_hi, src1_lo = isa.FIELDS["src1"].bounds
    length_hi, length_lo = isa.FIELDS["length"].bounds
    cols_hi, cols_lo = isa.FIELDS["cols"].bounds
    bias_hi, bias_lo = isa.FIELDS["bias"].bounds
    shift0_hi, shift0_lo = isa.FIELDS["shift0"].bounds
    shift1_hi, shift1_lo = isa.FIELDS["shift1"].bounds
    shift2_hi, shift2_lo = isa.FIELDS["shift2"].bounds
    aw = len(iram.waddr)

    # ---- stage A: fields, range ends, ports, legality of fields --------------------------------
    a_we = Signal(bool(0))
    a_addr = Signal(intbv(0)[aw:])
    a_word = Signal(intbv(0)[isa.INSTR_BITS:])
    a_r0lo, a_r0hi, a_r1lo, a_r1hi, a_wlo, a_whi = [Signal(intbv(0)[RANGE_BITS:]) for _ in range(6)]
    a_p0, a_pw = Signal(intbv(0)[2:]), Signal(intbv(0)[2:])  # the slot's port (SLOT_PORTS)
    a_wide0, a_wide1, a_widew = [Signal(bool(0)) for _ in range(3)]
    a_has0, a_has1, a_hasw = [Signal(bool(0)) for _ in range(3)]  # the range is not empty: its length is not 0
    a_kernel = Signal(intbv(0)[3:])
    a_bad, a_softmax, a_blocking, a_empty, a_fc = [Signal(bool(0)) for _ in range(5)]
    a_bias_end = Signal(intbv(0)[RANGE_BITS:])   # FC: bias + rows; LOAD wbuf/bbuf: dst + length
    a_ldw, a_ldb = Signal(bool(0)), Signal(bool(0))
    a_rows = Signal(intbv(0)[16:])
    a_kw = Signal(intbv(0)[16 - lb + 1:])
    a_src1 = Signal(intbv(0)[16:])
    a_loop_bad, a_loop_end = Signal(bool(0)), Signal(bool(0))
    a_count_zero, a_count_many, a_loop_seq = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    a_loop_short = Signal(bool(0))
    a_loop_before_end = Signal(modbv(0)[16:])
    loop_jump = Signal(intbv(0)[16:])  # jump of the nearest LOOP written before this instruction

    @always_seq(clk.posedge, reset=rst)
    def stage_a():
        op = intbv(0)[4:]
        func = intbv(0)[4:]
        n = intbv(0)[16:]
        word = intbv(0)[isa.INSTR_BITS:]
        bad = bool(0)
        a_we.next = dma_iram.we
        if dma_iram.we:  # idle otherwise (simulation speed; the hardware does not care)
            word[:] = dma_iram.wdata
            op[:] = word[opcode_hi:opcode_lo]
            func[:] = word[func_hi:func_lo]
            n[:] = word[length_hi:length_lo]
            a_addr.next = dma_iram.waddr
            a_word.next = word
            a_r0lo.next = 0
            a_r0hi.next = 0
            a_r1lo.next = 0
            a_r1hi.next = 0
            a_wlo.next = 0
            a_whi.next = 0
            a_has0.next = 0
            a_has1.next = 0
            a_hasw.next = 0
            a_p0.next = 0
            a_pw.next = 0
            a_wide0.next = 0
            a_wide1.next = 0
            a_widew.next = 0
            a_kernel.next = K_NONE
            if op == OP_FC:
                a_kernel.next = K_FC
                a_r0lo.next = word[src0_hi:src0_lo]
                a_r0hi.next = word[src0_hi:src0_lo] + word[cols_hi:cols_lo]
                a_wlo.next = word[dst_hi:dst_lo]
                a_whi.next = word[dst_hi:dst_lo] + n
                a_has0.next = word[cols_hi:cols_lo] != 0
                a_hasw.next = n != 0
                a_p0.next = P_FC_R
                a_pw.next = P_FC_W
                a_wide0.next = 1
            elif op == OP_ACT:
                a_kernel.next = K_ACT
                a_r0lo.next = word[src0_hi:src0_lo]
                a_r0hi.next = word[src0_hi:src0_lo] + n
                a_wlo.next = word[dst_hi:dst_lo]
                a_whi.next = word[dst_hi:dst_lo] + n
                a_has0.next = n != 0
                a_hasw.next = n != 0
                a_p0.next = P_ACT_R
                a_pw.next = P_ACT_W
                a_wide0.next = func != ACTFUNC_SOFTMAX
                a_widew.next = func != ACTFUNC_SOFTMAX
            elif op == OP_EW:
                a_kernel.next = K_EW
                a_r0lo.next = word[src0_hi:src0_lo]
                a_r0hi.next = word[src0_hi:src0_lo] + n
                a_r1lo.next = word[src1_hi:src1_lo]
                a_r1hi.next = word[src1_hi:src1_lo] + n
                a_wlo.next = word[dst_hi:dst_lo]
                a_whi.next = word[dst_hi:dst_lo] + n
                a_has0.next = n != 0
                a_has1.next = n != 0
                a_hasw.next = n != 0
                a_p0.next = P_EW_A
                a_pw.next = P_EW_W
                a_wide0.next = 1
                a_wide1.next = 1
                a_widew.next = 1
            elif op == OP_LOAD:
                a_kernel.next = K_DMA
                if func == LOADTARGET_ABUF:
                    a_wlo.next = word[dst_hi:dst_lo]
                    a_whi.next = word[dst_hi:dst_lo] + n
                    a_hasw.next = n != 0
                    a_pw.next = P_DMA_W
                    a_widew.next = 1
            elif op == OP_STORE:
                a_kernel.next = K_DMA
                a_r0lo.next = word[src0_hi:src0_lo]
                a_r0hi.next = word[src0_hi:src0_lo] + n
                a_has0.next = n != 0
                a_p0.next = P_DMA_R
                a_wide0.next = 1
            # the fields' legality (the overlap of the instruction's own ranges is checked in stage B)
            bad = False
            if op > MAX_OP:
                bad = True
            elif op == OP_ACT:
                bad = (func > MAX_ACTFUNC or word[shift0_hi:shift0_lo] > LIMIT_ACT_SHIFT0
                       or word[shift1_hi:shift1_lo] > LIMIT_ACT_SHIFT1)
            elif op == OP_EW:
                bad = (func > MAX_EWFUNC or word[shift0_hi:shift0_lo] > LIMIT_EW_SHIFT0
                       or word[shift1_hi:shift1_lo] > LIMIT_EW_SHIFT1 or word[shift2_hi:shift2_lo] > LIMIT_EW_SHIFT2
                       or (func == EWFUNC_ADD and word[shift0_hi:shift0_lo] != 0 and word[shift1_hi:shift1_lo] != 0))
            elif op == OP_FC:
                bad = (word[cols_hi:cols_lo] == 0 or word[shift0_hi:shift0_lo] > LIMIT_FC_SHIFT0
                       or word[shift1_hi:shift1_lo] > LIMIT_FC_SHIFT1)
            elif op == OP_LOAD:
                bad = func > MAX_LOADTARGET
            elif op == OP_LOOP:
                bad = func > MAX_LOOPCOUNT
            a_bad.next = bad
            a_softmax.next = op == OP_ACT and func == ACTFUNC_SOFTMAX
            a_blocking.next = op == OP_LOAD and func != LOADTARGET_ABUF
            a_empty.next = (op == OP_FC or op == OP_ACT or op == OP_EW) and n == 0
            a_fc.next = op == OP_FC
            a_ldw.next = op == OP_LOAD and func == LOADTARGET_WBUF
            a_ldb.next = op == OP_LOAD and func == LOADTARGET_BBUF
            if op == OP_FC:
                a_bias_end.next = word[bias_hi:bias_lo] + n
            else:
                a_bias_end.next = word[dst_hi:dst_lo] + n
            a_rows.next = n
            a_kw.next = (word[cols_hi:cols_lo] + (p - 1)) >> lb
            a_src1.next = word[src1_hi:src1_lo]
            # the loop rules that depend on the pc (the write address): a first instruction
            # starts a program, so no LOOP precedes it
            a_loop_bad.next = op == OP_LOOP and word[dst_hi:dst_lo] < dma_iram.waddr + 4
            a_loop_short.next = word[dst_hi:dst_lo] == dma_iram.waddr + 4
            a_loop_before_end.next = word[dst_hi:dst_lo] - 2
            a_count_zero.next = op == OP_LOOP and func != LOOPCOUNT_SEQ_LEN and n == 0
            a_loop_seq.next = op == OP_LOOP and func == LOOPCOUNT_SEQ_LEN
            a_count_many.next = (n >> 1) != 0  # n > 1 without a carry chain
            a_loop_end.next = dma_iram.waddr != 0 and dma_iram.waddr + 1 == loop_jump
            if op == OP_LOOP:
                loop_jump.next = word[dst_hi:dst_lo]
            elif dma_iram.waddr == 0:
                loop_jump.next = 0

    # ---- stage B: regions, own-range overlaps, bounds; the weight rows' product -------------------
    b_we = Signal(bool(0))
    b_addr = Signal(intbv(0)[aw:])
    b_word = Signal(intbv(0)[isa.INSTR_BITS:])
    b_r0lo, b_r0hi, b_r1lo, b_r1hi, b_wlo, b_whi = [Signal(intbv(0)[RANGE_BITS:]) for _ in range(6)]
    b_reg0, b_reg1, b_regw = [Signal(intbv(0)[2:]) for _ in range(3)]
    b_err0, b_err1, b_errw = [Signal(bool(0)) for _ in range(3)]
    b_has0, b_has1, b_hasw = [Signal(bool(0)) for _ in range(3)]  # the range is not empty (its length is not 0)
    b_res = Signal(intbv(0)[NRES:])
    b_kernel = Signal(intbv(0)[3:])
    b_bad, b_oob, b_softmax, b_blocking, b_empty, b_fc = [Signal(bool(0)) for _ in range(6)]
    b_prod = Signal(intbv(0)[16 + 16 - lb + 1:])
    # FC weight rows end past the weight buffer: src1 + rows*kw > wbuf_words, tested in stage C as
    # rows*kw > wbuf_words - src1 (that difference formed here), so the product from its
    # multiplier block meets one comparator, not an adder and a comparator in series (8.11 ns,
    # the critical path of 6eb99db's placement)
    b_src1_past = Signal(bool(0))   # src1 > wbuf_words
    b_room = Signal(intbv(0, min=0, max=cfg.wbuf_words + 1))  # wbuf_words - src1 when not past
    b_loop_bad, b_loop_end = Signal(bool(0)), Signal(bool(0))
    b_count_zero, b_count_many, b_loop_seq = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    b_loop_short = Signal(bool(0))
    b_one_word, b_one_row, b_one_vec = Signal(bool(0)), Signal(bool(0)), Signal(bool(0))
    b_loop_before_end = Signal(intbv(0)[16:])

    @always(clk.posedge)
    def weight_words():
        # no reset: counts only beside b_we, which has one; so the product register goes into
        # the MULT18X18D (rtl/synth.py: 13 of the 36 endpoints late at 150 MHz had its reset)
        b_prod.next = a_rows * a_kw

    @always_seq(clk.posedge, reset=rst)
    def stage_b():
        rgn = intbv(0)[2:]
        rbit = intbv(0)[NRES:]
        rhi = intbv(0)[RANGE_BITS:]
        aligned = intbv(0)[1:]
        res = intbv(0)[NRES:]
        err = bool(0)
        clobber = bool(0)
        b_we.next = a_we
        b_addr.next = a_addr
        b_word.next = a_word
        b_r0lo.next = a_r0lo
        b_r0hi.next = a_r0hi
        b_r1lo.next = a_r1lo
        b_r1hi.next = a_r1hi
        b_wlo.next = a_wlo
        b_whi.next = a_whi
        b_kernel.next = a_kernel
        b_softmax.next = a_softmax
        b_blocking.next = a_blocking
        b_empty.next = a_empty
        b_fc.next = a_fc
        b_src1_past.next = a_src1 > cfg.wbuf_words
        b_room.next = (cfg.wbuf_words - a_src1) if a_src1 <= cfg.wbuf_words else 0
        b_loop_bad.next = a_loop_bad
        b_loop_end.next = a_loop_end
        b_count_zero.next = a_count_zero
        b_count_many.next = a_count_many
        b_loop_seq.next = a_loop_seq
        b_loop_short.next = a_loop_short
        b_one_word.next = a_fc and a_kw == 1
        b_one_row.next = a_rows == 1
        b_one_vec.next = a_rows <= p
        b_loop_before_end.next = a_loop_before_end
        res[:] = 0
        # read 0
        if a_r0lo < V_HI:
            rgn[:] = R_V
        elif a_r0lo >= Z_LO and a_r0lo < Z_HI:
            rgn[:] = R_Z
        elif a_r0lo >= E_LO and a_r0lo < E_HI:
            rgn[:] = R_E
        else:
            rgn[:] = R_NONE
        b_reg0.next = rgn
        rhi[:] = REGION_HI[rgn]
        aligned[:] = REGION_ALIGNED[rgn]
        err = False
        b_has0.next = a_has0
        if a_has0:
            rbit[:] = RES0[4 * a_p0 + rgn]
            err = rbit == 0 or a_r0hi > rhi or (a_wide0 and aligned == 1 and (a_r0lo & mask) != 0)
            res[:] = res | rbit
        b_err0.next = err
        # read 1
        if a_r1lo < V_HI:
            rgn[:] = R_V
        elif a_r1lo >= Z_LO and a_r1lo < Z_HI:
            rgn[:] = R_Z
        elif a_r1lo >= E_LO and a_r1lo < E_HI:
            rgn[:] = R_E
        else:
            rgn[:] = R_NONE
        b_reg1.next = rgn
        rhi[:] = REGION_HI[rgn]
        aligned[:] = REGION_ALIGNED[rgn]
        err = False
        b_has1.next = a_has1
        if a_has1:
            rbit[:] = RES1[rgn]
            err = rbit == 0 or a_r1hi > rhi or (a_wide1 and aligned == 1 and (a_r1lo & mask) != 0)
            res[:] = res | rbit
        b_err1.next = err
        # write
        if a_wlo < V_HI:
            rgn[:] = R_V
        elif a_wlo >= Z_LO and a_wlo < Z_HI:
            rgn[:] = R_Z
        elif a_wlo >= E_LO and a_wlo < E_HI:
            rgn[:] = R_E
        else:
            rgn[:] = R_NONE
        b_regw.next = rgn
        rhi[:] = REGION_HI[rgn]
        aligned[:] = REGION_ALIGNED[rgn]
        err = False
        b_hasw.next = a_hasw
        if a_hasw:
            rbit[:] = RESW[4 * a_pw + rgn]
            err = rbit == 0 or a_whi > rhi or (a_widew and aligned == 1 and (a_wlo & mask) != 0)
            res[:] = res | rbit
        b_errw.next = err
        b_res.next = res
        # a write over the instruction's own source: FC and softmax re-read their source while
        # writing (no overlap at all), the element-wise ops may only work exactly in place
        clobber = False
        if a_has0 and a_hasw and a_r0lo < a_whi and a_wlo < a_r0hi:
            if a_kernel == K_FC or a_softmax or a_r0lo != a_wlo:
                clobber = True
        if a_has1 and a_hasw and a_r1lo < a_whi and a_wlo < a_r1hi and a_r1lo != a_wlo:
            clobber = True
        b_bad.next = a_bad or clobber
        b_oob.next = (a_r0hi > ABUF_END or a_r1hi > ABUF_END or a_whi > ABUF_END
                      or (a_fc and a_bias_end > cfg.bbuf_depth) or (a_ldw and a_bias_end > cfg.wbuf_words)
                      or (a_ldb and a_bias_end > cfg.bbuf_depth))

    # ---- stage C: predecoded word --------------------------------------------------------------
    c_we = Signal(bool(0))
    c_addr = Signal(intbv(0)[aw:])
    c_word = Signal(intbv(0)[lay.width:])
    d1, d2, d3, d4, e1, e2, e3, e4 = [Signal(bool(0)) for _ in range(8)]
    f = lay.fields
    (o_kernel, o_illegal, o_overflow, o_region_err, o_blocking, o_empty, o_softmax, o_loop_bad, o_loop_end,
     o_count_zero, o_count_many, o_loop_seq, o_loop_short, o_pred, o_one_word, o_one_row, o_one_vec,
     o_loop_before_end,
     o_reg0, o_reg1, o_regw, o_res, o_r0lo, o_r0hi, o_r1lo, o_r1hi, o_wlo, o_whi) = (f[k][0] for k in (
        "kernel", "illegal", "overflow", "region_err", "blocking", "empty", "softmax", "loop_bad", "loop_end",
        "count_zero", "count_many", "loop_seq", "loop_short", "pred", "one_word", "one_row", "one_vec",
        "loop_before_end",
        "reg0", "reg1", "regw", "res",
        "r0lo", "r0hi", "r1lo", "r1hi", "wlo", "whi"))
    IB = isa.INSTR_BITS
    NR = NRES

    @always_seq(clk.posedge, reset=rst)
    def stage_c():
        word = intbv(0)[lay.width:]
        lo_pt = modbv(0)[lob:]
        hi_pt = modbv(0)[hib + lb:]
        word[:] = 0
        word[IB:] = b_word
        word[o_kernel + 3:o_kernel] = b_kernel
        word[o_illegal] = b_bad
        word[o_overflow] = b_oob or (b_fc and (b_src1_past or b_prod > b_room))
        word[o_region_err] = b_err0 or b_err1 or b_errw
        word[o_blocking] = b_blocking
        word[o_empty] = b_empty
        word[o_softmax] = b_softmax
        word[o_loop_bad] = b_loop_bad
        word[o_loop_end] = b_loop_end
        word[o_count_zero] = b_count_zero
        word[o_count_many] = b_count_many
        word[o_loop_seq] = b_loop_seq
        word[o_loop_short] = b_loop_short
        word[o_one_word] = b_one_word
        word[o_one_row] = b_one_row
        word[o_one_vec] = b_one_vec
        word[o_loop_before_end + 16:o_loop_before_end] = b_loop_before_end
        word[o_reg0 + 2:o_reg0] = b_reg0
        word[o_reg1 + 2:o_reg1] = b_reg1
        word[o_regw + 2:o_regw] = b_regw
        word[o_res + NR:o_res] = b_res
        # hazard ranges in points (hazard_coordinates): a row of Z or E is row + K, rounded out to
        # whole rows; empty ranges [0, 0) (emptiness is a length of 0, from stage A)
        if b_has0:
            if b_reg0 == R_Z or b_reg0 == R_E:
                lo_pt[:] = (b_r0lo >> lb) + ROW_K
                hi_pt[:] = b_r0hi + ROW_K_HI
                word[o_r0lo + lob:o_r0lo] = lo_pt
                word[o_r0hi + hib:o_r0hi] = hi_pt[hib + lb:lb]
            else:
                word[o_r0lo + lob:o_r0lo] = b_r0lo & LMASK
                word[o_r0hi + hib:o_r0hi] = b_r0hi & HMASK
        if b_has1:
            if b_reg1 == R_Z or b_reg1 == R_E:
                lo_pt[:] = (b_r1lo >> lb) + ROW_K
                hi_pt[:] = b_r1hi + ROW_K_HI
                word[o_r1lo + lob:o_r1lo] = lo_pt
                word[o_r1hi + hib:o_r1hi] = hi_pt[hib + lb:lb]
            else:
                word[o_r1lo + lob:o_r1lo] = b_r1lo & LMASK
                word[o_r1hi + hib:o_r1hi] = b_r1hi & HMASK
        if b_hasw:
            if b_regw == R_Z or b_regw == R_E:
                lo_pt[:] = (b_wlo >> lb) + ROW_K
                hi_pt[:] = b_whi + ROW_K_HI
                word[o_wlo + lob:o_wlo] = lo_pt
                word[o_whi + hib:o_whi] = hi_pt[hib + lb:lb]
            else:
                word[o_wlo + lob:o_wlo] = b_wlo & LMASK
                word[o_whi + hib:o_whi] = b_whi & HMASK
        c_we.next = b_we
        c_addr.next = b_addr
        c_word.next = word
        d1.next = fetch_done_in
        d2.next = d1
        d3.next = d2
        d4.next = d3
        e1.next = fetch_err_in
        e2.next = e1
        e3.next = e2
        e4.next = e3

    # ---- stage D: the conflict with the previous instruction -----------------------------------
    # Programs load in address order, so the word written before this one (p_word) is its
    # predecessor, except for the first (address 0). Only p_word's hazard fields are read:
    # synthesis keeps just their flip-flops.
    HZ_NAMES = ("r0lo", "r0hi", "r1lo", "r1hi", "wlo", "whi")

    def hazard_fields(word):
        """(ranges, res, kernel) of a predecoded word: slices of it."""
        return tuple(word(*lay.hi_lo(k)) for k in HZ_NAMES), word(*lay.hi_lo("res")), word(*lay.hi_lo("kernel"))

    p_word = Signal(intbv(0)[lay.width:])
    c_hit = Signal(bool(0))
    conflict = range_conflict(*hazard_fields(c_word), *hazard_fields(p_word), True, c_hit)
    d_we = Signal(bool(0))
    d_addr = Signal(intbv(0)[aw:])
    d_word = Signal(intbv(0)[lay.width:])

    @always_seq(clk.posedge, reset=rst)
    def stage_d():
        word = intbv(0)[lay.width:]
        word[:] = c_word
        word[o_pred] = c_hit and c_addr != 0
        d_we.next = c_we
        d_addr.next = c_addr
        d_word.next = word
        if c_we:
            p_word.next = c_word

    @always_comb
    def write():
        iram.we.next = d_we
        iram.waddr.next = d_addr
        iram.wdata.next = d_word
        fetch_done_out.next = d4
        fetch_err_out.next = e4

    return stage_a, weight_words, stage_b, stage_c, conflict, stage_d, write
