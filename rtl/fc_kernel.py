"""FC kernel: P MAC lanes along the input vector, two masked adder trees (one per column segment),
wide accumulator, round, saturate. A pipeline: the next instruction starts as soon as the previous
one has presented its last word, so back-to-back FC instructions (the four gates of an LSTM step)
pay the pipeline fill once."""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, always_seq, block, intbv, modbv

from . import isa
from .config import ProcessorConfig
from .interfaces import READ_LATENCY
from .primitives import PIPELINED_RAM_LATENCY as WEIGHT_LATENCY
from .vector_unit import stream_control


def fc_latency(cfg: ProcessorConfig) -> int:
    """Cycles from the cycle an instruction presents its last word to its done pulse (the cycle
    after its last write's en; the write lands at the end of the next, WRITE_LATENCY): read
    (READ_LATENCY), product (1: the multiplier block's output register), product into the fabric
    (1), two adder trees (log2 P), segment shift (2: the low two bits of the shift, then the
    rest), segment sum (1), accumulate (1), round (1), saturate into the write port (1), done
    (1)."""
    return READ_LATENCY + 9 + cfg.lane_bits


REGION_Z = int(isa.Region.Z)


@block
def fc_kernel(cfg: ProcessorConfig, clk, rst, ctl, dec, rd, wr, wram, bram, sat):
    """Executes FC: y[n] = sat(round((bias[b+n] + sum_k W[n,k]*a[src0+k]*2^(shift1 if k < split)) >> shift0)).

    Ports:
      clk, rst      clock; synchronous active-high reset (idles the kernel, clears the pipeline)
      ctl           KernelCtl: start in; ready, busy, done out
      dec           Decoded fields, sampled at start: dst, src0 (and src0_region: V or Z), src1
                    (weight word address), length (rows), cols (K >= 1), bias, shift0, shift1,
                    split (the products of columns < split are shifted left by shift1);
                    fc_one_word and one_row, predecoded (rtl.predecode.kernel_flags): they must
                    agree with cols and length
      rd            AbufReadPort (en, region, addr out; data in, READ_LATENCY)
      wr            AbufWritePort out: one result element per row, replicated in every lane
      wram, bram    RamPort read sides of the weight buffer (raddr out, rdata in, latency
                    WEIGHT_LATENCY: a pipelined_ram) and the bias buffer (latency 1)
      sat           out, one-cycle pulse per saturated result (with its write)
    Timing: the word (row n, word j) of an instruction started in cycle c is presented in cycle
    c + 1 + n*ceil(cols/P) + j; `ready` is high in the cycle of its last word (a start then
    continues without a gap) and whenever the sequencer is idle, provided at most one other
    instruction is in flight or the older one is done in that cycle. An instruction's done pulse
    comes fc_latency(cfg) cycles after its last word. busy is high from the cycle after a start
    to the last done (inclusive).
    Busy cycles per instruction alone: rows*ceil(cols/P) + fc_latency(cfg).
    Reset: synchronous: sequencer idle, nothing in flight, pipeline registers cleared.
    """
    p, w, lb = cfg.lanes, cfg.data_bits, cfg.lane_bits
    mask = p - 1
    assert lb >= 1 and len(rd.data) == p * w and len(wram.rdata) == p * w and len(bram.rdata) == cfg.BIAS_BITS
    kw_bits = 16 - lb + 1
    bb = len(bram.raddr)

    # ---- sequencer: registers of the word presented this cycle -----------------------------------
    s_valid, s_first, s_last, s_last_row = [Signal(bool(0)) for _ in range(4)]
    s_nvalid = Signal(intbv(0, min=0, max=p + 1))   # lanes holding columns < cols
    s_nfirst = Signal(intbv(0, min=0, max=p + 1))   # lanes holding columns < split
    s_out = Signal(intbv(0)[16:])                   # destination element of this row
    s_bias = Signal(intbv(0)[bb:])                  # bias entry of this row
    # the rounding shift minus 1 (the right shift it takes), up to acc_bits - 2 in a legal FC:
    # sized to that, so the round stage's shifter has no stage a legal instruction never uses
    s_shift0 = Signal(intbv(0)[(cfg.acc_bits - 2).bit_length():])
    s_shift0_zero = Signal(bool(0))   # ... or no rounding shift at all
    s_shift1 = Signal(intbv(0)[(w - 1).bit_length():])  # the x segment's left shift, <= W-1 in a legal FC
    s_off = Signal(intbv(0)[lb:])     # the source's lane offset: V arrives in bank order (see weights)
    # the row count and the words per row, each minus 2 (modular), so that the tests of the next
    # word's flags, in front of the `ready` register, are comparators of registers and not an
    # adder and a comparator (FC `kw` -> `ready`, 7.67 ns through 11 cells, was the critical path
    # of a seed-1 placement with db9fab4's hazard change). rows_m2 is read only when rows >= 2 and word == kw_m2 only
    # when kw >= 2, so the wrap never matters; kw_m2 all ones is kw == 1
    row = Signal(intbv(0)[16:])
    rows_m2 = Signal(modbv(0)[16:])
    word = Signal(intbv(0)[kw_bits:])
    kw_m2 = Signal(modbv(0)[kw_bits:])
    KW_ONE = (1 << kw_bits) - 1   # kw_m2 of one word per row
    kw_start = Signal(intbv(0)[kw_bits:])
    src = Signal(intbv(0)[16:])
    cols = Signal(intbv(0)[17:])
    split = Signal(intbv(0)[12:])
    rem = Signal(intbv(0, min=-(1 << 17), max=1 << 17))   # columns from this word to the row end
    xrem = Signal(intbv(0, min=-(1 << 17), max=1 << 17))  # first-segment columns from this word on
    rem_next = Signal(intbv(0, min=-(1 << 17), max=1 << 17))
    xrem_next = Signal(intbv(0, min=-(1 << 17), max=1 << 17))
    rb = len(rem_next)

    @always_comb
    def words_per_row():
        kw_start.next = (dec.cols + (p - 1)) >> lb

    @always_comb
    def remaining():
        rem_next.next = rem - p
        xrem_next.next = xrem - p

    s_last_n, s_last_row_n = Signal(bool(0)), Signal(bool(0))  # s_last and s_last_row of the next cycle
    seq_free_next = Signal(bool(0))  # the sequencer will be free (idle or on a last word) next cycle (no start now)
    seq_free_next_if_start = Signal(bool(0))  # the same if a start comes now

    @always_comb
    def handshake():
        rd.en.next = s_valid

    @always_comb
    def next_word():
        # the next word's flags, which the sequencer registers, and so whether it will be free
        # then: `ready` is a register computed from them (vector_unit.stream_control)
        if not s_valid or (s_last and s_last_row):
            # predecoded (rtl/predecode.py): an adder and 16-bit comparators here, on fields the
            # issue unit registers across the die, were the critical path (ce5ca32, two seeds).
            # With a start the instruction is an FC of length >= 1
            s_last_n.next = dec.fc_one_word
            s_last_row_n.next = dec.one_row
            seq_free_next.next = 1
            seq_free_next_if_start.next = dec.fc_one_word and dec.one_row
        elif s_last:  # the last word of a row that is not the last row
            s_last_n.next = kw_m2 == KW_ONE
            s_last_row_n.next = row == rows_m2
            seq_free_next.next = kw_m2 == KW_ONE and row == rows_m2
            seq_free_next_if_start.next = kw_m2 == KW_ONE and row == rows_m2  # no start comes here
        else:
            s_last_n.next = word == kw_m2
            s_last_row_n.next = s_last_row
            seq_free_next.next = word == kw_m2 and s_last_row
            seq_free_next_if_start.next = word == kw_m2 and s_last_row

    @always_seq(clk.posedge, reset=rst)
    def sequencer():
        shift0_m1 = modbv(0)[len(s_shift0):]
        # Whenever the sequencer is free (idle, or presenting an instruction's last word) its
        # registers take the decoded fields, whether or not an instruction starts: they count
        # only beside s_valid. So `start`, the issue unit's late decision, enables s_valid and
        # not the ~200 flip-flops of this sequencer.
        s_last.next = s_last_n
        s_last_row.next = s_last_row_n
        if not s_valid or (s_last and s_last_row):
            rows_m2.next = dec.length - 2
            src.next = dec.src0
            cols.next = dec.cols
            split.next = dec.split
            kw_m2.next = kw_start - 2
            row.next = 0
            word.next = 0
            # (sliced: another kernel's fields need not fit; a legal FC instruction's do)
            rd.addr.next = dec.src0[len(rd.addr):]
            rd.region.next = dec.src0_region
            if dec.src0_region == REGION_Z:
                s_off.next = 0  # Z rows arrive as they are (a Z source starts at a row)
            else:
                s_off.next = dec.src0[lb:]
            wram.raddr.next = dec.src1[len(wram.raddr):]
            s_bias.next = dec.bias[len(s_bias):]
            s_out.next = dec.dst
            shift0_m1[:] = dec.shift0 - 1  # (wraps for another kernel's fields or shift0 = 0: unused)
            s_shift0.next = shift0_m1
            s_shift0_zero.next = dec.shift0 == 0
            s_shift1.next = dec.shift1[len(s_shift1):]
            rem.next = dec.cols
            xrem.next = dec.split
            s_valid.next = ctl.start and dec.length != 0
            s_first.next = 1
            # ">= p" as "bits from lane_bits up not all 0" (p is a power of 2; a comparator
            # would be a carry chain); rem/xrem are signed: their sign bit too
            s_nvalid.next = p if (dec.cols >> lb) != 0 else dec.cols
            s_nfirst.next = p if (dec.split >> lb) != 0 else dec.split
        else:  # presenting a word that is not the instruction's last
            wram.raddr.next = wram.raddr + 1
            if s_last:  # the last word of a row that is not the last row
                row.next = row + 1
                word.next = 0
                rd.addr.next = src
                s_bias.next = s_bias + 1
                s_out.next = s_out + 1
                rem.next = cols
                xrem.next = split
                s_first.next = 1
                s_nvalid.next = p if (cols >> lb) != 0 else cols
                s_nfirst.next = p if (split >> lb) != 0 else split
            else:
                word.next = word + 1
                rd.addr.next = rd.addr + p
                rem.next = rem_next
                xrem.next = xrem_next
                s_first.next = 0
                s_nvalid.next = p if not rem_next[rb - 1] and rem_next[rb - 1:lb] != 0 else rem_next
                if not xrem_next[rb - 1] and xrem_next[rb - 1:lb] != 0:
                    s_nfirst.next = p
                elif not xrem_next[rb - 1] and xrem_next != 0:
                    s_nfirst.next = xrem_next
                else:
                    s_nfirst.next = 0

    # ---- the word's control travels beside its data: one delay line with taps -------------------
    # packed (LSB first): valid, first, last, inst_last, nvalid, nfirst, shift1, shift0, out, bias
    nb = lb + 1
    s_inst_last = Signal(bool(0))

    @always_comb
    def instruction_last():
        s_inst_last.next = s_valid and s_last and s_last_row

    ctl0 = ConcatSignal(s_off, s_bias, s_out, s_shift0_zero, s_shift0, s_shift1, s_nfirst, s_nvalid, s_inst_last, s_last,
                        s_first, s_valid)
    cw = len(ctl0)
    o_valid, o_first, o_last, o_ilast = 0, 1, 2, 3
    o_nvalid = 4
    o_nfirst = o_nvalid + nb
    o_shift1 = o_nfirst + nb
    o_shift0 = o_shift1 + len(s_shift1)
    o_shift0_zero = o_shift0 + len(s_shift0)
    o_out = o_shift0_zero + 1
    o_bias = o_out + 16
    o_off = o_bias + bb
    assert o_off + lb == cw
    t_mask = READ_LATENCY + 2             # products in the fabric: lane masks
    t_tree = t_mask + lb                  # tree sums registered: segment shift, bias address
    t_acc = t_tree + 3                    # segment sum registered: accumulate (bias arrives)
    t_round = t_acc + 1                   # accumulator holds the word's sum
    t_sat = t_round + 1
    taps = (t_mask, t_tree, t_acc, t_round, t_sat)
    tap_sigs = [Signal(intbv(0)[cw:]) for _ in taps]
    c_mask, c_tree, c_acc, c_round, c_sat = tap_sigs
    line = [Signal(intbv(0)[cw:]) for _ in range(t_sat)]
    # Region V arrives in bank order (lane l holds the element of the word that is l mod P, see
    # rtl/abuf.py), so the weights are rotated to meet it, between two of their delay registers,
    # and the trees' lane masks are rotated too. The activations then come from a register fed by
    # a 2:1 selection instead of a 16:1 rotator, and can sit next to the multipliers: the FC
    # products were 421 of the 769 endpoints that missed 150 MHz (4672139, seed 1).
    w_off = Signal(intbv(0)[lb:])                # in cycle t + WEIGHT_LATENCY: the lane offset of word t
    lane_a, lane_b = Signal(intbv(0)[p:]), Signal(intbv(0)[p:])  # in cycle t + t_mask: tree A/B lanes

    @always(clk.posedge)
    def control_line():
        # line[k] holds the control of the word presented k+1 cycles ago; tap c_X holds, in cycle
        # t + X, the control of the word presented in cycle t
        nf = intbv(0, min=0, max=p + 1)
        nv = intbv(0, min=0, max=p + 1)
        off = intbv(0)[lb:]
        elem = intbv(0)[lb:]
        if rst:
            for k in range(t_sat):
                line[k].next = 0
            w_off.next = 0
            lane_a.next = 0
            lane_b.next = 0
            c_mask.next = 0
            c_tree.next = 0
            c_acc.next = 0
            c_round.next = 0
            c_sat.next = 0
        else:
            line[0].next = ctl0
            for k in range(1, t_sat):
                line[k].next = line[k - 1]
            c_mask.next = line[t_mask - 2]
            w_off.next = line[WEIGHT_LATENCY - 2][o_off + lb:o_off]
            # lane l holds element (l - off) mod P of the word: tree A takes the elements below
            # nfirst, tree B those from nfirst below nvalid
            nv[:] = line[t_mask - 2][o_nfirst:o_nvalid]
            nf[:] = line[t_mask - 2][o_shift1:o_nfirst]
            off[:] = line[t_mask - 2][o_off + lb:o_off]
            for lane in range(p):
                elem[:] = (lane + p - off) & mask
                lane_a.next[lane] = elem < nf
                lane_b.next[lane] = elem >= nf and elem < nv
            c_tree.next = line[t_tree - 2]
            c_acc.next = line[t_acc - 2]
            c_round.next = line[t_round - 2]
            c_sat.next = line[t_sat - 2]

    # ---- operands: weights arrive WEIGHT_LATENCY cycles after their address, activations READ_LATENCY --
    # The weight RAM is pipelined (rtl.primitives.pipelined_ram: EBR, EBR output register, bank
    # selection register), so its data is one cycle ahead of the activations: that cycle rotates
    # the weights, lane l taking weight (l - off) mod P, the column of the element in lane l.
    assert WEIGHT_LATENCY == READ_LATENCY - 1, "the weights' rotation is their one register after the RAM"
    w_d = Signal(intbv(0)[p * w:])

    @always(clk.posedge)
    def weights():
        for lane in range(p):
            lo = lane * w
            src = ((lane + p - w_off) & mask) * w
            w_d.next[lo + w:lo] = wram.rdata[src + w:src]

    # ---- P products (DSP blocks: registered inputs and output), then a fabric register ------------
    # The multiplier blocks sit in columns apart from the logic: a product register in the fabric
    # lets the placer put the first adders beside their operands (the adders read straight from
    # the blocks' output registers were 62 of the 125 endpoints late at 150 MHz, 87db43a seed 1).
    # The data registers from here to the accumulator have no enable and no reset, as in EW: only
    # valid words are accumulated and written, by the control line beside them, so no net reaches
    # every register of every lane (`busy` did, ~2,000 clock enables).
    pmax = 1 << (2 * w - 2)
    prods = [Signal(intbv(0, min=-pmax, max=pmax + 1)) for _ in range(p)]
    prods_q = [Signal(intbv(0, min=-pmax, max=pmax + 1)) for _ in range(p)]

    @always(clk.posedge)
    def multiply():
        for lane in range(p):
            lo = lane * w
            prods[lane].next = rd.data[lo + w:lo].signed() * w_d[lo + w:lo].signed()
            prods_q[lane].next = prods[lane]

    # ---- two adder trees: lanes of the first column segment and the rest; padding lanes are 0 ------
    smax = pmax * p
    levels_a, levels_b = [], []
    n = p
    while n > 1:
        n //= 2
        levels_a.append([Signal(intbv(0, min=-smax, max=smax + 1)) for _ in range(n)])
        levels_b.append([Signal(intbv(0, min=-smax, max=smax + 1)) for _ in range(n)])
    first_a, first_b = levels_a[0], levels_b[0]
    half = p // 2

    @always(clk.posedge)
    def tree_first_level():
        # lane l counts in tree A if lane_a[l], in tree B if lane_b[l] (the masks are rotated with
        # the data, see lane_a); other lanes are 0. One adder per pair of lanes, shared by the
        # trees: a pair is wholly in one tree, split between them, or partly padding
        pair = intbv(0, min=-smax, max=smax + 1)
        for i in range(half):
            a0 = 2 * i
            a1 = 2 * i + 1
            pair[:] = prods_q[a0] + prods_q[a1]
            if lane_a[a0] and lane_a[a1]:
                first_a[i].next = pair
            elif lane_a[a0]:
                first_a[i].next = prods_q[a0]
            elif lane_a[a1]:
                first_a[i].next = prods_q[a1]
            else:
                first_a[i].next = 0
            if lane_b[a0] and lane_b[a1]:
                first_b[i].next = pair
            elif lane_b[a0]:
                first_b[i].next = prods_q[a0]
            elif lane_b[a1]:
                first_b[i].next = prods_q[a1]
            else:
                first_b[i].next = 0

    tree_insts = []
    for k in range(1, len(levels_a)):
        tree_insts.append(_tree_level(clk, levels_a[k - 1], levels_a[k]))
        tree_insts.append(_tree_level(clk, levels_b[k - 1], levels_b[k]))
    sum_a, sum_b = levels_a[-1][0], levels_b[-1][0]

    # ---- segment alignment, sum, accumulate ---------------------------------------------------------
    amax = smax << (w - 1)
    shifted_lo = Signal(intbv(0, min=-(smax << 3), max=(smax << 3) + 1))
    shifted_a = Signal(intbv(0, min=-amax, max=amax + 1))
    sum_b_d1 = Signal(intbv(0, min=-smax, max=smax + 1))
    sum_b_d = Signal(intbv(0, min=-smax, max=smax + 1))
    shift_hi = Signal(intbv(0)[len(s_shift1) - 2:])   # shift1 // 4 (shift1 <= W-1)
    bias_q0 = Signal(intbv(0)[cfg.BIAS_BITS:])
    psum = Signal(intbv(0, min=-2 * amax, max=2 * amax + 1))
    half_acc = 1 << (cfg.acc_bits - 1)
    acc = Signal(modbv(0, min=-half_acc, max=half_acc))
    bias_q = Signal(intbv(0)[cfg.BIAS_BITS:])

    @always_comb
    def bias_address():
        # the bias of a row is read so that it arrives with the row's first word at the accumulator
        bram.raddr.next = c_tree[o_bias + bb:o_bias]

    @always(clk.posedge)
    def segments():
        # the segment shift in two steps of at most 3 and 12 positions: a 16-way shifter of
        # 2W+log2(P) bits in one stage is too deep for the clock
        shift_lo = intbv(0)[2:]  # a sized variable: MyHDL converts a shift by a slice wrongly
        shift_lo[:] = c_tree[o_shift1 + 2:o_shift1]
        shifted_lo.next = sum_a << shift_lo
        shift_hi.next = c_tree[o_shift1 + len(s_shift1):o_shift1 + 2]
        sum_b_d1.next = sum_b
        shifted_a.next = shifted_lo << (shift_hi * 4)
        sum_b_d.next = sum_b_d1
        psum.next = shifted_a + sum_b_d
        bias_q0.next = bram.rdata  # straight from the block RAM into a register
        bias_q.next = bias_q0     # and once more, to meet the row's sum

    @always(clk.posedge)
    def accumulate():
        if c_acc[o_valid]:
            if c_acc[o_first]:
                acc.next = bias_q.signed() + psum
            else:
                acc.next = acc + psum

    # ---- round (to nearest, ties up), saturate, write ----------------------------------------------
    tq = Signal(intbv(0, min=-2 * half_acc, max=2 * half_acc))
    tq_lo = w + 1  # the bits of tq that make the result when it does not saturate
    top_code, bottom_code = cfg.data_max, cfg.data_min & ((1 << w) - 1)
    # (tq + 1) >> 1 > max  <=>  tq >= 2^w - 1;  (tq + 1) >> 1 < min  <=>  tq <= -2^w - 2, tested
    # on tq's bits (a magnitude comparator against a constant would be a carry chain as wide as tq):
    #   tq >= 2^w - 1   <=>  tq >= 0 and (tq's bits w..N-2 are not all 0 or its low w bits all 1)
    #   tq <= -2^w - 2  <=>  tq < 0 and (tq's bits w+1..N-2 are not all 1
    #                                    or (bit w is 0 and the low w bits are not all 1))
    tq_bits = len(tq)
    assert tq_bits - 2 > w + 1, "the accumulator must be wider than the data"
    ones_w, ones_mid = (1 << w) - 1, (1 << (tq_bits - 2 - w)) - 1
    done_d = Signal(bool(0))

    @always_comb
    def done_ahead():
        ctl.done_soon.next = done_d
        ctl.done_soon_next.next = c_sat[o_valid] and c_sat[o_last] and c_sat[o_ilast]

    @always(clk.posedge)
    def round_stage():
        # round(acc / 2^s) = ((acc >> (s-1)) + 1) >> 1, no wide constant
        if c_round[o_shift0_zero]:
            tq.next = acc << 1
        else:
            tq.next = acc >> c_round[o_shift0_zero:o_shift0]

    @always_seq(clk.posedge, reset=rst)
    def saturate_write():
        value = intbv(0)[w:]
        low = intbv(0)[tq_lo + 1:]
        row_done = bool(c_sat[o_valid] and c_sat[o_last])
        low_ones = tq[w:] == ones_w
        over = not tq[tq_bits - 1] and (tq[tq_bits - 1:w] != 0 or low_ones)
        under = tq[tq_bits - 1] and (tq[tq_bits - 1:w + 1] != ones_mid or (not tq[w] and not low_ones))
        sat.next = 0
        wr.en.next = row_done
        done_d.next = ctl.done_soon_next
        ctl.done.next = done_d
        if row_done:
            if over:
                value[:] = top_code
                sat.next = 1
            elif under:
                value[:] = bottom_code
                sat.next = 1
            else:
                low[:] = tq[tq_lo:] + 1
                value[:] = low[w + 1:1]
            wr.addr.next = c_sat[o_bias:o_out]
            wr.count.next = 1
            wr.region.next = REGION_Z
            for lane in range(p):
                lo = lane * w
                wr.data.next[lo + w:lo] = value

    # ready (a register: the issue decision starts from a flip-flop) and busy, as in ACT and EW
    stream = stream_control(clk, rst, ctl, seq_free_next, seq_free_next_if_start, Signal(bool(0)), Signal(bool(0)))

    return (stream, words_per_row, remaining, handshake, next_word, sequencer, instruction_last, control_line, weights, multiply,
            tree_first_level, tree_insts, bias_address, segments, accumulate, round_stage, done_ahead, saturate_write)


@block
def _tree_level(clk, cur, nxt):
    """nxt[i] = cur[2i] + cur[2i+1], registered, one process per level.
    Ports: clk; cur (in), nxt (out): lists used as arrays. Latency 1.
    No reset and no enable: the accumulator only takes sums of valid words."""
    m = len(nxt)

    @always(clk.posedge)
    def add():
        for i in range(m):
            nxt[i].next = cur[2 * i] + cur[2 * i + 1]

    return add
