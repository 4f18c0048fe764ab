"""Element-wise (adder) kernel: add with alignment shifts, or multiply; round, saturate. A
pipeline: the next instruction starts as soon as the previous one has presented its last word.

Each lane has one multiplier block, for both functions: a multiply is a*b; an add shifts at most
one operand (the ISA's rule), so it is x*2^sh + y, the shift done by the multiplier. The rounding
constant 2^(shift2-1) is added to the other operand beside the multiplier, so the sum r' is
rounded by a plain arithmetic shift, r' >> shift2: a coarse step (0 or W) after the sum, the fine
step (0..W-1) in the last stage, which produces only the W output bits. Saturation is decided on
the sum itself: its stage registers which of the bit pairs of r' from shift2 + W - 1 up disagree
(a mask per instruction), and the result fits when none does, so no stage builds the full-width
shifted value and the last stage is only the fine shift, a zero test and a multiplexer. shift2 = 2W rounds every result to 0: the first stage
zeroes the operands instead of the last stage having a case for it."""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, always_seq, block, intbv

from . import isa
from .config import ProcessorConfig, clog2
from .interfaces import READ_LATENCY
from .vector_unit import stream_control, vector_sequencer


def ew_latency(cfg: ProcessorConfig) -> int:
    """Cycles from the cycle an instruction presents its last word to its done pulse: read
    (READ_LATENCY), operand selection (1), product and rounding constant (1), sum and coarse
    shift (1), fine shift and saturation (1), done (1: the cycle after the write's en)."""
    return READ_LATENCY + 5


@block
def ew_lanes(cfg: ProcessorConfig, clk, data_a, data_b, k_mul, k_shb, k_zero, k_pow, k_rc, k_coarse, k_mask, r2,
             mism, neg):
    """The first three stages of all P lanes:
      1. operands: A = b if the shift is on b else a; B = b (multiply) or 2^sh (add);
         O = 0 (multiply) or the unshifted operand (add); A = O = 0 when every result rounds to 0
      2. P = A*B (a multiplier block, registered inputs and output); O2 = O + 2^(shift2-1)
      3. r' = P + O2; r2 = r' >> (W if coarse else 0), arithmetic, so that r2 >> (shift2 mod W)
         is the rounded result; mism = the bit pairs of r' from shift2 + W - 1 up that disagree
         (the result needs no saturation when there is none); neg = r' < 0
    Ports: clk; data_a, data_b (in, P*W-bit words, the operands of the word in the first stage);
    k_mul, k_shb, k_zero, k_pow (in: multiply, the shift is on b, shift2 = 2W, 2^sh; for the word
    in stage 1), k_rc (in: the rounding constant, for the word in stage 2), k_coarse, k_mask (in:
    shift by W, bit pairs of r' that must agree (pair i = bits W-1+i and W+i); for the word in
    stage 3); r2, mism (out, lists of P signals used as arrays: signed; W+1 bits); neg (out, P bits).
    Latency 3. One process per stage for all lanes. No reset and no enable: only valid words are
    written, by the control that travels beside them, and a word never waits (the stages advance
    every cycle; with nothing in flight they carry don't-care words), so no net reaches every
    register of every lane."""
    p, w = cfg.lanes, cfg.data_bits
    half = 1 << (2 * w - 1)
    a_op = [Signal(intbv(0, min=cfg.data_min, max=cfg.data_max + 1)) for _ in range(p)]
    b_op = [Signal(intbv(0, min=cfg.data_min, max=-cfg.data_min + 1)) for _ in range(p)]  # b or 2^sh <= 2^(W-1)
    o_op = [Signal(intbv(0, min=cfg.data_min, max=cfg.data_max + 1)) for _ in range(p)]
    prod = [Signal(intbv(0, min=-half, max=half)) for _ in range(p)]  # |a*b| <= 2^(2W-2)
    o2 = [Signal(intbv(0, min=-half, max=half)) for _ in range(p)]    # O + 2^(shift2-1), shift2 <= 2W-1

    @always(clk.posedge)
    def operands():
        xa = intbv(0, min=cfg.data_min, max=cfg.data_max + 1)
        xb = intbv(0, min=cfg.data_min, max=cfg.data_max + 1)
        for lane in range(p):
            lo = lane * w
            xa[:] = data_a[lo + w:lo].signed()
            xb[:] = data_b[lo + w:lo].signed()
            # shift2 = 2W: |r| < 2^(2W-1), so every result rounds to 0; a zero sum gives
            # it (it fits, it is not negative) and the last stage needs no case for it
            if k_zero:
                a_op[lane].next = 0
            elif k_shb:
                a_op[lane].next = xb
            else:
                a_op[lane].next = xa
            if k_mul:
                b_op[lane].next = xb
            else:
                b_op[lane].next = k_pow
            if k_mul or k_zero:
                o_op[lane].next = 0
            elif k_shb:
                o_op[lane].next = xa
            else:
                o_op[lane].next = xb

    @always(clk.posedge)
    def product():
        # the constant in a signed variable: a signed + unsigned sum converts to an unsigned
        # Verilog addition, which would zero-extend a negative operand
        rc = intbv(0, min=-half, max=half)
        rc[:] = k_rc
        for lane in range(p):
            prod[lane].next = a_op[lane] * b_op[lane]
            o2[lane].next = o_op[lane] + rc

    @always(clk.posedge)
    def combine():
        s = intbv(0, min=-2 * half, max=2 * half)
        sgn = intbv(0)[p:]
        for lane in range(p):
            s[:] = prod[lane] + o2[lane]
            # the pairs, not their zero test: the test in the next stage beside the fine shift
            # (behind this 2W+1-bit sum it was 8 of the 125 endpoints late at 150 MHz, 87db43a seed 1)
            mism[lane].next = (s[2 * w:w - 1] ^ s[2 * w + 1:w]) & k_mask
            sgn[lane] = s[2 * w]
            if k_coarse:
                r2[lane].next = s >> w
            else:
                r2[lane].next = s
        neg.next = sgn

    return operands, product, combine


@block
def ew_kernel(cfg: ProcessorConfig, clk, rst, ctl, dec, rd_a, rd_b, wr, sat_count):
    """Executes EW (func 0 add, 1 multiply) over `length` elements, P per cycle.

    Ports:
      clk, rst    clock; synchronous active-high reset (idle, nothing in flight)
      ctl         KernelCtl: start in; ready, busy, done out
      dec         Decoded fields, sampled at start: func, dst, src0, src1, length, shift0..2 and
                  the regions of dst, src0, src1
      rd_a, rd_b  AbufReadPort for the two operands; wr AbufWritePort out
      sat_count   out: results clipped in the word written this cycle (0..P)
    Timing: words of P elements, one per cycle from the cycle after start; a word is written
    ew_latency(cfg) cycles after its addresses (the done cycle for the last word; its write lands
    at the end of the next cycle, WRITE_LATENCY); the next instruction may start in the cycle of the last word (see
    vector_unit.stream_control). Busy cycles per instruction alone: ceil(length/P) + ew_latency(cfg).
    Reset: synchronous: idle, nothing in flight."""
    p, w, lb = cfg.lanes, cfg.data_bits, cfg.lane_bits
    wb = clog2(w)                 # bits of a shift <= W-1 (shift0, shift1)
    s2b = clog2(2 * w + 1)        # bits of shift2 <= 2W
    seq_valid, seq_last = Signal(bool(0)), Signal(bool(0))
    seq_count = Signal(intbv(0, min=0, max=p + 1))
    seq_waddr = Signal(intbv(0)[16:])
    s_mul, s_shb = Signal(bool(0)), Signal(bool(0))
    s_sh = Signal(intbv(0)[wb:])
    s_s2 = Signal(intbv(0)[s2b:])
    s_region = Signal(intbv(0)[2:])

    @always_seq(clk.posedge, reset=rst)
    def latch():
        # per-instruction parameters, beside the sequencer's per-word registers, into which each
        # word's control samples them. Like the sequencer's, they take the decoded fields whenever
        # the sequencer is free, so `start` does not enable them
        if not seq_valid or seq_last:
            s_mul.next = dec.func == int(isa.EwFunc.MUL)
            # an add shifts at most one operand (isa.check_legal): which one, and by how much
            s_shb.next = dec.func != int(isa.EwFunc.MUL) and dec.shift1 != 0
            if dec.shift0 != 0:
                s_sh.next = dec.shift0[wb:]
            else:
                s_sh.next = dec.shift1[wb:]
            s_s2.next = dec.shift2[s2b:]
            s_region.next = dec.dst_region

    seq_free_next, seq_free_next_if_start = Signal(bool(0)), Signal(bool(0))
    seq = vector_sequencer(cfg, clk, rst, ctl.start, dec, rd_a, rd_b, seq_valid, seq_last, seq_count, seq_waddr,
                           seq_free_next, seq_free_next_if_start)
    handshake = stream_control(clk, rst, ctl, seq_free_next, seq_free_next_if_start, Signal(bool(0)), Signal(bool(0)))

    # ---- control of each word, beside its data ------------------------------------------------------
    # packed (LSB first): valid, last, count, waddr, region, mul, shb, sh, s2
    nb = lb + 1
    ctl0 = ConcatSignal(s_s2, s_sh, s_shb, s_mul, s_region, seq_waddr, seq_count, seq_last, seq_valid)
    o_valid, o_last, o_count = 0, 1, 2
    o_waddr = o_count + nb
    o_region = o_waddr + 16
    o_mul = o_region + 2
    o_shb = o_mul + 1
    o_sh = o_shb + 1
    o_s2 = o_sh + wb
    cw = len(ctl0)
    assert o_s2 + s2b == cw
    L = READ_LATENCY
    t_ops, t_prod, t_sum, t_sat = L, L + 1, L + 2, L + 3
    line = [Signal(intbv(0)[cw:]) for _ in range(t_sat - 1)]
    # decoded control, registered at the tap of its stage (cycle t + X for the word of cycle t)
    k_mul, k_shb = Signal(bool(0)), Signal(bool(0))
    k_zero = Signal(bool(0))                              # shift2 = 2W: every result rounds to 0
    k_pow = Signal(intbv(0)[w + 1:])                      # 2^sh
    k_rc = Signal(intbv(0)[2 * w - 1:])                   # 2^(shift2-1), 0 for shift2 = 0 or 2W
    k_coarse = Signal(bool(0))                            # W <= shift2 < 2W
    k_mask = Signal(intbv(0)[w + 1:])                     # which bit pairs of the sum must agree
    c_sat = Signal(intbv(0)[o_mul:])                      # valid, last, count, waddr, region
    k_fine = Signal(intbv(0)[wb:])                        # shift2 mod W

    @always(clk.posedge)
    def control_line():
        # c_X holds, in cycle t + X, the control of the word presented in cycle t
        s2 = intbv(0)[s2b:]
        if rst:
            for k in range(t_sat - 1):
                line[k].next = 0
            c_sat.next = 0
        else:  # every cycle, like the lanes: with nothing in flight only invalid words move
            line[0].next = ctl0
            for k in range(1, t_sat - 1):
                line[k].next = line[k - 1]
            # stage 1: operands
            k_mul.next = line[t_ops - 2][o_mul]
            k_shb.next = line[t_ops - 2][o_shb]
            s2[:] = line[t_ops - 2][o_s2 + s2b:o_s2]
            k_zero.next = s2 == 2 * w
            k_pow.next = 1 << line[t_ops - 2][o_sh + wb:o_sh]
            # stage 2: rounding constant
            s2[:] = line[t_prod - 2][o_s2 + s2b:o_s2]
            if s2 == 0 or s2 >= 2 * w:  # (> 2W only on an invalid word: another kernel's field)
                k_rc.next = 0
            else:
                k_rc.next = 1 << (s2 - 1)
            # stage 3: coarse shift
            s2[:] = line[t_sum - 2][o_s2 + s2b:o_s2]
            k_coarse.next = s2[wb] and s2 != 2 * w
            if s2 >= w + 1:  # pairs from bit shift2 + W - 1 up, none past the top bit
                k_mask.next = 0
            else:
                k_mask.next = ((1 << (w + 1)) - 1) ^ ((1 << s2) - 1)
            # stage 4: fine shift, write
            s2[:] = line[t_sat - 2][o_s2 + s2b:o_s2]
            k_fine.next = s2[wb:]
            c_sat.next = line[t_sat - 2][o_mul:]

    wide = 1 << (2 * w)
    r2 = [Signal(intbv(0, min=-wide, max=wide)) for _ in range(p)]
    mism = [Signal(intbv(0)[w + 1:]) for _ in range(p)]
    neg = Signal(intbv(0)[p:])
    lanes = ew_lanes(cfg, clk, rd_a.data, rd_b.data, k_mul, k_shb, k_zero, k_pow, k_rc, k_coarse, k_mask, r2,
                     mism, neg)

    top_code, bottom_code = cfg.data_max, cfg.data_min & ((1 << w) - 1)
    done_d = Signal(bool(0))

    @always_comb
    def done_ahead():
        ctl.done_soon.next = done_d
        ctl.done_soon_next.next = c_sat[o_valid] and c_sat[o_last]

    # The lanes of the word being written that saturated: (a bit pair disagrees) AND (a lane of
    # the word), in a register with no reset or enable. Written beside the result's saturation,
    # the zero test of mism became the flip-flops' synchronous reset (an LSR input, 0.29 ns more
    # setup, with valid and rst): 3 of the late endpoints of 898aceb seed 1. Two registers ANDed
    # in front of the count instead put the AND on the count's path (clip -> the count's
    # register, 7.72 ns with a 3.06 ns net, the critical path of a placement at 129.5 MHz).
    word_lanes = Signal(intbv(0)[p:])   # the lanes of the word in stage 4 (none if not valid or in reset)
    clipped = Signal(intbv(0)[p:])

    @always_seq(clk.posedge, reset=rst)
    def saturate_write():
        # stage 4: the rounded result r2 >> fine, or the saturation code when a bit pair disagrees
        t = intbv(0, min=-wide, max=wide)
        count = intbv(0, min=0, max=p + 1)
        valid = bool(c_sat[o_valid])
        wr.en.next = valid
        done_d.next = ctl.done_soon_next
        ctl.done.next = done_d
        if valid:
            count[:] = c_sat[o_waddr:o_count]
            wr.addr.next = c_sat[o_region:o_waddr]
            wr.region.next = c_sat[o_mul:o_region]
            wr.count.next = count
            for lane in range(p):
                lo = lane * w
                t[:] = r2[lane] >> k_fine
                if mism[lane] == 0:
                    wr.data.next[lo + w:lo] = t[w:]
                elif neg[lane]:
                    wr.data.next[lo + w:lo] = bottom_code
                else:
                    wr.data.next[lo + w:lo] = top_code

    @always_comb
    def lanes_of_word():
        lanes = intbv(0)[p:]
        count = intbv(0, min=0, max=p + 1)
        count[:] = c_sat[o_waddr:o_count]
        for lane in range(p):
            lanes[lane] = c_sat[o_valid] and not rst and lane < count
        word_lanes.next = lanes

    @always(clk.posedge)
    def saturated_lanes():
        m = intbv(0)[p:]
        for lane in range(p):
            m[lane] = mism[lane] != 0
        clipped.next = m & word_lanes

    count_clipped = popcount(clk, rst, clipped, sat_count)

    return (latch, seq, handshake, control_line, lanes, done_ahead, saturate_write, lanes_of_word, saturated_lanes,
            count_clipped)


@block
def popcount(clk, rst, bits, count):
    """count = number of set bits of `bits`, registered: a balanced tree of additions, one
    combinational level per halving (a chain of additions would be as deep as the word).

    Ports: clk, rst (sync, clears count); bits (in, a power-of-two width); count (out).
    Latency 1. Reset: synchronous."""
    n = len(bits)
    assert n & (n - 1) == 0 and count.max >= n + 1
    insts = []
    level, width = bits, 1  # packed fields of `width` bits
    while len(level) > width:
        fields = len(level) // width // 2
        nxt = Signal(intbv(0)[fields * (width + 1):])
        insts.append(_pair_sums(level, nxt, width, fields))
        level, width = nxt, width + 1

    @always_seq(clk.posedge, reset=rst)
    def register():
        count.next = level

    return insts, register


@block
def _pair_sums(cur, nxt, width: int, fields: int):
    """nxt field i = cur field 2i + cur field 2i+1 (fields of `width` bits, results one bit wider).
    Ports: cur (in), nxt (out). Latency 0 (combinational). No reset."""

    ow = width + 1

    @always_comb
    def add():
        out = intbv(0)[fields * ow:]
        for i in range(fields):
            lo = 2 * i * width
            hi = (2 * i + 1) * width
            olo = i * ow
            out[olo + ow:olo] = cur[lo + width:lo] + cur[hi + width:hi]
        nxt.next = out

    return add
