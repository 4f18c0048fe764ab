"""Instruction fetch, decode and in-order issue with a scoreboard over activation-buffer ranges."""
from __future__ import annotations

from myhdl import Signal, always_comb, always_seq, block, enum, intbv

from . import isa
from .config import ProcessorConfig

Op = isa.Op
RANGE_BITS = 18  # range ends reach 65535 + 65535


@block
def range_slot(clk, rst, issue, done, r0lo, r0hi, r1lo, r1hi, wlo, whi, active, conflict):
    """What one kernel's running instruction reads and writes, and whether the instruction waiting
    to issue conflicts with it.

    Ports: clk, rst (sync, empties the slot); issue (in, the kernel starts the waiting instruction:
    its ranges are recorded); done (in, the kernel finished: the slot empties, and already counts
    as empty in this cycle); r0lo..whi (in, the waiting instruction's read ranges 0 and 1 and its
    write range, [lo, hi), empty when lo == hi); active (out, a recorded instruction is running);
    conflict (out, combinational: RAW, WAR or WAW against the recorded ranges).
    Latency: ranges recorded at the edge of `issue`; `conflict` is combinational. Reset: synchronous, empties the slot."""
    busy = Signal(bool(0))
    k0lo, k0hi, k1lo, k1hi, kwlo, kwhi = [Signal(intbv(0)[RANGE_BITS:]) for _ in range(6)]

    @always_seq(clk.posedge, reset=rst)
    def record():
        if issue:
            busy.next = 1
            k0lo.next = r0lo
            k0hi.next = r0hi
            k1lo.next = r1lo
            k1hi.next = r1hi
            kwlo.next = wlo
            kwhi.next = whi
        elif done:
            busy.next = 0

    @always_comb
    def check():
        live = busy and not done
        active.next = live
        raw = ((r0lo < r0hi and kwlo < kwhi and r0lo < kwhi and kwlo < r0hi)
               or (r1lo < r1hi and kwlo < kwhi and r1lo < kwhi and kwlo < r1hi))
        war = ((wlo < whi and k0lo < k0hi and wlo < k0hi and k0lo < whi)
               or (wlo < whi and k1lo < k1hi and wlo < k1hi and k1lo < whi))
        waw = wlo < whi and kwlo < kwhi and wlo < kwhi and kwlo < whi
        conflict.next = live and (raw or war or waw)

    return record, check


@block
def issue_unit(cfg: ProcessorConfig, clk, rst, run_start, prog_dirty, prog_addr, prog_len, seq_len, flags,
               fetch_start, fetch_addr, fetch_len, fetch_done, dma_err, dma_err_code, prog_fetched,
               imem_raddr, imem_rdata, dec, ctl_fc, ctl_act, ctl_ew, ctl_dma, loop_t,
               running, done, error, error_code, pc, executed):
    """Fetches the program, then issues instructions in order to the four kernels.

    Ports:
      clk, rst          clock; synchronous active-high reset (to IDLE)
      run_start         in, pulse (CTRL.START): fetch if prog_dirty, then run from pc 0
      prog_dirty        in, PROG_ADDR/PROG_LEN changed since the last successful fetch
      prog_addr/len     in; seq_len (SEQ_LEN register), flags (FLAGS register) in
      fetch_*           to/from the DMA: start pulse, address, length; done pulse
      dma_err, dma_err_code  in, with a DMA done/fetch_done: the transfer failed, and why
      prog_fetched      out, pulse: the program is in imem (clears prog_dirty)
      imem_raddr/rdata  instruction memory read port (latency 1)
      dec               out, Decoded fields of the instruction at pc
      ctl_*             KernelCtl of FC, ACT, EW, DMA: start out (combinational), busy/done in
      loop_t            out, loop index t
      running           out, between START and DONE
      done, error, error_code  out, sticky until the next START
      pc                out, pc of the instruction waiting to issue (of the failing one on error)
      executed          out, pulse: one instruction left the issue stage (for INSTRS)
    Timing: one instruction per cycle when nothing stalls, including taken loop jumps; a kernel's
    done frees its slot in the same cycle.
    """
    # ISA constants as plain names: the converter cannot evaluate enum attributes
    ACTFUNC_SOFTMAX = int(isa.ActFunc.SOFTMAX)
    ERRORCODE_BAD_PROGRAM = int(isa.ErrorCode.BAD_PROGRAM)
    ERRORCODE_BUFFER_OVERFLOW = int(isa.ErrorCode.BUFFER_OVERFLOW)
    ERRORCODE_ILLEGAL_OPCODE = int(isa.ErrorCode.ILLEGAL_OPCODE)
    ERRORCODE_LOOP_ERROR = int(isa.ErrorCode.LOOP_ERROR)
    ERRORCODE_PC_OVERRUN = int(isa.ErrorCode.PC_OVERRUN)
    LOADTARGET_ABUF = int(isa.LoadTarget.ABUF)
    LOADTARGET_BBUF = int(isa.LoadTarget.BBUF)
    LOADTARGET_WBUF = int(isa.LoadTarget.WBUF)
    LOOPCOUNT_SEQ_LEN = int(isa.LoopCount.SEQ_LEN)
    MAX_ACTFUNC = int(max(isa.ActFunc))
    MAX_EWFUNC = int(max(isa.EwFunc))
    MAX_LOADTARGET = int(max(isa.LoadTarget))
    MAX_LOOPCOUNT = int(max(isa.LoopCount))
    MAX_OP = int(max(Op))
    OP_ACT = int(Op.ACT)
    OP_END = int(Op.END)
    OP_ENDLOOP = int(Op.ENDLOOP)
    OP_EW = int(Op.EW)
    OP_FC = int(Op.FC)
    OP_LOAD = int(Op.LOAD)
    OP_LOOP = int(Op.LOOP)
    OP_NOP = int(Op.NOP)
    OP_STORE = int(Op.STORE)
    OP_SYNC = int(Op.SYNC)
    State = enum("IDLE", "FETCH", "RUN", "DRAIN")
    state = Signal(State.IDLE)
    iv = Signal(bool(0))  # imem_rdata holds the instruction at pc
    in_loop = Signal(bool(0))
    loop_pc = Signal(intbv(0)[16:])
    loop_count = Signal(intbv(0)[32:])
    drain = Signal(bool(0))  # a weight/bias load is running: issue nothing until all are idle
    dma_pc = Signal(intbv(0)[16:])
    limits = isa.field_limits(cfg)
    LIMIT_ACT_SHIFT0 = limits[(Op.ACT, "shift0")]
    LIMIT_ACT_SHIFT1 = limits[(Op.ACT, "shift1")]
    LIMIT_EW_SHIFT0 = limits[(Op.EW, "shift0")]
    LIMIT_EW_SHIFT1 = limits[(Op.EW, "shift1")]
    LIMIT_EW_SHIFT2 = limits[(Op.EW, "shift2")]
    LIMIT_FC_SHIFT0 = limits[(Op.FC, "shift0")]
    LIMIT_FC_SHIFT1 = limits[(Op.FC, "shift1")]
    lb = cfg.lane_bits

    # ---- decode ------------------------------------------------------------------------------
    # bit positions as plain constants: the converter needs names, not expressions on dicts
    opcode_hi, opcode_lo = isa.FIELDS["opcode"].msb + 1, isa.FIELDS["opcode"].lsb
    func_hi, func_lo = isa.FIELDS["func"].msb + 1, isa.FIELDS["func"].lsb
    dst_hi, dst_lo = isa.FIELDS["dst"].msb + 1, isa.FIELDS["dst"].lsb
    src0_hi, src0_lo = isa.FIELDS["src0"].msb + 1, isa.FIELDS["src0"].lsb
    src1_hi, src1_lo = isa.FIELDS["src1"].msb + 1, isa.FIELDS["src1"].lsb
    length_hi, length_lo = isa.FIELDS["length"].msb + 1, isa.FIELDS["length"].lsb
    cols_hi, cols_lo = isa.FIELDS["cols"].msb + 1, isa.FIELDS["cols"].lsb
    bias_hi, bias_lo = isa.FIELDS["bias"].msb + 1, isa.FIELDS["bias"].lsb
    ddr_offset_hi, ddr_offset_lo = isa.FIELDS["ddr_offset"].msb + 1, isa.FIELDS["ddr_offset"].lsb
    shift0_hi, shift0_lo = isa.FIELDS["shift0"].msb + 1, isa.FIELDS["shift0"].lsb
    shift1_hi, shift1_lo = isa.FIELDS["shift1"].msb + 1, isa.FIELDS["shift1"].lsb
    shift2_hi, shift2_lo = isa.FIELDS["shift2"].msb + 1, isa.FIELDS["shift2"].lsb
    stride_hi, stride_lo = isa.FIELDS["stride"].msb + 1, isa.FIELDS["stride"].lsb
    base_hi, base_lo = isa.FIELDS["base"].msb + 1, isa.FIELDS["base"].lsb
    cond_hi, cond_lo = isa.FIELDS["cond"].msb + 1, isa.FIELDS["cond"].lsb
    split_hi, split_lo = isa.FIELDS["split"].msb + 1, isa.FIELDS["split"].lsb
    op = dec.opcode

    @always_comb
    def decode():
        dec.opcode.next = imem_rdata[opcode_hi:opcode_lo]
        dec.func.next = imem_rdata[func_hi:func_lo]
        dec.dst.next = imem_rdata[dst_hi:dst_lo]
        dec.src0.next = imem_rdata[src0_hi:src0_lo]
        dec.src1.next = imem_rdata[src1_hi:src1_lo]
        dec.length.next = imem_rdata[length_hi:length_lo]
        dec.cols.next = imem_rdata[cols_hi:cols_lo]
        dec.bias.next = imem_rdata[bias_hi:bias_lo]
        dec.ddr_offset.next = imem_rdata[ddr_offset_hi:ddr_offset_lo]
        dec.shift0.next = imem_rdata[shift0_hi:shift0_lo]
        dec.shift1.next = imem_rdata[shift1_hi:shift1_lo]
        dec.shift2.next = imem_rdata[shift2_hi:shift2_lo]
        dec.stride.next = imem_rdata[stride_hi:stride_lo]
        dec.base.next = imem_rdata[base_hi:base_lo]
        dec.cond.next = imem_rdata[cond_hi:cond_lo]
        dec.split.next = imem_rdata[split_hi:split_lo]

    # ---- ranges, legality, bounds -------------------------------------------------------------
    r0lo, r0hi, r1lo, r1hi, wlo, whi = [Signal(intbv(0)[RANGE_BITS:]) for _ in range(6)]
    wend = Signal(intbv(0)[34:])
    illegal = Signal(bool(0))
    overflow = Signal(bool(0))
    blocking = Signal(bool(0))
    skip = Signal(bool(0))

    @always_comb
    def ranges():
        r0lo.next = 0
        r0hi.next = 0
        r1lo.next = 0
        r1hi.next = 0
        wlo.next = 0
        whi.next = 0
        if op == OP_FC:
            r0lo.next = dec.src0
            r0hi.next = dec.src0 + dec.cols
            wlo.next = dec.dst
            whi.next = dec.dst + dec.length
        elif op == OP_ACT:
            r0lo.next = dec.src0
            r0hi.next = dec.src0 + dec.length
            wlo.next = dec.dst
            whi.next = dec.dst + dec.length
        elif op == OP_EW:
            r0lo.next = dec.src0
            r0hi.next = dec.src0 + dec.length
            r1lo.next = dec.src1
            r1hi.next = dec.src1 + dec.length
            wlo.next = dec.dst
            whi.next = dec.dst + dec.length
        elif op == OP_LOAD and dec.func == LOADTARGET_ABUF:
            wlo.next = dec.dst
            whi.next = dec.dst + dec.length
        elif op == OP_STORE:
            r0lo.next = dec.src0
            r0hi.next = dec.src0 + dec.length

    @always_comb
    def weight_end():
        wend.next = dec.src1 + dec.length * ((dec.cols + (cfg.lanes - 1)) >> lb)

    @always_comb
    def legality():
        bad = False
        if op > MAX_OP:
            bad = True
        elif op == OP_ACT:
            bad = (dec.func > MAX_ACTFUNC or dec.shift0 > LIMIT_ACT_SHIFT0
                   or dec.shift1 > LIMIT_ACT_SHIFT1)
        elif op == OP_EW:
            bad = (dec.func > MAX_EWFUNC or dec.shift0 > LIMIT_EW_SHIFT0
                   or dec.shift1 > LIMIT_EW_SHIFT1 or dec.shift2 > LIMIT_EW_SHIFT2)
        elif op == OP_FC:
            bad = dec.cols == 0 or dec.shift0 > LIMIT_FC_SHIFT0 or dec.shift1 > LIMIT_FC_SHIFT1
        elif op == OP_LOAD:
            bad = dec.func > MAX_LOADTARGET
        elif op == OP_LOOP:
            bad = dec.func > MAX_LOOPCOUNT
        # writing over its own source at another offset would depend on pipeline timing
        ov0 = r0lo < r0hi and wlo < whi and r0lo < whi and wlo < r0hi
        ov1 = r1lo < r1hi and wlo < whi and r1lo < whi and wlo < r1hi
        clobber = False
        if op == OP_FC or (op == OP_ACT and dec.func == ACTFUNC_SOFTMAX):
            clobber = ov0  # these re-read their source while writing: no overlap at all
        elif op == OP_ACT or op == OP_EW:
            clobber = (ov0 and r0lo != wlo) or (ov1 and r1lo != wlo)
        illegal.next = bad or clobber

    @always_comb
    def bounds():
        over = r0hi > cfg.abuf_elements or r1hi > cfg.abuf_elements or whi > cfg.abuf_elements
        if op == OP_FC:
            over = over or wend > cfg.wbuf_words or dec.bias + dec.length > cfg.bbuf_depth
        elif op == OP_LOAD and dec.func == LOADTARGET_WBUF:
            over = over or dec.dst + dec.length > cfg.wbuf_words
        elif op == OP_LOAD and dec.func == LOADTARGET_BBUF:
            over = over or dec.dst + dec.length > cfg.bbuf_depth
        overflow.next = over

    @always_comb
    def dma_kind():
        blocking.next = op == OP_LOAD and dec.func != LOADTARGET_ABUF
        skip.next = ((op == OP_LOAD or op == OP_STORE) and dec.cond != 0
                     and ((flags >> (dec.cond - 1)) & 1) == 0)

    # ---- scoreboard ---------------------------------------------------------------------------
    act = [Signal(bool(0)) for _ in range(4)]
    conf = [Signal(bool(0)) for _ in range(4)]
    ctls = (ctl_fc, ctl_act, ctl_ew, ctl_dma)
    slots = [range_slot(clk, rst, c.start, c.done, r0lo, r0hi, r1lo, r1hi, wlo, whi, act[k], conf[k])
             for k, c in enumerate(ctls)]
    a_fc, a_act, a_ew, a_dma = act
    c_fc, c_act, c_ew, c_dma = conf
    all_idle = Signal(bool(0))
    hazard = Signal(bool(0))

    @always_comb
    def scoreboard():
        all_idle.next = not (a_fc or a_act or a_ew or a_dma)
        hazard.next = c_fc or c_act or c_ew or c_dma

    # ---- issue decision (combinational) -------------------------------------------------------
    next_pc = Signal(intbv(0)[16:])
    advance = Signal(bool(0))
    fault = Signal(bool(0))
    fault_code = Signal(intbv(0)[8:])
    finish = Signal(bool(0))
    loop_enter = Signal(bool(0))
    loop_next = Signal(bool(0))
    loop_exit = Signal(bool(0))
    trip = Signal(intbv(0)[32:])

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
        code = 0
        fin = False
        enter = False
        again = False
        leave = False
        target = intbv(0)[16:]
        target[:] = pc + 1
        if state == State.RUN and iv:
            if pc >= prog_len:
                flt = True
                code = ERRORCODE_PC_OVERRUN
            elif illegal:
                flt = True
                code = ERRORCODE_ILLEGAL_OPCODE
            elif overflow:
                flt = True
                code = ERRORCODE_BUFFER_OVERFLOW
            elif op == OP_NOP:
                adv = True
            elif op == OP_END:
                if all_idle:
                    fin = True
            elif op == OP_SYNC:
                if all_idle:
                    adv = True
            elif op == OP_LOOP:
                if in_loop:
                    flt = True
                    code = ERRORCODE_LOOP_ERROR
                else:
                    adv = True
                    if trip == 0:
                        target[:] = dec.dst
                    else:
                        enter = True
            elif op == OP_ENDLOOP:
                if not in_loop:
                    flt = True
                    code = ERRORCODE_LOOP_ERROR
                else:
                    adv = True
                    if loop_t + 1 < loop_count:
                        again = True
                        target[:] = loop_pc
                    else:
                        leave = True
            elif skip:
                adv = True
            elif not drain and not hazard:
                if op == OP_FC:
                    if not a_fc:
                        go_fc = True
                        adv = True
                elif op == OP_ACT:
                    if not a_act:
                        go_act = True
                        adv = True
                elif op == OP_EW:
                    if not a_ew:
                        go_ew = True
                        adv = True
                elif blocking:
                    if all_idle:
                        go_dma = True
                        adv = True
                elif not a_dma:
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
        if adv:
            next_pc.next = target
        else:
            next_pc.next = pc

    @always_comb
    def imem_address():
        if state == State.RUN:
            imem_raddr.next = next_pc
        else:
            imem_raddr.next = 0

    # ---- state ----------------------------------------------------------------------------------
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
                iv.next = 0
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
                if dma_err:
                    error.next = 1
                    error_code.next = dma_err_code
                    state.next = State.DRAIN
                else:
                    prog_fetched.next = 1
                    state.next = State.RUN
        elif state == State.RUN:
            iv.next = 1
            pc.next = next_pc
            if ctl_dma.start:
                dma_pc.next = pc
            if ctl_dma.done and dma_err:
                error.next = 1
                error_code.next = dma_err_code
                pc.next = dma_pc
                state.next = State.DRAIN
            elif fault:
                error.next = 1
                error_code.next = fault_code
                pc.next = pc
                state.next = State.DRAIN
            elif finish:
                running.next = 0
                done.next = 1
                state.next = State.IDLE
            if loop_enter:
                in_loop.next = 1
                loop_pc.next = pc + 1
                loop_count.next = trip
                loop_t.next = 0
            elif loop_next:
                loop_t.next = loop_t + 1
            elif loop_exit:
                in_loop.next = 0
                loop_t.next = 0
            if ctl_dma.start and blocking:
                drain.next = 1
            elif all_idle:
                drain.next = 0
        else:  # DRAIN after an error: let running kernels finish, then report
            if all_idle:
                running.next = 0
                done.next = 1
                state.next = State.IDLE

    return (decode, ranges, weight_end, legality, bounds, dma_kind, slots, scoreboard, trip_count, decide,
            imem_address, control)
