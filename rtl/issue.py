"""Instruction fetch, decode and in-order issue with a scoreboard over activation-buffer ranges and
region ports.

Front end (every stage a register, so no path runs from the issue decision to the instruction
memory):

    fetch address -> imem (block RAM) -> fetched register -> [FIFO of 3] -> N -> R -> decode -> I -> issue

N holds the instruction R takes next, so that the scoreboard compares it with the instructions in
flight a cycle ahead of the issue decision (see hazard_slot). The FIFO, N and R are places in one
buffer of FETCH_LIMIT entries (LUT RAM, written as instructions arrive), and they move by
pointers: the issue decision enables the pointers and the issue stage's register, not copies of
instruction words.

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
from .hazards import CONFLICT_TERMS, range_conflict_terms
from .predecode import K_ACT, K_DMA, K_EW, K_FC, K_NONE, layout

Op = isa.Op
FETCH_LIMIT = 5       # instructions presented to imem and not yet moved into the issue stage
FIFO_DEPTH = FETCH_LIMIT - 2  # what is not in N or R
BUF_DEPTH = FETCH_LIMIT  # R, N and the FIFO share one buffer: every instruction not yet in I
N_SLOTS = 7           # instructions in flight: FC, FC, ACT, ACT, EW, EW, DMA
SLOT_KERNEL = (0, 0, 1, 1, 2, 2, 3)
#: The issue unit's states in encoding order (MyHDL's enum encodes them 0, 1, 2, 3): the waveform
#: views name the state signal's values from this (sim/waves.py)
ISSUE_STATES = ("IDLE", "FETCH", "RUN", "DRAIN")


@block
def hazard_slot(clk, rst, kernel: int, has_read1: bool, free, load, i_ranges, i_res, n_ranges, n_res, n_kernel,
                r_load, n_vs_issue_d, hit):
    """One instruction in flight: its hazard ranges and region ports, recorded when it issues, and
    whether the instruction in R conflicts with it, compared a cycle before R takes that
    instruction.

    Ports: clk, rst (unused: see Reset); kernel (constant: the slot's kernel); has_read1
    (constant: the slot's kernel has a second read range, EW only); free (in, from registers: the
    slot holds no live instruction, so it records the issue stage's ranges, whether or not that
    instruction goes into it); load (in: the issue stage's instruction goes into this slot now);
    i_ranges (in: r0lo, r0hi, r1lo, r1hi, wlo, whi of the
    instruction in the issue stage), i_res (in, its region ports); n_ranges, n_res, n_kernel (in:
    those of the instruction R takes next, from registers); r_load (in: R takes it at this edge);
    n_vs_issue_d (in, a register: the conflict terms, rtl.hazards.range_conflict_terms, of the
    instruction R took next against the one in the issue stage, in the previous cycle); hit (out,
    from registers and one OR of terms: RAW, WAR or WAW of R's
    instruction against the recorded ranges, or a region port another kernel uses). Empty ranges
    are [0, 0).
    Why compared one stage early: R's range bits fan out to every slot's comparators, a long
    net, and the conflict behind them needs several levels of logic; comparing the instruction R
    takes next moves the comparators a cycle ahead of the decision. The recorded ranges cannot
    change while R holds its instruction (a slot loads only when the issue stage takes R's
    instruction, and R then takes the next one).
    Why every comparison ends at a register of its own (h_d here, n_vs_issue_d in the issue
    unit), written in every cycle: neither the comparator nor its long nets are then behind the
    late `r_load` and `load` (N's comparison with this slot's ranges, then with the issue stage's,
    were the critical paths, 7.26 ns and 7.41 ns with about 5.1 ns of routing, 0222d7e and
    e0abb70 seed 1). The registers hold the comparison's three terms, each one LUT behind the
    comparators' carry chains, and are ORed where they are read: the OR of the ten comparisons
    before the register was the critical path after that (n_hazards_b -> slot 5's h_d, 6.98 ns,
    16 cells, 0e609b7 seed 1). At the edge R takes its instruction, the hit of the previous cycle's
    comparison is in h_d, or, when this slot loads at that edge (the slot's new instruction is
    the issue stage's), in n_vs_issue_d: `fresh` and `from_issue` select it in the next cycle,
    and the held hit keeps it from the next edge if R does not move on. R's instruction meets
    the hits no earlier than that edge, when it moves into the issue stage.
    Latency: ranges recorded in every cycle the slot is free, so also at the edge of `load` (the
    late issue decision enables no flip-flop here); the hit in the cycle after `r_load`.
    While free, the ranges follow the issue stage's, which change only when R's do (i_take), and a
    load comes with r_load, so the hit is never stale. Reset: none
    (ranges of a slot the scoreboard does not mark occupied, and the hit of an empty R, are never
    used; rst is unused)."""
    r0lo, r0hi, r1lo, r1hi, wlo, whi = [Signal(intbv(0)[len(r):]) for r in i_ranges]
    res = Signal(intbv(0)[len(i_res):])
    i0lo, i0hi, i1lo, i1hi, iwlo, iwhi = i_ranges
    h_next = Signal(intbv(0)[len(n_vs_issue_d):])

    @always(clk.posedge)
    def record():
        # no reset: a slot's ranges count only while the scoreboard marks it occupied; the enable
        # is `free`, a register's, not the late `load`
        if free:
            r0lo.next = i0lo
            r0hi.next = i0hi
            if has_read1:
                r1lo.next = i1lo
                r1hi.next = i1hi
            wlo.next = iwlo
            whi.next = iwhi
            res.next = i_res

    conflict = range_conflict_terms(n_ranges, n_res, n_kernel, (r0lo, r0hi, r1lo, r1hi, wlo, whi), res, kernel,
                                    has_read1, h_next)

    h_d = Signal(intbv(0)[len(h_next):])   # h_next of the previous cycle: terms, ORed when read
    fresh = Signal(bool(0))        # R took its instruction at the last edge: the hit is not held yet
    from_issue = Signal(bool(0))   # ... and this slot loaded at that edge: the hit is n_vs_issue_d
    hit_held = Signal(bool(0))

    @always(clk.posedge)
    def register_hit():
        # no reset: r_load is high in a run's first cycle (R is empty), and the hit of an empty
        # R is never read
        h_d.next = h_next
        if r_load:
            fresh.next = 1
            from_issue.next = load
        elif fresh:
            if from_issue:
                hit_held.next = n_vs_issue_d != 0
            else:
                hit_held.next = h_d != 0
            fresh.next = 0

    @always_comb
    def hit_out():
        if not fresh:
            hit.next = hit_held
        elif from_issue:
            hit.next = n_vs_issue_d != 0
        else:
            hit.next = h_d != 0

    return record, conflict, register_hit, hit_out


@block
def issue_unit(cfg: ProcessorConfig, clk, rst, run_start, prog_dirty, prog_addr, prog_len, seq_len, flags,
               fetch_start, fetch_addr, fetch_len, fetch_done, fetch_err, dma_err, dma_err_code, prog_fetched,
               imem_raddr, imem_rdata, dec, ctl_fc, ctl_act, ctl_ew, ctl_dma, loop_t,
               running, done, error, error_code, pc, executed, issue_pc):
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
      ctl_*             KernelCtl of FC, ACT, EW, DMA: start out (combinational), ready/busy/done/done_soon in
      loop_t            out, loop index t
      running           out, between START and DONE
      done, error, error_code  out, sticky until the next START
      pc                out, pc of the instruction in the issue stage (of the failing one on error)
      executed          out, pulse: one instruction left the issue stage (for INSTRS)
      issue_pc          out, pc of the instruction in the issue stage (a register; with a kernel's
                        start, the pc of the instruction it starts: for the retire trace, rtl/trace.py)
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
    LOOPCOUNT_SEQ_LEN = int(isa.LoopCount.SEQ_LEN)
    OP_END, OP_ENDLOOP = int(Op.END), int(Op.ENDLOOP)
    OP_LOAD, OP_LOOP, OP_NOP, OP_STORE, OP_SYNC = int(Op.LOAD), int(Op.LOOP), int(Op.NOP), int(Op.STORE), int(Op.SYNC)
    NRES = len(isa.Resource)

    opcode_hi, opcode_lo = isa.FIELDS["opcode"].bounds
    func_hi, func_lo = isa.FIELDS["func"].bounds
    dst_hi, dst_lo = isa.FIELDS["dst"].bounds
    src0_hi, src0_lo = isa.FIELDS["src0"].bounds
    src1_hi, src1_lo = isa.FIELDS["src1"].bounds
    length_hi, length_lo = isa.FIELDS["length"].bounds
    cols_hi, cols_lo = isa.FIELDS["cols"].bounds
    bias_hi, bias_lo = isa.FIELDS["bias"].bounds
    ddr_offset_hi, ddr_offset_lo = isa.FIELDS["ddr_offset"].bounds
    shift0_hi, shift0_lo = isa.FIELDS["shift0"].bounds
    shift1_hi, shift1_lo = isa.FIELDS["shift1"].bounds
    shift2_hi, shift2_lo = isa.FIELDS["shift2"].bounds
    stride_hi, stride_lo = isa.FIELDS["stride"].bounds
    base_hi, base_lo = isa.FIELDS["base"].bounds
    cond_hi, cond_lo = isa.FIELDS["cond"].bounds
    split_hi, split_lo = isa.FIELDS["split"].bounds
    LAY = layout(cfg)
    IW = LAY.width
    assert len(imem_rdata) == IW
    # loop counters and the index t: a trip count is SEQ_LEN or the 16-bit length field
    LOOP_BITS = len(loop_t)
    assert len(seq_len) == LOOP_BITS == isa.SEQ_LEN_BITS >= length_hi - length_lo, \
        f"SEQ_LEN of {len(seq_len)} bits, loop index of {LOOP_BITS}"

    State = enum(*ISSUE_STATES)
    state = Signal(State.IDLE)

    # =============================== fetch ========================================================
    fa = Signal(intbv(0)[16:])           # next address to present
    pv = Signal(bool(0))                 # an address was presented in the previous cycle
    p_pc = Signal(intbv(0)[16:])         # ... which one
    f_valid = Signal(bool(0))            # f_word holds a fetched instruction (imem output, registered)
    f_word = Signal(intbv(0)[IW:])
    f_pc = Signal(intbv(0)[16:])
    # the fetched instruction lies past the program (pc >= PROG_LEN, which holds still during a
    # run), compared as it is fetched and stored beside it: compared at R, behind the buffer's
    # LUT-RAM read, the comparator's carry chain led the retimed decision terms (r_ptr -> R's pc
    # -> `r_pc >= prog_len` -> the terms, 7.85 and 8.05 ns, b64566c seeds 1 and 3)
    f_over = Signal(bool(0))
    fl_active = Signal(bool(0))          # the fetch is inside a loop it will wrap
    fl_start = Signal(intbv(0)[16:])     # the loop's first instruction
    fl_before_end = Signal(intbv(0)[16:])  # the pc before its ENDLOOP (the loop's jump - 2)
    # fa is the loop's ENDLOOP, registered (exact whenever fl_active): the wrap decision reads one
    # flip-flop, not a 16-bit comparator behind the fetch's late controls (fa's 16 inputs were 15
    # of the 17 endpoints late at 150 MHz, ce5ca32 seed 2). It is set as fa steps onto the end,
    # from fa == fl_before_end: one comparator of registers, no adder
    fa_at_end = Signal(bool(0))
    fl_passes = Signal(intbv(0)[LOOP_BITS:])    # passes left including the current one (a cycle late, see fl_wrapped)
    fl_wrapped = Signal(bool(0))         # the fetch wrapped in the previous cycle: fl_passes counts it now
    # R, N and the FIFO are places in one buffer (LUT RAM), written only as instructions arrive
    # from the fetch register; the stages move by their pointers. So the issue decision (i_take)
    # enables a few pointer flip-flops and not the ~550 of two instruction registers.
    buf_words = [Signal(intbv(0)[IW:]) for _ in range(BUF_DEPTH)]  # read by R
    buf_pcs = [Signal(intbv(0)[16:]) for _ in range(BUF_DEPTH)]
    buf_overs = [Signal(bool(0)) for _ in range(BUF_DEPTH)]
    (kernel_hi, kernel_lo), (res_hi, res_lo) = LAY.hi_lo("kernel"), LAY.hi_lo("res")
    HZ_FIELDS = ("res", "r0lo", "r0hi", "r1lo", "r1hi", "wlo", "whi")
    assert all(LAY.hi_lo(f)[1] >= res_lo for f in HZ_FIELDS) and LAY.hi_lo("whi")[0] == IW
    KB = kernel_hi - kernel_lo
    HZW = IW - res_lo + KB
    RANGE_FIELDS = HZ_FIELDS[1:]

    def hazard_word_fields(h):
        """(ranges, res, kernel) of a hazard word (kernel, then res .. whi): slices of h."""
        ranges = tuple(h(hi - res_lo + KB, lo - res_lo + KB) for hi, lo in (LAY.hi_lo(f) for f in RANGE_FIELDS))
        return ranges, h(res_hi - res_lo + KB, KB), h(KB, 0)
    buf_hazards = [Signal(intbv(0)[HZW:]) for _ in range(BUF_DEPTH)]  # read by N: kernel, res, ranges
    f_hazards = ConcatSignal(f_word(IW, res_lo), f_word(kernel_hi, kernel_lo))
    w_ptr = Signal(intbv(0, min=0, max=BUF_DEPTH))                # where the next arrival goes
    n_ptr = Signal(intbv(BUF_DEPTH - 1, min=0, max=BUF_DEPTH))    # the last instruction N took
    n_ptr_next = Signal(intbv(0, min=0, max=BUF_DEPTH))           # ... plus 1 (the FIFO's head)
    r_ptr = Signal(intbv(0, min=0, max=BUF_DEPTH))
    q_count = Signal(intbv(0, min=0, max=FIFO_DEPTH + 1))       # instructions stored after N's
    n_valid = Signal(bool(0))
    # of the instruction R takes next: a register loaded as N takes it, from the FIFO's head (read
    # at n_ptr_next) or from the fetch register, so that the scoreboard's comparators start at a
    # flip-flop and not behind the LUT RAM's read (n_ptr -> LUT RAM -> comparators was the
    # longest path, 8.63 ns, after the ACT decode tables)
    n_hazards = Signal(intbv(0)[HZW:])
    # ... and a replica of it for slots 4 to 6 and the comparison with the issue stage: N's range
    # ends fan out to 80 range comparators over the die, and the slowest comparator-to-hit path
    # had 5.0 of its 7.25 ns in routing (d3e34fc, seed 1). The replica has no reset, so synthesis
    # does not merge it with n_hazards (Yosys merges identical registers, `keep` or not); its value
    # after a reset is never compared (N is empty until it loads again).
    n_hazards_b = Signal(intbv(0)[HZW:])
    fifo_head_hazards = Signal(intbv(0)[HZW:])
    # Whether an instruction conflicts with the one before it in program order (its predecessor
    # in the buffer, so in R -> I order too): predecoded (rtl/predecode.py, pred), stored beside
    # it and carried along by N and R. hit_i (R's instruction against the issue stage's) is then
    # R's bit: no comparator reads R's or N's fields for it, and the issue decision enables two
    # flip-flops for it, not 100. (Comparing N against R's fields from the LUT RAM was the
    # longest path at 7.96 ns; R's fields in a register put the decision's enable on 100
    # flip-flops, 49 of them late. Comparing each arrival with the previous one put the fetched
    # word, in the block RAM's output register, and the comparators before N's bit: up to
    # 7.62 ns, 581bed4.)
    f_pred = Signal(bool(0))               # the arrival conflicts with the previous arrival
    buf_preds = [Signal(bool(0)) for _ in range(BUF_DEPTH)]
    fifo_head_pred = Signal(bool(0))
    n_pred = Signal(bool(0))               # N's instruction conflicts with its predecessor
    # What the issue decision's terms read of R's instruction (its class, one-hot, its static
    # faults and loop bits), decoded as it arrives and carried along like pred, so that R's are
    # flip-flops loaded with R's pointer: read from R's LUT-RAM word, they put the read and a
    # decode between r_ptr and the decision terms (r_ptr -> LUT RAM -> pre_pass, 6.72 ns of the
    # 2 late endpoints at 150 MHz, 69e88d0 seed 4). Bits (CL_*): a LOAD/STORE's cond is kept, and
    # the FLAGS bit it reads is looked up as R takes the instruction (FLAGS holds during a run)
    CL_FREE, CL_SYNC, CL_FC, CL_ACT, CL_SMX, CL_EW, CL_DMA, CL_BLK = range(8)
    CL_ERR, CL_LOOP, CL_ENDLOOP, CL_LOOP_END, CL_LOOP_BAD, CL_COND = range(8, 14)
    CL_BITS = CL_COND + 2
    f_classes = Signal(intbv(0)[CL_BITS:])
    buf_classes = [Signal(intbv(0)[CL_BITS:]) for _ in range(BUF_DEPTH)]
    fifo_head_classes = Signal(intbv(0)[CL_BITS:])
    n_classes = Signal(intbv(0)[CL_BITS:])
    r_valid = Signal(bool(0))
    r_word = Signal(intbv(0)[IW:])
    r_pc = Signal(intbv(0)[16:])
    r_over = Signal(bool(0))             # R's instruction lies past the program (f_over)
    i_take = Signal(bool(0))             # the issue stage takes R this cycle
    fetch_on = Signal(bool(0))
    restart = Signal(bool(0))            # the run begins: empty the front end

    @always_comb
    def fetch_address():
        imem_raddr.next = fa

    B_COUNT_ZERO, B_COUNT_MANY = LAY.fields["count_zero"][0], LAY.fields["count_many"][0]
    B_LOOP_SEQ, B_LOOP_SHORT = LAY.fields["loop_seq"][0], LAY.fields["loop_short"][0]
    (before_end_hi, before_end_lo) = LAY.hi_lo("loop_before_end")
    seq_len_zero, seq_len_many = Signal(bool(0)), Signal(bool(0))  # SEQ_LEN is constant during a run
    seq_len_over2 = Signal(bool(0))    # SEQ_LEN > 2
    fl_more = Signal(bool(0))          # the loop has passes left after the current one
    # fl_passes - 1 and fl_passes > 2, registered a cycle after fl_passes changes, so that a wrap
    # loads registers and no 16-bit decrement sits behind the wrap decision. fl_passes itself
    # counts a wrap in the cycle after it (fl_wrapped), so the decision enables two flip-flops
    # for it and not 32 (they were 30 of the 125 endpoints late at 150 MHz, 87db43a seed 1). A
    # wrap is at least three cycles after the previous one (a body holds three or more
    # instructions), so fl_dec, read a cycle after a wrap, and fl_over2, read by the next wrap,
    # are never stale; a LOOP loads fl_over2 and fl_more directly (its first wrap may come in
    # the next cycle) and fl_dec need not be (it is read two cycles after the LOOP at the soonest).
    fl_dec = Signal(intbv(0)[LOOP_BITS:])
    fl_over2 = Signal(bool(0))

    # Room to present: fewer than FETCH_LIMIT instructions in R, N, the FIFO and on their way.
    # A table of the six bits (one LUT6), not a sum and a comparison: Yosys maps arithmetic to
    # carry cells before ABC sees it, and that chain was the critical path (f_valid -> the sum
    # -> the comparison -> the fetch's registers, 7.71 ns, 581bed4 seed 2)
    fetch_occupancy = ConcatSignal(r_valid, n_valid, q_count, pv, f_valid)
    ROOM_TABLE = tuple(int(r + n + q + p_ + f < FETCH_LIMIT) for r in (0, 1) for n in (0, 1)
                       for q in range(1 << len(q_count)) for p_ in (0, 1) for f in (0, 1))
    fetch_room = Signal(bool(0))

    @always_comb
    def fetch_room_table():
        fetch_room.next = ROOM_TABLE[fetch_occupancy]

    f_loop = Signal(bool(0))        # the fetched register holds a LOOP: the fetch learns it
    at_end_next = Signal(bool(0))   # fa + 1 is the ENDLOOP of the loop the fetch is in (or learns now)

    @always_comb
    def fetch_loop_end():
        # A LOOP in the fetched register brings its own end. It was presented two cycles ago, so
        # fa is its pc + 2 if an address was presented in the cycle between (pv), else its pc + 1,
        # and its ENDLOOP is at its pc + 3 or later: fa + 1 is the end exactly when pv and the
        # body is the shortest (loop_short), and no second comparator is needed. (A LOOP with a
        # body shorter than that, or nested in a running loop, where this would not hold, faults
        # as it issues, before anything fetched after it.)
        learn = bool(f_valid and f_word[opcode_hi:opcode_lo] == OP_LOOP)
        f_loop.next = learn
        if learn:
            at_end_next.next = f_word[B_LOOP_SHORT] and pv
        else:
            at_end_next.next = fa == fl_before_end

    @always_seq(clk.posedge, reset=rst)
    def fetch():
        # The fetch learns a LOOP from its predecoded fields when the LOOP reaches the fetched
        # register, registers what it learned and, from then on, presents the loop's first
        # instruction instead of the one after its ENDLOOP while passes remain. The ISA keeps
        # two instructions between a LOOP and its ENDLOOP, so the registers are in place before
        # the ENDLOOP's address is presented: every decision below reads registers only.
        zero = bool(0)
        present = bool(0)
        # comparisons with small constants as bit tests: a magnitude comparator would be a
        # 16-bit carry chain
        seq_len_zero.next = seq_len == 0
        seq_len_many.next = (seq_len >> 1) != 0
        seq_len_over2.next = (seq_len >> 2) != 0 or seq_len[2:] == 3
        if fl_passes != 0:  # the decrement only matters when it is >= 0 (a loop of no passes never wraps)
            fl_dec.next = fl_passes - 1
        fl_over2.next = (fl_passes >> 2) != 0 or fl_passes[2:] == 3
        fl_wrapped.next = 0
        if fl_wrapped:
            fl_passes.next = fl_dec
        if restart:
            fa.next = 0
            fa_at_end.next = 0
            pv.next = 0
            f_valid.next = 0
            fl_active.next = 0
        elif fetch_on:
            # a LOOP of no passes, from predecoded bits (count_zero: an immediate count of 0)
            zero = bool(f_valid and (f_word[B_COUNT_ZERO] or (f_word[B_LOOP_SEQ] and seq_len_zero)))
            if f_loop:
                if f_word[B_LOOP_SEQ]:
                    fl_more.next = seq_len_many
                    fl_passes.next = seq_len
                    fl_over2.next = seq_len_over2
                else:
                    fl_more.next = f_word[B_COUNT_MANY]
                    fl_passes.next = f_word[length_hi:length_lo]
                    fl_over2.next = f_word[length_hi:length_lo + 2] != 0 or f_word[length_lo + 2:length_lo] == 3
                fl_active.next = not zero
                fl_start.next = f_pc + 1
                fl_before_end.next = f_word[before_end_hi:before_end_lo]
            present = fetch_room and not zero
            if present:
                if fl_active and fa_at_end:
                    if fl_more:
                        fa.next = fl_start
                        fl_wrapped.next = 1
                        fl_more.next = fl_over2
                        # a legal loop's first instruction is not its ENDLOOP (its body holds
                        # three or more, isa loop_bad)
                        fa_at_end.next = 0
                    else:
                        fa.next = fa + 1
                        fl_active.next = 0
                        fa_at_end.next = at_end_next
                else:
                    fa.next = fa + 1
                    fa_at_end.next = at_end_next
            elif zero:
                fa.next = f_word[dst_hi:dst_lo]  # a loop of no iterations: continue at its jump
            elif f_loop:
                # fa holds: it is at most the LOOP's pc + 2 (fetched two cycles ago), and a legal
                # loop's ENDLOOP is at its pc + 3 or later. (A LOOP that breaks this rule or the
                # one above, isa loop_bad, faults as it issues, before anything fetched after it.)
                fa_at_end.next = 0
            pv.next = present
            p_pc.next = fa
            f_valid.next = pv and not zero   # the instruction after a zero-trip LOOP is dropped
            f_pc.next = p_pc
            f_over.next = p_pc >= prog_len

    @always(clk.posedge)
    def fetch_word():
        # The memory's output straight into a register with no reset (f_valid says whether it
        # holds anything): Yosys's flow (rtl/synth.py) moves it into the block RAM's own output
        # register, so the word leaves the memory from a register and not 4.4 ns after the clock
        # (f_word was 26 of the 90 endpoints late at 150 MHz, ce5ca32 seed 1)
        if fetch_on:
            f_word.next = imem_rdata

    r_load = Signal(bool(0))       # R takes N's instruction at this edge (or empties)
    n_load = Signal(bool(0))       # N takes a new instruction at this edge (or empties)
    # The loads' part that does not wait for the issue decision, registered: the run goes on and
    # R is empty (r_open), or N or R is (n_open). So each load is one OR of a register and
    # i_take, and N's and R's clock enables (about 200 flip-flops) are not behind the queue's
    # logic: ACT `ready` -> the decision -> N's pointers through six LUTs, one of them shared
    # with the FIFO count's logic and placed beside it, was late at 898aceb seeds 4 and 5.
    r_open, n_open = Signal(bool(0)), Signal(bool(0))
    run_next = Signal(bool(0))         # the run state holds (or is entered) at this edge
    r_valid_next, n_valid_next = Signal(bool(0)), Signal(bool(0))   # R's and N's valid bits after this edge

    @always_comb
    def queue_control():
        # both are low outside a run (i_take too): the run's state is in r_open and n_open
        r_load.next = r_open or i_take
        n_load.next = n_open or i_take

    @always_comb
    def queue_valid():
        # one computation for `queue` (which stores them) and `queue_open` (which looks ahead
        # with them); restart overrides the loads
        rv = bool(r_valid)
        nv = bool(n_valid)
        if restart:
            rv = False
            nv = False
        else:
            if r_load:
                rv = bool(n_valid)
            if n_load:
                nv = bool(q_count != 0 or f_valid)
        r_valid_next.next = rv
        n_valid_next.next = nv

    @always_seq(clk.posedge, reset=rst)
    def queue_open():
        r_open.next = run_next and not r_valid_next
        n_open.next = run_next and not (n_valid_next and r_valid_next)

    @always_seq(clk.posedge, reset=rst)
    def queue():
        # Instructions are in the buffer in program order: N's is the one after R's, the FIFO's
        # follow N's, and w_ptr = n_ptr + 1 + q_count. N takes the next one, stored (the FIFO's
        # head) or arriving now (written at w_ptr at this edge); R takes N's. FETCH_LIMIT counts
        # every instruction in R, N, the FIFO and on its way, so an arrival never overwrites one
        # of them. The loads come first: they happen only in a run, and restart overrides them.
        do_push = bool(0)
        do_pop = bool(0)
        r_valid.next = r_valid_next
        n_valid.next = n_valid_next
        if r_load:
            r_ptr.next = n_ptr
        if n_load:
            if q_count != 0:
                do_pop = True
                do_push = bool(f_valid)
            if q_count != 0 or f_valid:
                n_ptr.next = n_ptr_next
                n_ptr_next.next = 0 if n_ptr_next == BUF_DEPTH - 1 else n_ptr_next + 1
            # the FIFO's head was written at an earlier edge (an arrival now goes behind it);
            # with the FIFO empty, N takes the arrival (written at n_ptr_next at this edge)
            if q_count != 0:
                n_hazards.next = fifo_head_hazards
                n_pred.next = fifo_head_pred
                n_classes.next = fifo_head_classes
            else:
                n_hazards.next = f_hazards
                n_pred.next = f_pred
                n_classes.next = f_classes
        else:
            do_push = bool(f_valid)
        if restart:
            q_count.next = 0
            w_ptr.next = 0
            n_ptr.next = BUF_DEPTH - 1
            n_ptr_next.next = 0
        elif fetch_on:
            if f_valid:
                w_ptr.next = 0 if w_ptr == BUF_DEPTH - 1 else w_ptr + 1
            q_count.next = q_count + do_push - do_pop

    @always(clk.posedge)
    def buffer_write():
        # no reset: the valid bits and the pointers say what is valid
        if f_valid:
            buf_words[w_ptr].next = f_word
            buf_pcs[w_ptr].next = f_pc
            buf_overs[w_ptr].next = f_over
            buf_hazards[w_ptr].next = f_hazards
            buf_preds[w_ptr].next = f_pred
            buf_classes[w_ptr].next = f_classes

    @always(clk.posedge)
    def replica():
        # no reset: see n_hazards_b. Loads exactly when `queue` loads n_hazards (outside reset)
        if n_load:
            if q_count != 0:
                n_hazards_b.next = fifo_head_hazards
            else:
                n_hazards_b.next = f_hazards

    @always_comb
    def buffer_read():
        r_word.next = buf_words[r_ptr]
        r_pc.next = buf_pcs[r_ptr]
        r_over.next = buf_overs[r_ptr]
        fifo_head_hazards.next = buf_hazards[n_ptr_next]
        fifo_head_pred.next = buf_preds[n_ptr_next]
        fifo_head_classes.next = buf_classes[n_ptr_next]

    # =============================== decode (R -> I) ==============================================
    # The predecoder (rtl/predecode.py) stored everything the decision needs beside each
    # instruction: here it is only sliced, and the conflicts are compared below.
    d_op = Signal(intbv(0)[4:])
    d_kernel = Signal(intbv(0)[3:])
    d_r0lo, d_r0hi, d_r1lo, d_r1hi, d_wlo, d_whi = [Signal(intbv(0)[LAY.fields[f][1]:]) for f in RANGE_FIELDS]
    d_res = Signal(intbv(0)[NRES:])
    d_reg0, d_reg1, d_regw = [Signal(intbv(0)[2:]) for _ in range(3)]
    d_illegal, d_overflow, d_blocking = [Signal(bool(0)) for _ in range(3)]
    (r0lo_hi, r0lo_lo), (r0hi_hi, r0hi_lo) = LAY.hi_lo("r0lo"), LAY.hi_lo("r0hi")
    (r1lo_hi, r1lo_lo), (r1hi_hi, r1hi_lo) = LAY.hi_lo("r1lo"), LAY.hi_lo("r1hi")
    (wlo_hi, wlo_lo), (whi_hi, whi_lo) = LAY.hi_lo("wlo"), LAY.hi_lo("whi")
    (reg0_hi, reg0_lo) = LAY.hi_lo("reg0")
    (reg1_hi, reg1_lo), (regw_hi, regw_lo) = LAY.hi_lo("reg1"), LAY.hi_lo("regw")
    B_ILLEGAL, B_OVERFLOW, B_REGION_ERR = LAY.fields["illegal"][0], LAY.fields["overflow"][0], LAY.fields["region_err"][0]
    B_BLOCKING, B_EMPTY, B_SOFTMAX = LAY.fields["blocking"][0], LAY.fields["empty"][0], LAY.fields["softmax"][0]
    B_ONE_WORD, B_ONE_ROW = LAY.fields["one_word"][0], LAY.fields["one_row"][0]
    B_ONE_VEC = LAY.fields["one_vec"][0]
    B_LOOP_BAD, B_LOOP_END = LAY.fields["loop_bad"][0], LAY.fields["loop_end"][0]

    @always_comb
    def decode():
        op = intbv(0)[4:]
        op[:] = r_word[opcode_hi:opcode_lo]
        d_op.next = op
        d_kernel.next = r_word[kernel_hi:kernel_lo]
        d_r0lo.next = r_word[r0lo_hi:r0lo_lo]
        d_r0hi.next = r_word[r0hi_hi:r0hi_lo]
        d_r1lo.next = r_word[r1lo_hi:r1lo_lo]
        d_r1hi.next = r_word[r1hi_hi:r1hi_lo]
        d_wlo.next = r_word[wlo_hi:wlo_lo]
        d_whi.next = r_word[whi_hi:whi_lo]
        d_res.next = r_word[res_hi:res_lo]
        d_reg0.next = r_word[reg0_hi:reg0_lo]
        d_reg1.next = r_word[reg1_hi:reg1_lo]
        d_regw.next = r_word[regw_hi:regw_lo]
        d_illegal.next = r_word[B_ILLEGAL]
        d_overflow.next = r_word[B_OVERFLOW]
        d_blocking.next = r_word[B_BLOCKING]

    @always_comb
    def arrival_classes():
        # the arrival's class bits (see CL_FREE), from the fetch register and its overrun bit
        op = intbv(0)[4:]
        kern = intbv(0)[3:]
        cl = intbv(0)[CL_BITS:]
        op[:] = f_word[opcode_hi:opcode_lo]
        kern[:] = f_word[kernel_hi:kernel_lo]
        cl[:] = 0
        cl[CL_FREE] = op == OP_NOP or op == OP_LOOP or op == OP_ENDLOOP or f_word[B_EMPTY]
        cl[CL_SYNC] = op == OP_SYNC
        cl[CL_FC] = kern == K_FC and not f_word[B_EMPTY]
        cl[CL_ACT] = kern == K_ACT and not f_word[B_EMPTY] and not f_word[B_SOFTMAX]
        cl[CL_SMX] = kern == K_ACT and not f_word[B_EMPTY] and f_word[B_SOFTMAX]
        cl[CL_EW] = kern == K_EW and not f_word[B_EMPTY]
        cl[CL_DMA] = kern == K_DMA and not f_word[B_BLOCKING]
        cl[CL_BLK] = kern == K_DMA and f_word[B_BLOCKING]
        cl[CL_ERR] = f_over or f_word[B_ILLEGAL] or f_word[B_OVERFLOW] or f_word[B_REGION_ERR]
        cl[CL_LOOP] = op == OP_LOOP
        cl[CL_ENDLOOP] = op == OP_ENDLOOP
        cl[CL_LOOP_END] = f_word[B_LOOP_END]
        cl[CL_LOOP_BAD] = f_word[B_LOOP_BAD]
        if op == OP_LOAD or op == OP_STORE:
            cl[CL_COND + 2:CL_COND] = f_word[cond_hi:cond_lo]
        f_classes.next = cl

    # =============================== scoreboard ====================================================
    s_occ = Signal(intbv(0)[N_SLOTS:])
    fc_wr, fc_rd, act_wr, act_rd, ew_wr, ew_rd = [Signal(bool(0)) for _ in range(6)]
    live = Signal(intbv(0)[N_SLOTS:])      # occupied and not done in this cycle
    # not live, registered (from the next cycle's occupancy and dones): the slot records the issue
    # stage's ranges. A register of its own, so that the enables of the slots' range registers
    # (about 90 flip-flops per slot) are not on the path from done_now to the issue decision
    slot_free = Signal(intbv(2 ** N_SLOTS - 1)[N_SLOTS:])
    load = Signal(intbv(0)[N_SLOTS:])      # the issue stage's instruction goes into this slot now
    # what the issue decision reads of the scoreboard, each registered from the next cycle's
    # occupancy and dones, so that no reduction over the slots is on the decision's path:
    idle = Signal(bool(1))        # live == 0
    act_idle = Signal(bool(1))    # neither ACT slot live (a softmax waits for the ACT kernel)
    dma_idle = Signal(bool(1))    # the DMA slot not live

    # =============================== issue stage (I) ===============================================
    i_valid = Signal(bool(0))
    i_pc = Signal(intbv(0)[16:])
    i_kernel = Signal(intbv(0)[3:])
    i_r0lo, i_r0hi, i_r1lo, i_r1hi, i_wlo, i_whi = [Signal(intbv(0)[LAY.fields[f][1]:]) for f in RANGE_FIELDS]
    i_res = Signal(intbv(0)[NRES:])
    # per slot: the instruction in I conflicts with the slot's instruction and that one is still
    # in flight (occupied and not done before this cycle). Registered every cycle: when I takes
    # a new instruction, the slot the leaving one goes into conflicts if the comparison with it
    # did (hit_i), any other slot if the comparison with its recorded instruction did and it
    # stays live; otherwise a bit clears when its slot is done. The issue decision then needs
    # only this cycle's dones: no path runs from the comparisons or the occupancy into it.
    i_cs = Signal(intbv(0)[N_SLOTS:])
    i_blocking = Signal(bool(0))
    i_loop_bad, i_loop_end = Signal(bool(0)), Signal(bool(0))

    # the slots whose instruction is done in this cycle: registered (done_next) from the kernels'
    # done_soon_next and the slot each done empties then (the read pointer moves on at a done), so
    # the issue decision reads no kernel output
    done_now = Signal(intbv(0)[N_SLOTS:])

    # done_now of the next cycle: a register as well, loaded from the kernels' done_soon_next, so
    # that the decision's registered terms (pre_pass ...), which read it, start at flip-flops and
    # not behind a kernel's LUTs and a net across the die (FC `done_d` -> done_next -> pre_pass,
    # 7.29 ns, 5.42 of it routing, the worst of 21 late endpoints at 150 MHz, 7f21d4d seed 2)
    done_next = Signal(intbv(0)[N_SLOTS:])

    @always_seq(clk.posedge, reset=rst)
    def done_ahead():
        # a kernel's done in the next cycle but one (done_soon_next) empties the slot its read
        # pointer then names: the pointer flips at each done, and the next cycle's done is
        # done_soon (slots)
        dn = intbv(0)[N_SLOTS:]
        dn[:] = 0
        if ctl_fc.done_soon_next:
            if (fc_rd ^ ctl_fc.done) != ctl_fc.done_soon:
                dn[1] = 1
            else:
                dn[0] = 1
        if ctl_act.done_soon_next:
            if (act_rd ^ ctl_act.done) != ctl_act.done_soon:
                dn[3] = 1
            else:
                dn[2] = 1
        if ctl_ew.done_soon_next:
            if (ew_rd ^ ctl_ew.done) != ctl_ew.done_soon:
                dn[5] = 1
            else:
                dn[4] = 1
        if ctl_dma.done_soon_next:
            dn[6] = 1
        done_next.next = dn

    @always_comb
    def liveness():
        live.next = s_occ & ~done_now

    i_ranges = (i_r0lo, i_r0hi, i_r1lo, i_r1hi, i_wlo, i_whi)
    # the instruction R takes next: its ranges against the issue stage's (for the slot that one
    # enters as R takes it) and, in every slot, against the slot's recorded ranges
    n_fields = hazard_word_fields(n_hazards)        # slots 0 to 3
    n_fields_b = hazard_word_fields(n_hazards_b)    # slots 4 to 6 and the issue stage
    n_vs_issue = Signal(intbv(0)[CONFLICT_TERMS:])     # conflict terms (rtl.hazards.range_conflict_terms)
    n_vs_issue_d = Signal(intbv(0)[CONFLICT_TERMS:])
    next_vs_issue = range_conflict_terms(*n_fields_b, i_ranges, i_res, i_kernel, True, n_vs_issue)

    @always(clk.posedge)
    def register_vs_issue():
        # no reset, no enable: read only in the cycle after a slot loads (see hazard_slot)
        n_vs_issue_d.next = n_vs_issue

    slot_hits = [Signal(bool(0)) for _ in range(N_SLOTS)]
    slot_blocks = [hazard_slot(clk, rst, SLOT_KERNEL[k], SLOT_KERNEL[k] == K_EW, slot_free(k), load(k), i_ranges, i_res,
                               *(n_fields if k < 4 else n_fields_b), r_load, n_vs_issue_d, slot_hits[k])
                   for k in range(N_SLOTS)]
    slot_hit = ConcatSignal(*reversed(slot_hits))
    # R's instruction against the issue stage's: R's predecessor bit (see f_pred), loaded as
    # R takes N's instruction. When R takes one while the issue stage holds an instruction, that
    # instruction is its predecessor; hit_i only counts beside a valid issue stage.
    B_PRED = LAY.fields["pred"][0]
    hit_i = Signal(bool(0))

    @always_comb
    def predecessor_conflict():
        f_pred.next = f_word[B_PRED]

    @always(clk.posedge)
    def register_hit_i():
        # no reset: hit_i counts only beside a valid issue stage, which R's instruction enters
        # only after a cycle in R, and R takes one only with r_load
        if r_load:
            hit_i.next = n_pred

    # decision outputs
    ok = Signal(bool(1))     # registered: not drain and no conflict in flight, (i_cs & ~done_now) == 0
    drain_next = Signal(bool(0))
    advance, fault, finish = [Signal(bool(0)) for _ in range(3)]
    fault_code = Signal(intbv(0)[8:])
    # The loop registers update a cycle after the decision that moves them, from registered
    # events, so that the decision drives three flip-flops here and not the counters' enables:
    # the next ENDLOOP is at least three instructions later (a body holds two or more, see
    # predecode's loop_bad), and what the cycle in between needs is derived from the events.
    loop_enter, loop_next, loop_exit = [Signal(bool(0)) for _ in range(3)]  # decision: LOOP, ENDLOOP again or out
    enter_d, next_d, exit_d = [Signal(bool(0)) for _ in range(3)]            # ... registered
    trip = Signal(intbv(0)[LOOP_BITS:])
    trip_d = Signal(intbv(0)[LOOP_BITS:])     # the issue stage's trip count of the previous cycle
    trip_live = Signal(bool(0))        # ... is not 0
    in_loop = Signal(bool(0))          # a loop runs (as of the events before the previous cycle)
    in_loop_next = Signal(bool(0))     # in_loop of the next cycle
    # The loop fault of the issue stage's instruction (an ENDLOOP not at the end of the running
    # loop's body, another instruction there, a LOOP inside a loop or with a bad body), a register
    # computed from the next cycle's issue stage and loop state: in the decision it was two levels
    # of logic on the longest path (state -> loop_err -> advance -> N's pointer, 7.25 ns, 8dc1b59
    # seed 1). Every input of it is known a cycle ahead, the decision's own events included.
    loop_err_next = Signal(bool(0))
    loop_err = Signal(bool(0))
    loop_left = Signal(intbv(0)[LOOP_BITS:])  # passes of the running loop left, the current one included
    loop_more = Signal(bool(0))   # registered: loop_left > 1, so no comparator is on the decision's path
    t_held = Signal(intbv(0)[LOOP_BITS:])     # loop_t of the previous cycle
    t_plus = Signal(intbv(0)[LOOP_BITS:])     # ... plus 1
    drain = Signal(bool(0))   # a weight/bias load is running: issue nothing until all are idle
    dma_pc = Signal(intbv(0)[16:])
    op = dec.opcode

    @always_comb
    def trip_count():
        if dec.func == LOOPCOUNT_SEQ_LEN:
            trip.next = seq_len
        else:
            trip.next = dec.length

    # what the instruction in I is, one-hot, and its static faults: registered when it moves in,
    # so the decision below is a flat OR of short terms
    i_end, i_sync, i_loop, i_endloop = [Signal(bool(0)) for _ in range(4)]
    # a LOOP of one or more passes (trip != 0, as the fetch decides it: no comparator of the trip
    # count, which sat between the issue stage's fields and the loop fault's term of pre_pass,
    # dec.func -> trip -> loop_ahead -> pre_pass, 6.96 ns, 7f21d4d seed 4)
    i_loop_live = Signal(bool(0))
    i_free = Signal(bool(0))  # it only passes: NOP, LOOP, ENDLOOP, a skipped LOAD/STORE, an empty FC/ACT/EW
    i_fc, i_act, i_smx, i_ew, i_dma, i_blk = [Signal(bool(0)) for _ in range(6)]
    i_err = Signal(bool(0))
    i_err_code = Signal(intbv(0)[8:])
    # ... and of the instruction in R (registers, see CL_FREE), what the issue stage loads as it
    # takes R's, and its loop bits
    rc_free, rc_sync, rc_fc, rc_act, rc_smx, rc_ew, rc_dma, rc_blk = [Signal(bool(0)) for _ in range(8)]
    rc_err = Signal(bool(0))
    rc_loop, rc_endloop, rc_loop_end, rc_loop_bad = [Signal(bool(0)) for _ in range(4)]
    prog_len_bad = Signal(bool(0))     # PROG_LEN is 0 or over the instruction memory

    # The issue decision, retimed: every term of `advance` but the kernels' ready, registered
    # from the next cycle's values, so that the decision is one OR of four ANDs and a register
    # (the N pointers' enable was late at 7 of 13 placements, 5.4 to 6.0 ns of routing behind
    # three LUTs of decision). Each term is formed twice, for the stage taking R's instruction
    # and for it holding, from registers and R's decode, and i_take only selects between the two.
    #   pre_pass  the instruction advances now whatever the kernels' ready (NOP, LOOP, ENDLOOP, a
    #             skipped or empty one, SYNC, a softmax, LOAD/STORE, a blocking load)
    #   pre_fc, pre_act, pre_ew  it advances if that kernel is ready
    #   pre_empty the stage is empty and takes R's instruction (or nothing)
    le_take, le_hold = Signal(bool(0)), Signal(bool(0))  # loop_err_next if the stage takes R's instruction, if not
    pre_pass, pre_fc, pre_act, pre_ew, pre_empty = [Signal(bool(0)) for _ in range(5)]

    # the slot the instruction in I goes into if it issues now (0 if it goes into none), from
    # registers only: `load` equals it in a cycle in which the stage takes a new instruction
    i_slot = Signal(intbv(0)[N_SLOTS:])

    @always(clk.posedge)
    def r_classes():
        # the opcode's class, one-hot (a skipped LOAD/STORE and an empty FC/ACT/EW only pass),
        # and the static faults, loaded from N's as R's pointer is (queue). No reset: they count
        # only beside a valid R. The LOAD/STORE condition reads the FLAGS register (constant
        # during a run)
        cl = intbv(0)[CL_BITS:]
        cond = intbv(0)[2:]
        if r_load:
            cl[:] = n_classes
            cond[:] = cl[CL_COND + 2:CL_COND]
            skip = bool(cond != 0 and ((flags >> (cond - 1)) & 1) == 0)
            rc_free.next = cl[CL_FREE] or skip
            rc_sync.next = cl[CL_SYNC]
            rc_fc.next = cl[CL_FC]
            rc_act.next = cl[CL_ACT]
            rc_smx.next = cl[CL_SMX]
            rc_ew.next = cl[CL_EW]
            rc_dma.next = cl[CL_DMA] and not skip
            rc_blk.next = cl[CL_BLK] and not skip
            rc_err.next = cl[CL_ERR]
            rc_loop.next = cl[CL_LOOP]
            rc_endloop.next = cl[CL_ENDLOOP]
            rc_loop_end.next = cl[CL_LOOP_END]
            rc_loop_bad.next = cl[CL_LOOP_BAD]

    @always_comb
    def slot_of_issue_stage():
        sl = intbv(0)[N_SLOTS:]
        sl[:] = 0
        if i_valid and not i_err:
            if i_fc:
                sl[int(fc_wr)] = 1
            if i_act or i_smx:
                sl[2 + int(act_wr)] = 1
            if i_ew:
                sl[4 + int(ew_wr)] = 1
            if i_dma or i_blk:
                sl[6] = 1
        i_slot.next = sl

    @always_seq(clk.posedge, reset=rst)
    def conflicts():
        cs = intbv(0)[N_SLOTS:]
        waits = intbv(0)[N_SLOTS:]
        if i_take:
            cs[:] = slot_hit & live & ~i_slot
            if hit_i:
                cs[:] = cs | i_slot
        else:
            cs[:] = i_cs & live
        i_cs.next = cs
        # the next cycle's "no conflict is still running and no weight/bias load drains", so
        # that the decision reads one register for it
        waits[:] = cs & ~done_next
        ok.next = not drain_next and waits == 0

    @always_comb
    def decide():
        code = intbv(0)[8:]
        run = state == State.RUN and i_valid
        go_fc = run and not i_err and i_fc and ok and ctl_fc.ready
        go_act = run and not i_err and ((i_act and ok and ctl_act.ready) or (i_smx and ok and act_idle))
        go_ew = run and not i_err and i_ew and ok and ctl_ew.ready
        go_dma = run and not i_err and ((i_dma and ok and dma_idle) or (i_blk and ok and idle))
        # = run and not i_err and not loop_err and (i_free or (i_sync and idle) or (i_fc and ok
        # and ctl_fc.ready) or (i_act and ok and ctl_act.ready) or (i_smx and ok and act_idle) or
        # (i_ew and ok and ctl_ew.ready) or (i_dma and ok and dma_idle) or (i_blk and ok and idle)),
        # its terms registered (decision_terms)
        adv = pre_pass or (pre_fc and ctl_fc.ready) or (pre_act and ctl_act.ready) or (pre_ew and ctl_ew.ready)
        if i_err:
            code[:] = i_err_code
        else:
            code[:] = ERRORCODE_LOOP_ERROR
        ctl_fc.start.next = go_fc
        ctl_act.start.next = go_act
        ctl_ew.start.next = go_ew
        ctl_dma.start.next = go_dma
        advance.next = adv
        fault.next = run and (i_err or loop_err)
        fault_code.next = code
        finish.next = run and not i_err and not loop_err and i_end and idle
        loop_enter.next = adv and i_loop  # a trip count of 0 enters no loop: see loop_counter
        loop_next.next = adv and i_endloop and loop_more
        loop_exit.next = adv and i_endloop and not loop_more
        i_take.next = pre_empty or adv   # = state == State.RUN and (not i_valid or adv)
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
    def issue_valid():
        if restart:
            i_valid.next = 0
        elif i_take:
            i_valid.next = r_valid

    @always_comb
    def issue_pc_out():
        issue_pc.next = i_pc

    @always(clk.posedge)
    def issue_register():
        # no reset (i_valid says whether the stage holds an instruction): i_take is then the
        # flip-flops' clock enable and not a multiplexer in front of each of them
        if i_take:
            i_pc.next = r_pc
            i_kernel.next = d_kernel
            i_r0lo.next = d_r0lo
            i_r0hi.next = d_r0hi
            i_r1lo.next = d_r1lo
            i_r1hi.next = d_r1hi
            i_wlo.next = d_wlo
            i_whi.next = d_whi
            i_res.next = d_res
            # the slot the leaving instruction takes is known from registers (i_slot), so the
            # late decision only enables this register and is not in its data path
            i_blocking.next = d_blocking
            i_loop_bad.next = rc_loop_bad
            i_loop_end.next = rc_loop_end
            # the opcode's class, one-hot (r_classes)
            i_end.next = d_op == OP_END
            i_sync.next = rc_sync
            i_loop.next = rc_loop
            i_loop_live.next = rc_loop and not (r_word[B_COUNT_ZERO] or (r_word[B_LOOP_SEQ] and seq_len_zero))
            i_endloop.next = rc_endloop
            i_free.next = rc_free
            i_fc.next = rc_fc
            i_act.next = rc_act
            i_smx.next = rc_smx
            i_ew.next = rc_ew
            i_dma.next = rc_dma
            i_blk.next = rc_blk
            # static faults, in the ISA's order of precedence
            i_err.next = rc_err
            if r_over:
                i_err_code.next = ERRORCODE_PC_OVERRUN
            elif d_illegal:
                i_err_code.next = ERRORCODE_ILLEGAL_OPCODE
            elif d_overflow:
                i_err_code.next = ERRORCODE_BUFFER_OVERFLOW
            else:
                i_err_code.next = ERRORCODE_REGION_ERROR
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
            dec.fc_one_word.next = r_word[B_ONE_WORD]
            dec.one_row.next = r_word[B_ONE_ROW]
            dec.one_vec.next = r_word[B_ONE_VEC]

    @always_seq(clk.posedge, reset=rst)
    def slots():
        occ = intbv(0)[N_SLOTS:]
        occ[:] = live | load
        if restart:
            occ[:] = 0
        s_occ.next = occ
        stays = intbv(0)[N_SLOTS:]
        stays[:] = occ & ~done_next
        slot_free.next = ~stays
        idle.next = stays == 0
        act_idle.next = (stays & 0b0001100) == 0
        dma_idle.next = not stays[6]
        done_now.next = done_next
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

    @always_comb
    def loop_now():
        entered = enter_d and trip_live
        if next_d:
            loop_t.next = t_plus
        elif entered or exit_d:
            loop_t.next = 0
        else:
            loop_t.next = t_held

    @always_comb
    def loop_ahead():
        # in_loop and the issue stage's loop bits of the next cycle -> loop_err
        il = bool(in_loop)
        if state == State.IDLE and run_start:
            il = False
        elif enter_d and trip_live:
            il = True
        elif next_d:
            il = bool(in_loop)
        elif exit_d:
            il = False
        in_loop_next.next = il
        # the stage takes R's instruction: the one it holds, if any, advances (loop_enter,
        # loop_exit); or it holds, and nothing advances. at_end: predecoded, pc == this loop's
        # jump - 1; only an ENDLOOP may (and must) sit at the end of a running loop's body, and
        # loops do not nest
        now_t = (il and not (i_valid and i_endloop and not loop_more)) or (i_valid and i_loop_live)
        at_end_t = now_t and rc_loop_end
        err_t = (rc_endloop and not at_end_t) or (at_end_t and not rc_endloop) or (rc_loop and (now_t or rc_loop_bad))
        at_end_h = il and i_loop_end
        err_h = (i_endloop and not at_end_h) or (at_end_h and not i_endloop) or (i_loop and (il or i_loop_bad))
        le_take.next = err_t
        le_hold.next = err_h
        if i_take:
            loop_err_next.next = err_t
        else:
            loop_err_next.next = err_h

    @always_seq(clk.posedge, reset=rst)
    def loop_counter():
        enter_d.next = loop_enter
        next_d.next = loop_next
        exit_d.next = loop_exit
        trip_d.next = trip
        trip_live.next = trip != 0
        t_held.next = loop_t
        t_plus.next = loop_t + 1
        in_loop.next = in_loop_next
        loop_err.next = loop_err_next
        if state == State.IDLE and run_start:
            t_held.next = 0
        elif enter_d and trip_live:
            loop_left.next = trip_d
            loop_more.next = (trip_d >> 1) != 0  # > 1
        elif next_d:
            loop_left.next = loop_left - 1
            loop_more.next = (loop_left >> 2) != 0 or loop_left[2:] == 3  # loop_left - 1 > 1

    @always_comb
    def run_ahead():
        # state == RUN at the next edge (see control)
        r = bool(0)
        if state == State.IDLE:
            r = bool(run_start and not prog_len_bad and not prog_dirty)
        elif state == State.FETCH:
            r = bool(fetch_done and not fetch_err)
        elif state == State.RUN:
            r = bool(not (ctl_dma.done and dma_err) and not fault and not finish)
        run_next.next = r

    @always_seq(clk.posedge, reset=rst)
    def decision_terms():
        # The decision's terms of the next cycle (see pre_pass), for the stage taking R's
        # instruction (_t: adv is i_valid, the one it holds goes into i_slot, a blocking load
        # among them sets drain; I then holds R's instruction, its classes rc_*) and for it
        # holding (_h: nothing issues). When the stage holds and something still starts (a kernel
        # with a loop fault), the run ends at this edge (fault) and every term is 0 anyway.
        cs_t = intbv(0)[N_SLOTS:]
        cs_h = intbv(0)[N_SLOTS:]
        st_t = intbv(0)[N_SLOTS:]
        st_h = intbv(0)[N_SLOTS:]
        cs_t[:] = slot_hit & live & ~i_slot
        if hit_i:
            cs_t[:] = cs_t | i_slot
        cs_h[:] = i_cs & live
        st_t[:] = (live | i_slot) & ~done_next      # the slots in flight in the next cycle
        st_h[:] = live & ~done_next
        if restart:
            st_h[:] = 0
        dr_t = bool(drain)
        if i_valid and not i_err and i_blk:
            dr_t = True
        elif idle:
            dr_t = False
        dr_h = bool(drain)
        if state == State.IDLE:
            if run_start:
                dr_h = False
        elif state == State.RUN:
            if idle:
                dr_h = False
        ok_t = bool(not dr_t and (cs_t & ~done_next) == 0)
        ok_h = bool(not dr_h and (cs_h & ~done_next) == 0)
        g_t = bool(run_next and r_valid and not rc_err and not le_take)
        g_h = bool(run_next and i_valid and not restart and not i_err and not le_hold)
        if i_take:
            pre_pass.next = g_t and (rc_free or (rc_sync and st_t == 0) or (ok_t and (
                (rc_smx and (st_t & 0b0001100) == 0) or (rc_dma and not st_t[6]) or (rc_blk and st_t == 0))))
            pre_fc.next = g_t and ok_t and rc_fc
            pre_act.next = g_t and ok_t and rc_act
            pre_ew.next = g_t and ok_t and rc_ew
            pre_empty.next = run_next and not r_valid
        else:
            pre_pass.next = g_h and (i_free or (i_sync and st_h == 0) or (ok_h and (
                (i_smx and (st_h & 0b0001100) == 0) or (i_dma and not st_h[6]) or (i_blk and st_h == 0))))
            pre_fc.next = g_h and ok_h and i_fc
            pre_act.next = g_h and ok_h and i_act
            pre_ew.next = g_h and ok_h and i_ew
            pre_empty.next = run_next and (restart or not i_valid)

    # =============================== run control =================================================
    @always_comb
    def front_end():
        fetch_on.next = state == State.RUN
        restart.next = state == State.IDLE or state == State.FETCH
        prog_len_bad.next = prog_len == 0 or prog_len > cfg.imem_depth

    @always_comb
    def drain_ahead():
        # a weight/bias load is running: issue nothing until all kernels are idle
        d = bool(drain)
        if state == State.IDLE:
            if run_start:
                d = False
        elif state == State.RUN:
            if ctl_dma.start and i_blocking:
                d = True
            elif idle:
                d = False
        drain_next.next = d

    @always_seq(clk.posedge, reset=rst)
    def control():
        drain.next = drain_next
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
                if prog_len_bad:
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
        else:  # DRAIN after an error: let running kernels finish, then report
            if idle:
                running.next = 0
                done.next = 1
                state.next = State.IDLE

    return (fetch_address, fetch_room_table, fetch_loop_end, fetch, fetch_word, queue_control, queue_valid, queue_open, queue, replica, buffer_write, buffer_read, decode, arrival_classes,
            done_ahead, liveness, next_vs_issue, register_vs_issue,
            slot_blocks, predecessor_conflict, register_hit_i, trip_count,
            r_classes, slot_of_issue_stage, conflicts, decide, run_ahead, decision_terms,
            issue_valid, issue_pc_out, issue_register, slots, loop_now, loop_ahead, loop_counter, front_end, drain_ahead, control)
