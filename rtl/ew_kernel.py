"""Element-wise (adder) kernel: add with alignment shifts, or multiply; round, saturate."""
from __future__ import annotations

from myhdl import Signal, always, always_comb, always_seq, block, intbv

from .config import ProcessorConfig
from .primitives import delay_line, round_lanes, saturate_lanes
from .vector_unit import vector_sequencer, vector_writeback

# Cycles from a word's read addresses to its result entering the write-back register:
# buffer read (2), add/multiply (1), round (1), saturate (1).
EW_LANE_LATENCY = 5


@block
def ew_lanes(cfg: ProcessorConfig, clk, rst, en, data_a, data_b, is_mul, sh_a, sh_b, sh_out, result, sat_vec):
    """All P lanes: y = sat(round(((a << sh_a) + (b << sh_b)) >> sh_out)) or sat(round(a*b >> sh_out)).

    Ports: clk, rst (clears the stage registers); en (advance); data_a, data_b (in, P*W-bit
    words); is_mul, sh_a, sh_b, sh_out (in, held for the instruction); result (out, P*W bits);
    sat_vec (out, P bits: the lane was clipped, valid with result). Latency 3 cycles from data.
    One process per stage for all lanes.

    Reset: synchronous, clears every stage register."""
    p, w = cfg.lanes, cfg.data_bits
    wide = 1 << (2 * w)  # |r| < 2^(2W) for shifts <= W-1 (the ISA's limit)
    r = [Signal(intbv(0, min=-wide, max=wide)) for _ in range(p)]

    @always(clk.posedge)
    def combine():
        if rst:
            for lane in range(p):
                r[lane].next = 0
        elif en:
            for lane in range(p):
                lo = lane * w
                if is_mul:
                    r[lane].next = data_a[lo + w:lo].signed() * data_b[lo + w:lo].signed()
                else:
                    r[lane].next = (data_a[lo + w:lo].signed() << sh_a) + (data_b[lo + w:lo].signed() << sh_b)

    tq = [Signal(intbv(0, min=-2 * wide, max=2 * wide)) for _ in range(p)]
    rounding = round_lanes(clk, rst, en, r, sh_out, tq)
    clipping = saturate_lanes(cfg, clk, rst, en, tq, result, sat_vec)
    return combine, rounding, clipping


@block
def ew_kernel(cfg: ProcessorConfig, clk, rst, ctl, dec, rd_a, rd_b, wr, sat_count):
    """Executes EW (func 0 add, 1 multiply) over `length` elements, P per cycle.

    Ports:
      clk, rst    clock; synchronous active-high reset
      ctl         KernelCtl: start in; busy, done out
      dec         Decoded fields latched at start: func, dst, src0, src1, length, shift0..2
      rd_a, rd_b  AbufReadPort for the two operands; wr AbufWritePort out
      sat_count   out: results clipped this cycle (0..P), counted when written
    Timing: words of P elements, one per cycle from the cycle after start; a word is written
    EW_LANE_LATENCY + 1 cycles after its addresses; done pulses the cycle after the last write.
    Busy cycles: ceil(length/P) + EW_LANE_LATENCY + 2.

    Latency: see Timing. Reset: synchronous, idle."""
    p, w = cfg.lanes, cfg.data_bits
    is_mul = Signal(bool(0))
    sh_a, sh_b, sh_out = [Signal(intbv(0)[6:]) for _ in range(3)]

    @always_seq(clk.posedge, reset=rst)
    def latch():
        if ctl.start:
            is_mul.next = dec.func == 1
            sh_a.next = dec.shift0
            sh_b.next = dec.shift1
            sh_out.next = dec.shift2

    seq_valid = Signal(bool(0))
    seq_count = Signal(intbv(0, min=0, max=p + 1))
    seq = vector_sequencer(cfg, clk, rst, ctl.start, dec.length, dec.src0, dec.src1, rd_a.addr, rd_b.addr,
                           rd_a.en, rd_b.en, seq_valid, seq_count)
    result = Signal(intbv(0)[p * w:])
    sat_vec = Signal(intbv(0)[p:])
    lanes = ew_lanes(cfg, clk, rst, ctl.busy, rd_a.data, rd_b.data, is_mul, sh_a, sh_b, sh_out, result, sat_vec)
    res_valid = Signal(bool(0))
    res_count = Signal(intbv(0, min=0, max=p + 1))
    follow = [delay_line(clk, rst, ctl.busy, seq_valid, res_valid, EW_LANE_LATENCY),
              delay_line(clk, rst, ctl.busy, seq_count, res_count, EW_LANE_LATENCY)]

    @always_comb
    def count_saturations():
        n = 0
        for lane in range(p):
            if res_valid and lane < res_count and sat_vec[lane]:
                n += 1
        sat_count.next = n

    wb = vector_writeback(cfg, clk, rst, ctl, dec.dst, dec.length, res_valid, res_count, result, wr)
    return latch, seq, lanes, follow, count_saturations, wb
