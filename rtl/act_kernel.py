"""Activation kernel: sigmoid and tanh of P elements per cycle from one interpolated table."""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always_comb, always_seq, block, intbv

from .config import ProcessorConfig
from .lut import diff_bits, sigmoid_table
from .primitives import delay_line, round_saturate
from .vector_unit import vector_sequencer, vector_writeback

# Cycles from a word's read address to its result entering the write-back register:
# buffer read (2), index (1), table (1), interpolate (1), symmetry+round (1), saturate (1).
ACT_LANE_LATENCY = 7


@block
def act_lane(cfg: ProcessorConfig, clk, rst, en, lane: int, data, is_tanh, idx_shift, out_shift, y):
    """One lane: y = sigmoid or tanh of the lane's element.

    Ports: clk, rst (clears the stage registers); en (advance); data (in, P*W-bit word); is_tanh, idx_shift
    (= shift0), out_shift (= 16 + lut_frac_bits - shift1) in, held for the whole instruction;
    y (out, W-bit result). Latency 5 cycles from data."""
    w, fb = cfg.data_bits, cfg.lut_frac_bits
    depth = cfg.lut_depth
    vb = cfg.LUT_VALUE_BITS
    db = diff_bits(cfg)
    values, diffs = sigmoid_table(cfg)
    rom = tuple((v << db) | d for v, d in zip(values, diffs))
    lo, hi = lane * w, (lane + 1) * w
    one = 1 << (vb + fb)

    x = Signal(intbv(0, min=cfg.data_min, max=cfg.data_max + 1))
    mag = Signal(intbv(0, min=0, max=-cfg.data_min + 1))
    q = Signal(intbv(0)[w + 2 * fb:])
    idx = Signal(intbv(0, min=0, max=depth + 1))
    frac = Signal(intbv(0)[max(fb, 1):])
    neg1, neg2, neg3 = [Signal(bool(0)) for _ in range(3)]
    frac2 = Signal(intbv(0)[max(fb, 1):])
    entry = Signal(intbv(0)[vb + db:])
    interp = Signal(intbv(0, min=0, max=one))  # sigmoid(|x|) in Q0.(16+fb)
    sym = Signal(intbv(0, min=-one, max=one + 1))

    @always_comb
    def magnitude():
        x.next = data[hi:lo].signed()

    @always_comb
    def absolute():
        if x < 0:
            mag.next = -x
        else:
            mag.next = x

    @always_comb
    def scale():
        q.next = (mag << (2 * fb)) >> idx_shift

    @always_seq(clk.posedge, reset=rst)
    def index():
        if en:
            if (q >> fb) >= depth:
                idx.next = depth
                frac.next = 0
            else:
                idx.next = q >> fb
                frac.next = q & ((1 << fb) - 1)
            neg1.next = x < 0

    @always_seq(clk.posedge, reset=rst)
    def table():
        if en:
            entry.next = rom[idx]
            frac2.next = frac
            neg2.next = neg1

    @always_seq(clk.posedge, reset=rst)
    def interpolate():
        if en:
            interp.next = (entry[vb + db:db] << fb) + entry[db:] * frac2
            neg3.next = neg2

    @always_comb
    def symmetry():
        # sigmoid(-x) = 1 - sigmoid(x); tanh(x) = 2*sigmoid(2x) - 1 (the index already holds 2|x|),
        # tanh(-x) = -tanh(x)
        if is_tanh:
            if neg3:
                sym.next = one - 2 * interp
            else:
                sym.next = 2 * interp - one
        else:
            if neg3:
                sym.next = one - interp
            else:
                sym.next = interp

    # only 1.0 can exceed the largest code: not a range overflow, so `clipped` is not counted
    clipped = Signal(bool(0))
    output = round_saturate(cfg, clk, rst, en, sym, out_shift, y, clipped)

    return magnitude, absolute, scale, index, table, interpolate, symmetry, output


@block
def act_kernel(cfg: ProcessorConfig, clk, rst, ctl, dec, rd, wr):
    """Executes ACT (func 0 sigmoid, 1 tanh) over `length` elements, P per cycle.

    Ports:
      clk, rst  clock; synchronous active-high reset
      ctl       KernelCtl: start in; busy, done out
      dec       Decoded fields latched at start: func, dst, src0, length, shift0, shift1
      rd        AbufReadPort (addr out, data in); wr AbufWritePort out
    Timing: words of P elements, one per cycle from the cycle after start; a word is written
    ACT_LANE_LATENCY + 1 cycles after its address; done pulses the cycle after the last write.
    Busy cycles: ceil(length/P) + ACT_LANE_LATENCY + 2.
    """
    p, w = cfg.lanes, cfg.data_bits
    vb, fb = cfg.LUT_VALUE_BITS, cfg.lut_frac_bits
    is_tanh = Signal(bool(0))
    idx_shift = Signal(intbv(0)[6:])
    out_shift = Signal(intbv(0, min=0, max=vb + fb + 1))

    @always_seq(clk.posedge, reset=rst)
    def latch():
        if ctl.start:
            is_tanh.next = dec.func == 1
            idx_shift.next = dec.shift0
            out_shift.next = vb + fb - dec.shift1

    seq_valid = Signal(bool(0))
    seq_count = Signal(intbv(0, min=0, max=p + 1))
    unused_addr = Signal(intbv(0)[16:])
    unused_en = Signal(bool(0))
    seq = vector_sequencer(cfg, clk, rst, ctl.start, dec.length, dec.src0, dec.src0, rd.addr, unused_addr,
                           rd.en, unused_en, seq_valid, seq_count)
    ys = [Signal(intbv(0, min=cfg.data_min, max=cfg.data_max + 1)) for _ in range(p)]
    lanes = [act_lane(cfg, clk, rst, ctl.busy, lane, rd.data, is_tanh, idx_shift, out_shift, ys[lane])
             for lane in range(p)]
    res_valid = Signal(bool(0))
    res_count = Signal(intbv(0, min=0, max=p + 1))
    follow = [delay_line(clk, rst, ctl.busy, seq_valid, res_valid, ACT_LANE_LATENCY),
              delay_line(clk, rst, ctl.busy, seq_count, res_count, ACT_LANE_LATENCY)]
    result = ConcatSignal(*reversed(ys))
    wb = vector_writeback(cfg, clk, rst, ctl, dec.dst, dec.length, res_valid, res_count, result, wr)
    return latch, seq, lanes, follow, wb
