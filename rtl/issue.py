"""Instruction fetch, decode and in-order issue with a scoreboard over activation-buffer ranges and
region ports.

Front end (every stage a register, so no path runs from the issue decision to the instruction
memory):

    fetch address -> imem (block RAM) -> fetched register -> [FIFO of 3] -> R -> decode -> I -> issue

The fetch presents one address per cycle while fewer than FETCH_LIMIT instructions are between
the fetch and the issue stage, follows loops by itself (a LOOP, seen in the fetched register,
tells it where the loop ends and how often it runs, so ENDLOOP costs no bubble), and the decode
stage computes everything the issue decision needs (ranges, region ports, legality, and the
conflicts with every instruction in flight and with the one being issued) into the I register.
"""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, always_seq, block, concat, enum, intbv

from . import isa
from .config import ProcessorConfig

Op = isa.Op
RANGE_BITS = 18       # range ends reach 65535 + 65535
FETCH_LIMIT = 4       # instructions presented to imem and not yet moved into the issue stage
FIFO_DEPTH = FETCH_LIMIT - 1
N_SLOTS = 7           # instructions in flight: FC, FC, ACT, ACT, EW, EW, DMA
SLOT_KERNEL = (0, 0, 1, 1, 2, 2, 3)
PREDECODE_LATENCY = 2  # imem_predecode delays the program's writes and the fetch's done


@block
def imem_predecode(cfg: ProcessorConfig, clk, rst, dma_iram, iram, fetch_done_in, fetch_err_in,
                   fetch_done_out, fetch_err_out):
    """Between the DMA and the instruction memory: for each instruction written, whether it is an
    FC whose weight rows run past the weight buffer (src1 + length*ceil(cols/P) > wbuf_words),
    computed with a registered multiplier while the program loads and stored as bit 128 beside
    the instruction, so the issue unit needs no multiplier.

    Ports: clk, rst; dma_iram (RamPort write side from the DMA: we, waddr, wdata of 128 bits);
    iram (RamPort write side to the instruction memory, 129-bit wdata); fetch_done_in,
    fetch_err_in (in, from the DMA); fetch_done_out, fetch_err_out (out, delayed with the writes).
    Latency: PREDECODE_LATENCY cycles for writes and the done pulse. Reset: synchronous, no write
    pending."""
    lb = cfg.lane_bits
    op_lo, op_hi = isa.FIELDS["opcode"].lsb, isa.FIELDS["opcode"].msb + 1
    len_lo, len_hi = isa.FIELDS["length"].lsb, isa.FIELDS["length"].msb + 1
    cols_lo, cols_hi = isa.FIELDS["cols"].lsb, isa.FIELDS["cols"].msb + 1
    src1_lo, src1_hi = isa.FIELDS["src1"].lsb, isa.FIELDS["src1"].msb + 1
    OP_FC = int(Op.FC)
    a_we, b_we, a_fc, b_fc = [Signal(bool(0)) for _ in range(4)]
    a_addr, b_addr = Signal(intbv(0)[len(iram.waddr):]), Signal(intbv(0)[len(iram.waddr):])
    a_word, b_word = Signal(intbv(0)[isa.INSTR_BITS:]), Signal(intbv(0)[isa.INSTR_BITS:])
    a_rows = Signal(intbv(0)[16:])
    a_kw = Signal(intbv(0)[16 - lb + 1:])
    a_src1, b_src1 = Signal(intbv(0)[16:]), Signal(intbv(0)[16:])
    b_prod = Signal(intbv(0)[16 + 16 - lb + 1:])
    d1, d2, e1, e2 = [Signal(bool(0)) for _ in range(4)]

    @always_seq(clk.posedge, reset=rst)
    def stages():
        a_we.next = dma_iram.we
        a_addr.next = dma_iram.waddr
        a_word.next = dma_iram.wdata
        a_fc.next = dma_iram.wdata[op_hi:op_lo] == OP_FC
        a_rows.next = dma_iram.wdata[len_hi:len_lo]
        a_kw.next = (dma_iram.wdata[cols_hi:cols_lo] + (cfg.lanes - 1)) >> lb
        a_src1.next = dma_iram.wdata[src1_hi:src1_lo]
        b_we.next = a_we
        b_addr.next = a_addr
        b_word.next = a_word
        b_fc.next = a_fc
        b_prod.next = a_rows * a_kw
        b_src1.next = a_src1
        d1.next = fetch_done_in
        d2.next = d1
        e1.next = fetch_err_in
        e2.next = e1

    @always_comb
    def write():
        iram.we.next = b_we
        iram.waddr.next = b_addr
        iram.wdata.next = concat(b_fc and b_src1 + b_prod > cfg.wbuf_words, b_word)
        fetch_done_out.next = d2
        fetch_err_out.next = e2

    return stages, write


def hazard_bits(cfg: ProcessorConfig) -> int:
    """Width of the scoreboard's range ends: element addresses up to the end of the activation
    buffer (an instruction with a range past it faults before its ranges are ever compared)."""
    return max(1, cfg.abuf_elements.bit_length())


@block
def hazard_slot(clk, rst, kernel: int, has_read1: bool, load, i_ranges, i_res, d_ranges, d_res, d_kernel, hit):
    """One instruction in flight: its hazard ranges and region ports, recorded when it issues, and
    whether the instruction being decoded conflicts with it.

    Ports: clk, rst (sync, clears the ranges); kernel (constant: the slot's kernel); has_read1
    (constant: the slot's kernel has a second read range, EW only); load (in: the issue stage's
    instruction goes into this slot now); i_ranges (in: r0lo, r0hi, r1lo, r1hi, wlo, whi of the
    instruction in the issue stage), i_res (in, its region ports); d_ranges, d_res, d_kernel (in:
    the decoded instruction's); hit (out, combinational: RAW, WAR or WAW against the recorded
    ranges, or a region port another kernel uses). Empty ranges are [0, 0).
    Latency: ranges recorded at the edge of `load`. Reset: synchronous, empty ranges."""
    hb = len(i_ranges[0])
    r0lo, r0hi, r1lo, r1hi, wlo, whi = [Signal(intbv(0)[hb:]) for _ in range(6)]
    res = Signal(intbv(0)[len(i_res):])
    i0lo, i0hi, i1lo, i1hi, iwlo, iwhi = i_ranges
    d0lo, d0hi, d1lo, d1hi, dwlo, dwhi = d_ranges

    @always_seq(clk.posedge, reset=rst)
    def record():
        if load:
            r0lo.next = i0lo
            r0hi.next = i0hi
            if has_read1:
                r1lo.next = i1lo
                r1hi.next = i1hi
            wlo.next = iwlo
            whi.next = iwhi
            res.next = i_res

    @always_comb
    def compare():
        # ranges are [lo, hi) with lo < hi when not empty, so "a.lo < b.hi and b.lo < a.hi" is an
        # overlap only if both are non-empty: an empty range [0, 0) never satisfies 0 < 0
        h = False
        if d0lo < whi and wlo < d0hi:
            h = True
        if d1lo < whi and wlo < d1hi:
            h = True
        if dwlo < r0hi and r0lo < dwhi:
            h = True
        if has_read1 and dwlo < r1hi and r1lo < dwhi:
            h = True
        if dwlo < whi and wlo < dwhi:
            h = True
        if (d_res & res) != 0 and d_kernel != kernel:
            h = True
        hit.next = h

    return record, compare


@block
def issue_unit(cfg: ProcessorConfig, clk, rst, run_start, prog_dirty, prog_addr, prog_len, seq_len, flags,
               fetch_start, fetch_addr, fetch_len, fetch_done, fetch_err, dma_err, dma_err_code, prog_fetched,
               imem_raddr, imem_rdata, dec, ctl_fc, ctl_act, ctl_ew, ctl_dma, loop_t,
               running, done, error, error_code, pc, executed):
    """Fetches the program, then issues instructions in order to the four kernels.

    Ports:
      clk, rst          clock; synchronous active-high reset (to IDLE)
      run_start         in, pulse (CTRL.START): fetch the program if prog_dirty, then run from pc 0
      prog_dirty        in, PROG_ADDR/PROG_LEN changed since the last successful fetch
      prog_addr/len     in; seq_len (SEQ_LEN register), flags (FLAGS register) in
      fetch_*           to/from the DMA (through imem_predecode): start pulse, address, length;
                        done pulse and its error flag
      dma_err, dma_err_code  in: with ctl_dma.done, the LOAD/STORE failed, and why (the code also
                        explains a failed fetch)
      prog_fetched      out, pulse: the program is in imem (clears prog_dirty)
      imem_raddr/rdata  instruction memory read port (latency 1); rdata bit 128 is the predecoded
                        "FC weights past the weight buffer"
      dec               out, Decoded fields of the instruction in the issue stage (registered)
      ctl_*             KernelCtl of FC, ACT, EW, DMA: start out (combinational), ready/busy/done in
      loop_t            out, loop index t
      running           out, between START and DONE
      done, error, error_code  out, sticky until the next START
      pc                out, pc of the instruction in the issue stage (of the failing one on error)
      executed          out, pulse: one instruction left the issue stage (for INSTRS)
    Timing: the first instruction can issue 4 cycles after the run begins; then one instruction
    per cycle when nothing stalls, loops included; an instruction waits for its kernel to be ready,
    for every running instruction it conflicts with (RAW/WAR/WAW on activation-buffer ranges,
    rounded to rows in the Z and E regions, or a region port another kernel uses) to be done
    (a done in the same cycle counts), and weight/bias loads wait for all kernels and hold issue
    until the cycle after their done. A LOOP with a trip count of 0 leaves a two-cycle gap in the
    fetch stream. sim/model.py's CycleModel reproduces this cycle for cycle.
    Latency: see Timing. Reset: synchronous, to IDLE with the pipeline empty.
    """
    # ISA constants as plain names: the converter cannot evaluate enum attributes
    ACTFUNC_SOFTMAX = int(isa.ActFunc.SOFTMAX)
    ERRORCODE_BAD_PROGRAM = int(isa.ErrorCode.BAD_PROGRAM)
    ERRORCODE_BUFFER_OVERFLOW = int(isa.ErrorCode.BUFFER_OVERFLOW)
    ERRORCODE_ILLEGAL_OPCODE = int(isa.ErrorCode.ILLEGAL_OPCODE)
    ERRORCODE_LOOP_ERROR = int(isa.ErrorCode.LOOP_ERROR)
    ERRORCODE_PC_OVERRUN = int(isa.ErrorCode.PC_OVERRUN)
    ERRORCODE_REGION_ERROR = int(isa.ErrorCode.REGION_ERROR)
    LOADTARGET_ABUF = int(isa.LoadTarget.ABUF)
    EWFUNC_ADD = int(isa.EwFunc.ADD)
    LOADTARGET_BBUF = int(isa.LoadTarget.BBUF)
    LOADTARGET_WBUF = int(isa.LoadTarget.WBUF)
    LOOPCOUNT_SEQ_LEN = int(isa.LoopCount.SEQ_LEN)
    MAX_ACTFUNC = int(max(isa.ActFunc))
    MAX_EWFUNC = int(max(isa.EwFunc))
    MAX_LOADTARGET = int(max(isa.LoadTarget))
    MAX_LOOPCOUNT = int(max(isa.LoopCount))
    MAX_OP = int(max(Op))
    OP_ACT, OP_END, OP_ENDLOOP, OP_EW, OP_FC = int(Op.ACT), int(Op.END), int(Op.ENDLOOP), int(Op.EW), int(Op.FC)
    OP_LOAD, OP_LOOP, OP_NOP, OP_STORE, OP_SYNC = int(Op.LOAD), int(Op.LOOP), int(Op.NOP), int(Op.STORE), int(Op.SYNC)
    K_FC, K_ACT, K_EW, K_DMA, K_NONE = 0, 1, 2, 3, 4
    limits = isa.field_limits(cfg)
    LIMIT_ACT_SHIFT0 = limits[(Op.ACT, "shift0")]
    LIMIT_ACT_SHIFT1 = limits[(Op.ACT, "shift1")]
    LIMIT_EW_SHIFT0 = limits[(Op.EW, "shift0")]
    LIMIT_EW_SHIFT1 = limits[(Op.EW, "shift1")]
    LIMIT_EW_SHIFT2 = limits[(Op.EW, "shift2")]
    LIMIT_FC_SHIFT0 = limits[(Op.FC, "shift0")]
    LIMIT_FC_SHIFT1 = limits[(Op.FC, "shift1")]
    p = cfg.lanes
    mask = p - 1
    ABUF_END = cfg.abuf_elements
    bounds = isa.region_bounds(cfg)
    V_HI = bounds[isa.Region.V][1]
    Z_LO, Z_HI = bounds[isa.Region.Z]
    E_LO, E_HI = bounds[isa.Region.E]
    R_V, R_Z, R_E, R_NONE = int(isa.Region.V), int(isa.Region.Z), int(isa.Region.E), 3
    REGION_HI = (V_HI, Z_HI, E_HI, 0)
    REGION_ALIGNED = (0, 1, 1, 0)
    ROWMASK = ((1 << RANGE_BITS) - 1) ^ mask  # clears the lane bits of an element address
    HB = hazard_bits(cfg)
    HMASK = (1 << HB) - 1

    # region port (isa.Resource bit) used by kernel port `k` in region `r`: RES_TABLE[4*k + r]; 0 where
    # the port cannot reach the region (and for the "no region" code 3)
    PORT_NAMES = ("fc.read", "fc.write", "act.read", "act.write", "ew.read_a", "ew.read_b", "ew.write",
                  "dma.read", "dma.write")
    P_FC_R, P_FC_W, P_ACT_R, P_ACT_W, P_EW_A, P_EW_B, P_EW_W, P_DMA_R, P_DMA_W, P_NONE = range(10)
    RES_TABLE = tuple((1 << int(isa.PORTS[name][r])) if r in isa.PORTS[name] else 0
                      for name in PORT_NAMES for r in (isa.Region.V, isa.Region.Z, isa.Region.E, None)) + (0,) * 4
    NRES = len(isa.Resource)

    def fpos(name):
        f = isa.FIELDS[name]
        return f.msb + 1, f.lsb

    opcode_hi, opcode_lo = fpos("opcode")
    func_hi, func_lo = fpos("func")
    dst_hi, dst_lo = fpos("dst")
    src0_hi, src0_lo = fpos("src0")
    src1_hi, src1_lo = fpos("src1")
    length_hi, length_lo = fpos("length")
    cols_hi, cols_lo = fpos("cols")
    bias_hi, bias_lo = fpos("bias")
    ddr_offset_hi, ddr_offset_lo = fpos("ddr_offset")
    shift0_hi, shift0_lo = fpos("shift0")
    shift1_hi, shift1_lo = fpos("shift1")
    shift2_hi, shift2_lo = fpos("shift2")
    stride_hi, stride_lo = fpos("stride")
    base_hi, base_lo = fpos("base")
    cond_hi, cond_lo = fpos("cond")
    split_hi, split_lo = fpos("split")
    W_OVER = isa.INSTR_BITS  # the predecoded bit
    IW = isa.INSTR_BITS + 1

    State = enum("IDLE", "FETCH", "RUN", "DRAIN")
    state = Signal(State.IDLE)

    # =============================== fetch ========================================================
    fa = Signal(intbv(0)[16:])           # next address to present
    pv = Signal(bool(0))                 # an address was presented in the previous cycle
    p_pc = Signal(intbv(0)[16:])         # ... which one
    f_valid = Signal(bool(0))            # f_word holds a fetched instruction (imem output, registered)
    f_word = Signal(intbv(0)[IW:])
    f_pc = Signal(intbv(0)[16:])
    fl_active = Signal(bool(0))          # the fetch is inside a loop it will wrap
    fl_start, fl_end = Signal(intbv(0)[16:]), Signal(intbv(0)[16:])
    fl_passes = Signal(intbv(0)[32:])    # passes left including the current one
    q_words = [Signal(intbv(0)[IW:]) for _ in range(FIFO_DEPTH)]
    q_pcs = [Signal(intbv(0)[16:]) for _ in range(FIFO_DEPTH)]
    q_wr, q_rd = Signal(intbv(0, min=0, max=FIFO_DEPTH)), Signal(intbv(0, min=0, max=FIFO_DEPTH))
    q_count = Signal(intbv(0, min=0, max=FIFO_DEPTH + 1))
    r_valid = Signal(bool(0))
    r_word = Signal(intbv(0)[IW:])
    r_pc = Signal(intbv(0)[16:])
    i_take = Signal(bool(0))             # the issue stage takes R this cycle
    fetch_on = Signal(bool(0))
    restart = Signal(bool(0))            # the run begins: empty the front end

    @always_comb
    def fetch_address():
        imem_raddr.next = fa

    @always_seq(clk.posedge, reset=rst)
    def fetch():
        trip = intbv(0)[32:]
        active = bool(0)
        wrap_start = intbv(0)[16:]
        wrap_end = intbv(0)[16:]
        passes = intbv(0)[32:]
        learn = bool(0)
        zero = bool(0)
        present = bool(0)
        if restart:
            fa.next = 0
            pv.next = 0
            f_valid.next = 0
            fl_active.next = 0
        elif fetch_on:
            # a LOOP in the fetched register: the loop's wrap_end and trip count, for the fetch to wrap
            learn = f_valid and f_word[opcode_hi:opcode_lo] == OP_LOOP
            if f_word[func_hi:func_lo] == LOOPCOUNT_SEQ_LEN:
                trip[:] = seq_len
            else:
                trip[:] = f_word[length_hi:length_lo]
            if learn:
                active = trip != 0
                wrap_start[:] = f_pc + 1
                wrap_end[:] = f_word[dst_hi:dst_lo] - 1
                passes[:] = trip
                zero = trip == 0
            else:
                active = bool(fl_active)
                wrap_start[:] = fl_start
                wrap_end[:] = fl_end
                passes[:] = fl_passes
            present = (r_valid + q_count + pv + f_valid) < FETCH_LIMIT and not zero
            fl_active.next = active
            fl_start.next = wrap_start
            fl_end.next = wrap_end
            fl_passes.next = passes
            if present:
                if active and fa == wrap_end:
                    if passes > 1:
                        fa.next = wrap_start
                        fl_passes.next = passes - 1
                    else:
                        fa.next = fa + 1
                        fl_active.next = 0
                else:
                    fa.next = fa + 1
            elif zero:
                fa.next = f_word[dst_hi:dst_lo]  # a loop of no iterations: continue at its jump
            pv.next = present
            p_pc.next = fa
            f_valid.next = pv and not zero   # the instruction after a zero-trip LOOP is dropped
            f_word.next = imem_rdata         # the memory's output straight into a register
            f_pc.next = p_pc

    @always_seq(clk.posedge, reset=rst)
    def queue():
        # R is the head; the FIFO holds what arrives while R is occupied
        do_push = bool(0)
        do_pop = bool(0)
        if restart:
            r_valid.next = 0
            q_count.next = 0
            q_wr.next = 0
            q_rd.next = 0
        elif fetch_on:
            if not r_valid or i_take:
                if q_count != 0:
                    r_valid.next = 1
                    r_word.next = q_words[q_rd]
                    r_pc.next = q_pcs[q_rd]
                    do_pop = True
                    do_push = bool(f_valid)
                elif f_valid:
                    r_valid.next = 1
                    r_word.next = f_word
                    r_pc.next = f_pc
                else:
                    r_valid.next = 0
            else:
                do_push = bool(f_valid)
            if do_push:
                q_words[q_wr].next = f_word
                q_pcs[q_wr].next = f_pc
                q_wr.next = 0 if q_wr == FIFO_DEPTH - 1 else q_wr + 1
            if do_pop:
                q_rd.next = 0 if q_rd == FIFO_DEPTH - 1 else q_rd + 1
            q_count.next = q_count + do_push - do_pop

    # =============================== decode (R -> I) ==============================================
    d_op = Signal(intbv(0)[4:])
    d_kernel = Signal(intbv(0)[3:])
    d_r0lo, d_r0hi, d_r1lo, d_r1hi, d_wlo, d_whi = [Signal(intbv(0)[HB:]) for _ in range(6)]
    d_res = Signal(intbv(0)[NRES:])
    d_reg0, d_reg1, d_regw = [Signal(intbv(0)[2:]) for _ in range(3)]
    d_illegal, d_overflow, d_region_err, d_skip, d_blocking, d_empty = [Signal(bool(0)) for _ in range(6)]
    d_softmax = Signal(bool(0))

    @always_comb
    def decode():
        op = intbv(0)[4:]
        func = intbv(0)[4:]
        n = intbv(0)[16:]
        rgn = intbv(0)[2:]
        a0lo = intbv(0)[RANGE_BITS:]
        a0hi = intbv(0)[RANGE_BITS:]
        a1lo = intbv(0)[RANGE_BITS:]
        a1hi = intbv(0)[RANGE_BITS:]
        awlo = intbv(0)[RANGE_BITS:]
        awhi = intbv(0)[RANGE_BITS:]
        port0 = intbv(0)[4:]
        port1 = intbv(0)[4:]
        portw = intbv(0)[4:]
        wide0 = bool(0)
        wide1 = bool(0)
        widew = bool(0)
        rhi = intbv(0)[RANGE_BITS:]
        aligned = intbv(0)[1:]
        rbit = intbv(0)[NRES:]
        res = intbv(0)[NRES:]
        bad = bool(0)
        err = bool(0)
        op[:] = r_word[opcode_hi:opcode_lo]
        func[:] = r_word[func_hi:func_lo]
        n[:] = r_word[length_hi:length_lo]
        d_op.next = op
        # the accesses: read 0 (src0), read 1 (src1), write (dst), with their kernel port and width
        port0[:] = P_NONE
        port1[:] = P_NONE
        portw[:] = P_NONE
        d_kernel.next = K_NONE
        if op == OP_FC:
            d_kernel.next = K_FC
            a0lo[:] = r_word[src0_hi:src0_lo]
            a0hi[:] = r_word[src0_hi:src0_lo] + r_word[cols_hi:cols_lo]
            awlo[:] = r_word[dst_hi:dst_lo]
            awhi[:] = r_word[dst_hi:dst_lo] + n
            port0[:] = P_FC_R
            portw[:] = P_FC_W
            wide0 = True
        elif op == OP_ACT:
            d_kernel.next = K_ACT
            a0lo[:] = r_word[src0_hi:src0_lo]
            a0hi[:] = r_word[src0_hi:src0_lo] + n
            awlo[:] = r_word[dst_hi:dst_lo]
            awhi[:] = r_word[dst_hi:dst_lo] + n
            port0[:] = P_ACT_R
            portw[:] = P_ACT_W
            wide0 = func != ACTFUNC_SOFTMAX
            widew = func != ACTFUNC_SOFTMAX
        elif op == OP_EW:
            d_kernel.next = K_EW
            a0lo[:] = r_word[src0_hi:src0_lo]
            a0hi[:] = r_word[src0_hi:src0_lo] + n
            a1lo[:] = r_word[src1_hi:src1_lo]
            a1hi[:] = r_word[src1_hi:src1_lo] + n
            awlo[:] = r_word[dst_hi:dst_lo]
            awhi[:] = r_word[dst_hi:dst_lo] + n
            port0[:] = P_EW_A
            port1[:] = P_EW_B
            portw[:] = P_EW_W
            wide0 = True
            wide1 = True
            widew = True
        elif op == OP_LOAD:
            d_kernel.next = K_DMA
            if func == LOADTARGET_ABUF:
                awlo[:] = r_word[dst_hi:dst_lo]
                awhi[:] = r_word[dst_hi:dst_lo] + n
                portw[:] = P_DMA_W
                widew = True
        elif op == OP_STORE:
            d_kernel.next = K_DMA
            a0lo[:] = r_word[src0_hi:src0_lo]
            a0hi[:] = r_word[src0_hi:src0_lo] + n
            port0[:] = P_DMA_R
            wide0 = True

        # legality: funcs, shifts, and no write over the instruction's own sources at another offset
        bad = False
        if op > MAX_OP:
            bad = True
        elif op == OP_ACT:
            bad = (func > MAX_ACTFUNC or r_word[shift0_hi:shift0_lo] > LIMIT_ACT_SHIFT0
                   or r_word[shift1_hi:shift1_lo] > LIMIT_ACT_SHIFT1)
        elif op == OP_EW:
            bad = (func > MAX_EWFUNC or r_word[shift0_hi:shift0_lo] > LIMIT_EW_SHIFT0
                   or r_word[shift1_hi:shift1_lo] > LIMIT_EW_SHIFT1 or r_word[shift2_hi:shift2_lo] > LIMIT_EW_SHIFT2
                   or (func == EWFUNC_ADD and r_word[shift0_hi:shift0_lo] != 0 and r_word[shift1_hi:shift1_lo] != 0))
        elif op == OP_FC:
            bad = (r_word[cols_hi:cols_lo] == 0 or r_word[shift0_hi:shift0_lo] > LIMIT_FC_SHIFT0
                   or r_word[shift1_hi:shift1_lo] > LIMIT_FC_SHIFT1)
        elif op == OP_LOAD:
            bad = func > MAX_LOADTARGET
        elif op == OP_LOOP:
            bad = func > MAX_LOOPCOUNT
        if op == OP_FC or (op == OP_ACT and func == ACTFUNC_SOFTMAX):
            # these re-read their source while writing: no overlap at all
            if a0lo < a0hi and awlo < awhi and a0lo < awhi and awlo < a0hi:
                bad = True
        elif op == OP_ACT or op == OP_EW:
            if a0lo < a0hi and awlo < awhi and a0lo < awhi and awlo < a0hi and a0lo != awlo:
                bad = True
            if a1lo < a1hi and awlo < awhi and a1lo < awhi and awlo < a1hi and a1lo != awlo:
                bad = True
        d_illegal.next = bad

        # bounds
        err = a0hi > ABUF_END or a1hi > ABUF_END or awhi > ABUF_END
        if op == OP_FC:
            err = err or r_word[W_OVER] or r_word[bias_hi:bias_lo] + n > cfg.bbuf_depth
        elif op == OP_LOAD and func == LOADTARGET_WBUF:
            err = err or r_word[dst_hi:dst_lo] + n > cfg.wbuf_words
        elif op == OP_LOAD and func == LOADTARGET_BBUF:
            err = err or r_word[dst_hi:dst_lo] + n > cfg.bbuf_depth
        d_overflow.next = err

        # regions: every non-empty range inside one region its port reaches, wide accesses row
        # aligned in Z and E; the region ports used; hazard ranges rounded out to rows in Z and E
        err = False
        res[:] = 0
        # read 0
        if a0lo < V_HI:
            rgn[:] = R_V
        elif a0lo >= Z_LO and a0lo < Z_HI:
            rgn[:] = R_Z
        elif a0lo >= E_LO and a0lo < E_HI:
            rgn[:] = R_E
        else:
            rgn[:] = R_NONE
        d_reg0.next = rgn
        rhi[:] = REGION_HI[rgn]
        aligned[:] = REGION_ALIGNED[rgn]
        rbit[:] = RES_TABLE[4 * port0 + rgn]
        if a0lo < a0hi:
            if rbit == 0 or a0hi > rhi or (wide0 and aligned == 1 and (a0lo & mask) != 0):
                err = True
            res[:] = res | rbit
            if aligned == 1:
                d_r0lo.next = a0lo & ROWMASK & HMASK
                d_r0hi.next = (a0hi + mask) & ROWMASK & HMASK
            else:
                d_r0lo.next = a0lo & HMASK
                d_r0hi.next = a0hi & HMASK
        else:
            d_r0lo.next = 0
            d_r0hi.next = 0
        # read 1
        if a1lo < V_HI:
            rgn[:] = R_V
        elif a1lo >= Z_LO and a1lo < Z_HI:
            rgn[:] = R_Z
        elif a1lo >= E_LO and a1lo < E_HI:
            rgn[:] = R_E
        else:
            rgn[:] = R_NONE
        d_reg1.next = rgn
        rhi[:] = REGION_HI[rgn]
        aligned[:] = REGION_ALIGNED[rgn]
        rbit[:] = RES_TABLE[4 * port1 + rgn]
        if a1lo < a1hi:
            if rbit == 0 or a1hi > rhi or (wide1 and aligned == 1 and (a1lo & mask) != 0):
                err = True
            res[:] = res | rbit
            if aligned == 1:
                d_r1lo.next = a1lo & ROWMASK & HMASK
                d_r1hi.next = (a1hi + mask) & ROWMASK & HMASK
            else:
                d_r1lo.next = a1lo & HMASK
                d_r1hi.next = a1hi & HMASK
        else:
            d_r1lo.next = 0
            d_r1hi.next = 0
        # write
        if awlo < V_HI:
            rgn[:] = R_V
        elif awlo >= Z_LO and awlo < Z_HI:
            rgn[:] = R_Z
        elif awlo >= E_LO and awlo < E_HI:
            rgn[:] = R_E
        else:
            rgn[:] = R_NONE
        d_regw.next = rgn
        rhi[:] = REGION_HI[rgn]
        aligned[:] = REGION_ALIGNED[rgn]
        rbit[:] = RES_TABLE[4 * portw + rgn]
        if awlo < awhi:
            if rbit == 0 or awhi > rhi or (widew and aligned == 1 and (awlo & mask) != 0):
                err = True
            res[:] = res | rbit
            if aligned == 1:
                d_wlo.next = awlo & ROWMASK & HMASK
                d_whi.next = (awhi + mask) & ROWMASK & HMASK
            else:
                d_wlo.next = awlo & HMASK
                d_whi.next = awhi & HMASK
        else:
            d_wlo.next = 0
            d_whi.next = 0
        d_region_err.next = err
        d_res.next = res

        d_skip.next = ((op == OP_LOAD or op == OP_STORE) and r_word[cond_hi:cond_lo] != 0
                       and ((flags >> (r_word[cond_hi:cond_lo] - 1)) & 1) == 0)
        d_blocking.next = op == OP_LOAD and func != LOADTARGET_ABUF
        d_empty.next = (op == OP_FC or op == OP_ACT or op == OP_EW) and n == 0
        d_softmax.next = op == OP_ACT and func == ACTFUNC_SOFTMAX


    # =============================== scoreboard ====================================================
    s_occ = Signal(intbv(0)[N_SLOTS:])
    fc_wr, fc_rd, act_wr, act_rd, ew_wr, ew_rd = [Signal(bool(0)) for _ in range(6)]
    live = Signal(intbv(0)[N_SLOTS:])      # occupied and not done in this cycle
    load = Signal(intbv(0)[N_SLOTS:])      # the issue stage's instruction goes into this slot now
    conf_next = Signal(intbv(0)[N_SLOTS:])

    # =============================== issue stage (I) ===============================================
    i_valid = Signal(bool(0))
    i_pc = Signal(intbv(0)[16:])
    i_kernel = Signal(intbv(0)[3:])
    i_r0lo, i_r0hi, i_r1lo, i_r1hi, i_wlo, i_whi = [Signal(intbv(0)[HB:]) for _ in range(6)]
    i_res = Signal(intbv(0)[NRES:])
    i_conf = Signal(intbv(0)[N_SLOTS:])
    i_illegal, i_overflow, i_region_err, i_skip, i_blocking, i_empty, i_softmax = [Signal(bool(0)) for _ in range(7)]

    @always_comb
    def liveness():
        occ = intbv(0)[N_SLOTS:]
        occ[:] = s_occ
        if ctl_fc.done:
            occ[int(fc_rd)] = 0
        if ctl_act.done:
            occ[2 + int(act_rd)] = 0
        if ctl_ew.done:
            occ[4 + int(ew_rd)] = 0
        if ctl_dma.done:
            occ[6] = 0
        live.next = occ

    i_ranges = (i_r0lo, i_r0hi, i_r1lo, i_r1hi, i_wlo, i_whi)
    d_ranges = (d_r0lo, d_r0hi, d_r1lo, d_r1hi, d_wlo, d_whi)
    slot_hits = [Signal(bool(0)) for _ in range(N_SLOTS)]
    slot_blocks = [hazard_slot(clk, rst, SLOT_KERNEL[k], SLOT_KERNEL[k] == K_EW, load(k), i_ranges, i_res,
                               d_ranges, d_res, d_kernel, slot_hits[k]) for k in range(N_SLOTS)]
    hit_i = Signal(bool(0))
    slot_hit = ConcatSignal(*reversed(slot_hits))

    @always_comb
    def conflict_with_issue_stage():
        # the decoded instruction against the one in the issue stage, which may go into a slot now
        h = False
        if d_r0lo < i_whi and i_wlo < d_r0hi:
            h = True
        if d_r1lo < i_whi and i_wlo < d_r1hi:
            h = True
        if d_wlo < i_r0hi and i_r0lo < d_whi:
            h = True
        if d_wlo < i_r1hi and i_r1lo < d_whi:
            h = True
        if d_wlo < i_whi and i_wlo < d_whi:
            h = True
        if (d_res & i_res) != 0 and d_kernel != i_kernel:
            h = True
        hit_i.next = h

    @always_comb
    def conflicts():
        # per slot: against the instruction now going into it, or against the one it holds
        if hit_i:
            conf_next.next = load | (slot_hit & ~load)
        else:
            conf_next.next = slot_hit & ~load

    # decision outputs
    advance, fault, finish = [Signal(bool(0)) for _ in range(3)]
    fault_code = Signal(intbv(0)[8:])
    loop_enter, loop_next, loop_exit = [Signal(bool(0)) for _ in range(3)]
    in_loop = Signal(bool(0))
    loop_end = Signal(intbv(0)[16:])
    loop_count = Signal(intbv(0)[32:])
    trip = Signal(intbv(0)[32:])
    drain = Signal(bool(0))   # a weight/bias load is running: issue nothing until all are idle
    dma_pc = Signal(intbv(0)[16:])
    op = dec.opcode

    @always_comb
    def trip_count():
        if dec.func == LOOPCOUNT_SEQ_LEN:
            trip.next = seq_len
        else:
            trip.next = dec.length

    @always_comb
    def decide():
        go_fc = False
        go_act = False
        go_ew = False
        go_dma = False
        adv = False
        flt = False
        code = intbv(0)[8:]
        fin = False
        enter = False
        again = False
        leave = False
        hazard = (i_conf & live) != 0
        idle = live == 0
        at_end = in_loop and i_pc == loop_end
        code[:] = 0
        if state == State.RUN and i_valid:
            if i_pc >= prog_len:
                flt = True
                code[:] = ERRORCODE_PC_OVERRUN
            elif i_illegal:
                flt = True
                code[:] = ERRORCODE_ILLEGAL_OPCODE
            elif i_overflow:
                flt = True
                code[:] = ERRORCODE_BUFFER_OVERFLOW
            elif i_region_err:
                flt = True
                code[:] = ERRORCODE_REGION_ERROR
            elif op == OP_ENDLOOP:
                if not at_end:
                    flt = True
                    code[:] = ERRORCODE_LOOP_ERROR
                else:
                    adv = True
                    if loop_t + 1 < loop_count:
                        again = True
                    else:
                        leave = True
            elif at_end:
                flt = True  # only an ENDLOOP may end a loop body
                code[:] = ERRORCODE_LOOP_ERROR
            elif op == OP_LOOP:
                if in_loop or dec.dst < i_pc + 3:
                    flt = True
                    code[:] = ERRORCODE_LOOP_ERROR
                else:
                    adv = True
                    enter = trip != 0
            elif op == OP_NOP:
                adv = True
            elif op == OP_END:
                if idle:
                    fin = True
            elif op == OP_SYNC:
                if idle:
                    adv = True
            elif i_skip or i_empty:
                adv = True
            elif not drain and not hazard:
                if i_kernel == K_FC:
                    if ctl_fc.ready:
                        go_fc = True
                        adv = True
                elif i_kernel == K_ACT:
                    if i_softmax:
                        if (live & 0b0001100) == 0:
                            go_act = True
                            adv = True
                    elif ctl_act.ready:
                        go_act = True
                        adv = True
                elif i_kernel == K_EW:
                    if ctl_ew.ready:
                        go_ew = True
                        adv = True
                elif i_blocking:
                    if idle:
                        go_dma = True
                        adv = True
                elif not live[6]:
                    go_dma = True
                    adv = True
        ctl_fc.start.next = go_fc
        ctl_act.start.next = go_act
        ctl_ew.start.next = go_ew
        ctl_dma.start.next = go_dma
        advance.next = adv
        fault.next = flt
        fault_code.next = code
        finish.next = fin
        loop_enter.next = enter
        loop_next.next = again
        loop_exit.next = leave
        i_take.next = state == State.RUN and (not i_valid or adv)
        ld = intbv(0)[N_SLOTS:]
        ld[:] = 0
        if go_fc:
            ld[int(fc_wr)] = 1
        if go_act:
            ld[2 + int(act_wr)] = 1
        if go_ew:
            ld[4 + int(ew_wr)] = 1
        if go_dma:
            ld[6] = 1
        load.next = ld

    @always_seq(clk.posedge, reset=rst)
    def issue_register():
        if restart:
            i_valid.next = 0
        elif i_take:
            i_valid.next = r_valid
            i_pc.next = r_pc
            i_kernel.next = d_kernel
            i_r0lo.next = d_r0lo
            i_r0hi.next = d_r0hi
            i_r1lo.next = d_r1lo
            i_r1hi.next = d_r1hi
            i_wlo.next = d_wlo
            i_whi.next = d_whi
            i_res.next = d_res
            i_conf.next = conf_next
            i_illegal.next = d_illegal
            i_overflow.next = d_overflow
            i_region_err.next = d_region_err
            i_skip.next = d_skip
            i_blocking.next = d_blocking
            i_empty.next = d_empty
            i_softmax.next = d_softmax
            dec.opcode.next = d_op
            dec.func.next = r_word[func_hi:func_lo]
            dec.dst.next = r_word[dst_hi:dst_lo]
            dec.src0.next = r_word[src0_hi:src0_lo]
            dec.src1.next = r_word[src1_hi:src1_lo]
            dec.length.next = r_word[length_hi:length_lo]
            dec.cols.next = r_word[cols_hi:cols_lo]
            dec.bias.next = r_word[bias_hi:bias_lo]
            dec.ddr_offset.next = r_word[ddr_offset_hi:ddr_offset_lo]
            dec.shift0.next = r_word[shift0_hi:shift0_lo]
            dec.shift1.next = r_word[shift1_hi:shift1_lo]
            dec.shift2.next = r_word[shift2_hi:shift2_lo]
            dec.stride.next = r_word[stride_hi:stride_lo]
            dec.base.next = r_word[base_hi:base_lo]
            dec.cond.next = r_word[cond_hi:cond_lo]
            dec.split.next = r_word[split_hi:split_lo]
            dec.src0_region.next = d_reg0
            dec.src1_region.next = d_reg1
            dec.dst_region.next = d_regw

    @always_seq(clk.posedge, reset=rst)
    def slots():
        occ = intbv(0)[N_SLOTS:]
        occ[:] = live | load
        if restart:
            occ[:] = 0
        s_occ.next = occ
        # ping-pong slots per streaming kernel: starts fill them alternately, dones empty them in order
        if ctl_fc.start:
            fc_wr.next = not fc_wr
        if ctl_fc.done:
            fc_rd.next = not fc_rd
        if ctl_act.start:
            act_wr.next = not act_wr
        if ctl_act.done:
            act_rd.next = not act_rd
        if ctl_ew.start:
            ew_wr.next = not ew_wr
        if ctl_ew.done:
            ew_rd.next = not ew_rd

    # =============================== run control =================================================
    @always_comb
    def front_end():
        fetch_on.next = state == State.RUN
        restart.next = state == State.IDLE or state == State.FETCH

    @always_seq(clk.posedge, reset=rst)
    def control():
        fetch_start.next = 0
        prog_fetched.next = 0
        executed.next = advance or finish
        if state == State.IDLE:
            if run_start:
                running.next = 1
                done.next = 0
                error.next = 0
                error_code.next = 0
                pc.next = 0
                in_loop.next = 0
                loop_t.next = 0
                drain.next = 0
                if prog_len == 0 or prog_len > cfg.imem_depth:
                    error.next = 1
                    error_code.next = ERRORCODE_BAD_PROGRAM
                    state.next = State.DRAIN
                elif prog_dirty:
                    fetch_start.next = 1
                    fetch_addr.next = prog_addr
                    fetch_len.next = prog_len
                    state.next = State.FETCH
                else:
                    state.next = State.RUN
        elif state == State.FETCH:
            if fetch_done:
                if fetch_err:
                    error.next = 1
                    error_code.next = dma_err_code
                    state.next = State.DRAIN
                else:
                    prog_fetched.next = 1
                    state.next = State.RUN
        elif state == State.RUN:
            if i_valid:
                pc.next = i_pc
            if ctl_dma.start:
                dma_pc.next = i_pc
            if ctl_dma.done and dma_err:
                error.next = 1
                error_code.next = dma_err_code
                pc.next = dma_pc
                state.next = State.DRAIN
            elif fault:
                error.next = 1
                error_code.next = fault_code
                pc.next = i_pc
                state.next = State.DRAIN
            elif finish:
                running.next = 0
                done.next = 1
                pc.next = i_pc
                state.next = State.IDLE
            if loop_enter:
                in_loop.next = 1
                loop_end.next = dec.dst - 1
                loop_count.next = trip
                loop_t.next = 0
            elif loop_next:
                loop_t.next = loop_t + 1
            elif loop_exit:
                in_loop.next = 0
                loop_t.next = 0
            if ctl_dma.start and i_blocking:
                drain.next = 1
            elif live == 0:
                drain.next = 0
        else:  # DRAIN after an error: let running kernels finish, then report
            if live == 0:
                running.next = 0
                done.next = 1
                state.next = State.IDLE

    return (fetch_address, fetch, queue, decode, liveness, slot_blocks, conflict_with_issue_stage, conflicts,
            trip_count, decide, issue_register, slots, front_end, control)
