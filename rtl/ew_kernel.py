"""Element-wise (adder) kernel: add with alignment shifts, or multiply; round, saturate."""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always_comb, always_seq, block, intbv

from .config import ProcessorConfig
from .primitives import delay_line, round_saturate
from .vector_unit import vector_sequencer, vector_writeback

# Cycles from a word's read addresses to its result entering the write-back register:
# buffer read (2), add/multiply (1), round (1), saturate (1).
EW_LANE_LATENCY = 5


@block
def ew_lane(cfg: ProcessorConfig, clk, rst, en, lane: int, data_a, data_b, is_mul, sh_a, sh_b, sh_out,
            y, sat):
    """One lane: y = sat(round(((a << sh_a) + (b << sh_b)) >> sh_out)) or sat(round(a*b >> sh_out)).

    Ports: clk, rst (clears the stage registers); en (advance); data_a, data_b (in, P*W-bit words); is_mul,
    sh_a, sh_b, sh_out (in, held for the instruction); y (out, W bits); sat (out, y was clipped,
    valid with y). Latency 3 cycles from data."""
    w = cfg.data_bits
    lo, hi = lane * w, (lane + 1) * w
    wide = 1 << (2 * w)  # |r| < 2^(2W) for shifts <= W-1 (the ISA's limit)
    a = Signal(intbv(0, min=cfg.data_min, max=cfg.data_max + 1))
    b = Signal(intbv(0, min=cfg.data_min, max=cfg.data_max + 1))
    r = Signal(intbv(0, min=-wide, max=wide))

    @always_comb
    def operands():
        a.next = data_a[hi:lo].signed()
        b.next = data_b[hi:lo].signed()

    @always_seq(clk.posedge, reset=rst)
    def combine():
        if en:
            if is_mul:
                r.next = a * b
            else:
                r.next = (a << sh_a) + (b << sh_b)

    output = round_saturate(cfg, clk, rst, en, r, sh_out, y, sat)

    return operands, combine, output


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
    """
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
    ys = [Signal(intbv(0, min=cfg.data_min, max=cfg.data_max + 1)) for _ in range(p)]
    sats = [Signal(bool(0)) for _ in range(p)]
    lanes = [ew_lane(cfg, clk, rst, ctl.busy, lane, rd_a.data, rd_b.data, is_mul, sh_a, sh_b, sh_out, ys[lane],
                     sats[lane]) for lane in range(p)]
    res_valid = Signal(bool(0))
    res_count = Signal(intbv(0, min=0, max=p + 1))
    follow = [delay_line(clk, rst, ctl.busy, seq_valid, res_valid, EW_LANE_LATENCY),
              delay_line(clk, rst, ctl.busy, seq_count, res_count, EW_LANE_LATENCY)]
    result = ConcatSignal(*reversed(ys))
    sat_vec = ConcatSignal(*reversed(sats))

    @always_comb
    def count_saturations():
        n = 0
        for lane in range(p):
            if res_valid and lane < res_count and sat_vec[lane]:
                n += 1
        sat_count.next = n

    wb = vector_writeback(cfg, clk, rst, ctl, dec.dst, dec.length, res_valid, res_count, result, wr)
    return latch, seq, lanes, follow, count_saturations, wb
