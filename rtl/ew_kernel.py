"""Element-wise (adder) kernel: add with alignment shifts, or multiply; round, saturate. A
pipeline: the next instruction starts as soon as the previous one has presented its last word."""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, always_seq, block, intbv

from . import isa
from .config import ProcessorConfig
from .interfaces import READ_LATENCY
from .vector_unit import stream_control, vector_sequencer


def ew_latency(cfg: ProcessorConfig) -> int:
    """Cycles from the cycle an instruction presents its last word to its done pulse: read
    (READ_LATENCY), shift or multiply (1), sum (1), round (1), saturate (1), write stage (1)."""
    return READ_LATENCY + 5


@block
def ew_lanes(cfg: ProcessorConfig, clk, en, data_a, data_b, is_mul, shift_a, shift, r):
    """The first two stages of all P lanes: r = (a << sh_a) + (b << sh_b), or a*b (a DSP block with
    registered inputs and output). An add shifts at most one operand (the ISA's rule), so each
    lane has one shifter: the operand with the non-zero shift goes through it.

    Ports: clk; en (advance); data_a, data_b (in, P*W-bit words); is_mul, shift_a (a is the shifted
    operand, else b), shift (its shift) (in, for the word in the first stage); r (out, list of P
    signed signals used as an array). Latency 2.
    One process per stage for all lanes. No reset: only valid words are written, by the control
    that travels beside them."""
    p, w = cfg.lanes, cfg.data_bits
    wide = 1 << (2 * w)  # |r| < 2^(2W) for shifts <= W-1 (the ISA's limit)
    prod = [Signal(intbv(0, min=-wide, max=wide)) for _ in range(p)]
    shifted = [Signal(intbv(0, min=-wide, max=wide)) for _ in range(p)]
    other = [Signal(intbv(0, min=cfg.data_min, max=cfg.data_max + 1)) for _ in range(p)]
    mul_d = Signal(bool(0))

    @always(clk.posedge)
    def operands():
        x = intbv(0, min=cfg.data_min, max=cfg.data_max + 1)
        if en:
            mul_d.next = is_mul
            for lane in range(p):
                lo = lane * w
                if is_mul:
                    prod[lane].next = data_a[lo + w:lo].signed() * data_b[lo + w:lo].signed()
                else:
                    # one shifter per lane, one shift amount per instruction
                    if shift_a:
                        x[:] = data_a[lo + w:lo].signed()
                        other[lane].next = data_b[lo + w:lo].signed()
                    else:
                        x[:] = data_b[lo + w:lo].signed()
                        other[lane].next = data_a[lo + w:lo].signed()
                    shifted[lane].next = x << shift

    @always(clk.posedge)
    def combine():
        if en:
            for lane in range(p):
                if mul_d:
                    r[lane].next = prod[lane]
                else:
                    r[lane].next = shifted[lane] + other[lane]

    return operands, combine


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
    ew_latency(cfg) cycles after its addresses (its write lands at the end of the done cycle for
    the last word); the next instruction may start in the cycle of the last word (see
    vector_unit.stream_control). Busy cycles per instruction alone: ceil(length/P) + ew_latency(cfg).
    Reset: synchronous: idle, nothing in flight."""
    p, w, lb = cfg.lanes, cfg.data_bits, cfg.lane_bits
    seq_valid, seq_last = Signal(bool(0)), Signal(bool(0))
    seq_count = Signal(intbv(0, min=0, max=p + 1))
    seq_waddr = Signal(intbv(0)[16:])
    s_mul, s_shift_a = Signal(bool(0)), Signal(bool(0))
    s_shift, s_sh_out = [Signal(intbv(0)[6:]) for _ in range(2)]
    s_region = Signal(intbv(0)[2:])

    @always_seq(clk.posedge, reset=rst)
    def latch():
        # per-instruction parameters, beside the sequencer's per-word registers
        if ctl.start:
            s_mul.next = dec.func == int(isa.EwFunc.MUL)
            # an add shifts at most one operand (isa.check_legal): which one, and by how much
            s_shift_a.next = dec.shift0 != 0
            s_shift.next = dec.shift0 if dec.shift0 != 0 else dec.shift1
            s_sh_out.next = dec.shift2
            s_region.next = dec.dst_region

    seq = vector_sequencer(cfg, clk, rst, ctl.start, dec, rd_a, rd_b, seq_valid, seq_last, seq_count, seq_waddr)
    handshake = stream_control(clk, rst, ctl, seq_valid, seq_last, Signal(bool(0)))

    # ---- control of each word, beside its data ------------------------------------------------------
    # packed (LSB first): valid, last, count, waddr, region, mul, shift_a, shift, sh_out
    nb = lb + 1
    ctl0 = ConcatSignal(s_sh_out, s_shift, s_shift_a, s_mul, s_region, seq_waddr, seq_count, seq_last, seq_valid)
    o_valid, o_last, o_count = 0, 1, 2
    o_waddr = o_count + nb
    o_region = o_waddr + 16
    o_mul = o_region + 2
    o_shift_a = o_mul + 1
    o_shift = o_shift_a + 1
    o_sh_out = o_shift + 6
    cw = len(ctl0)
    assert o_sh_out + 6 == cw
    t_ops, t_round, t_sat = READ_LATENCY, READ_LATENCY + 2, READ_LATENCY + 3
    c_ops, c_round, c_sat = [Signal(intbv(0)[cw:]) for _ in range(3)]
    line = [Signal(intbv(0)[cw:]) for _ in range(t_sat - 1)]

    @always(clk.posedge)
    def control_line():
        # c_X holds, in cycle t + X, the control of the word presented in cycle t
        if rst:
            for k in range(t_sat - 1):
                line[k].next = 0
            c_ops.next = 0
            c_round.next = 0
            c_sat.next = 0
        elif ctl.busy:
            line[0].next = ctl0
            for k in range(1, t_sat - 1):
                line[k].next = line[k - 1]
            c_ops.next = line[t_ops - 2]
            c_round.next = line[t_round - 2]
            c_sat.next = line[t_sat - 2]

    wide = 1 << (2 * w)
    r = [Signal(intbv(0, min=-wide, max=wide)) for _ in range(p)]
    lanes = ew_lanes(cfg, clk, ctl.busy, rd_a.data, rd_b.data, c_ops(o_mul), c_ops(o_shift_a),
                     c_ops(o_sh_out, o_shift), r)

    tq = [Signal(intbv(0, min=-2 * wide, max=2 * wide)) for _ in range(p)]
    top_code, bottom_code = cfg.data_max, cfg.data_min & ((1 << w) - 1)
    over_at, under_at = 2 * cfg.data_max + 1, 2 * cfg.data_min - 2
    tq_lo = w + 1
    done_d = Signal(bool(0))

    @always(clk.posedge)
    def round_lanes():
        # round to nearest, ties up: ((r >> (s-1)) + 1) >> 1
        shift = intbv(0)[6:]
        if ctl.busy:
            shift[:] = c_round[o_sh_out + 6:o_sh_out]
            for lane in range(p):
                if shift == 0:
                    tq[lane].next = r[lane] << 1
                else:
                    tq[lane].next = r[lane] >> (shift - 1)

    clipped = Signal(intbv(0)[p:])  # lanes of the word being written that saturated

    @always_seq(clk.posedge, reset=rst)
    def saturate_write():
        # (tq + 1) >> 1 > max  <=>  tq >= 2*max + 1;  (tq + 1) >> 1 < min  <=>  tq <= 2*min - 2
        low = intbv(0)[tq_lo + 1:]
        count = intbv(0, min=0, max=p + 1)
        clip = intbv(0)[p:]
        valid = bool(c_sat[o_valid])
        wr.en.next = valid
        done_d.next = valid and bool(c_sat[o_last])
        ctl.done.next = done_d
        clip[:] = 0
        if valid:
            count[:] = c_sat[o_waddr:o_count]
            wr.addr.next = c_sat[o_region:o_waddr]
            wr.region.next = c_sat[o_mul:o_region]
            wr.count.next = count
            for lane in range(p):
                lo = lane * w
                if tq[lane] >= over_at:
                    wr.data.next[lo + w:lo] = top_code
                    clip[lane] = lane < count
                elif tq[lane] <= under_at:
                    wr.data.next[lo + w:lo] = bottom_code
                    clip[lane] = lane < count
                else:
                    low[:] = tq[lane][tq_lo:] + 1
                    wr.data.next[lo + w:lo] = low[w + 1:1]
        clipped.next = clip

    count_clipped = popcount(clk, rst, clipped, sat_count)

    return latch, seq, handshake, control_line, lanes, round_lanes, saturate_write, count_clipped


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
