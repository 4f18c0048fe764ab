"""FC kernel: P MAC lanes along the input vector, adder tree, wide accumulator, round, saturate."""
from __future__ import annotations

from myhdl import Signal, always, always_comb, always_seq, block, intbv, modbv

from .config import ProcessorConfig
from .primitives import adder_tree, delay_line, pipe_reg

# Cycles from presenting a (row, word) address to writing that row's result, minus the adder
# tree's log2(P) levels: wbuf/abuf read (2), product (1), accumulate (1), round (1), saturate (1).
FC_FIXED_LATENCY = 6


@block
def fc_products(cfg: ProcessorConfig, clk, rst, en, act_data, w_data, nvalid, nfirst, seg_shift, prods):
    """All P lanes: prods[l] = a_l*w_l when l < nvalid, else 0 (masks padding and stale buffer
    data); shifted left by seg_shift when l < nfirst (the column belongs to the first segment).

    Ports: clk, rst (clears the products); en (advance); act_data, w_data (in, P*W-bit vectors);
    nvalid, nfirst, seg_shift (in); prods (out, list of P signals used as an array). Latency 1.
    One process for all lanes.
    Reset: synchronous, clears the products."""
    p, w = cfg.lanes, cfg.data_bits

    @always(clk.posedge)
    def mul():
        if rst:
            for lane in range(p):
                prods[lane].next = 0
        elif en:
            for lane in range(p):
                lo = lane * w
                if lane < nvalid and lane < nfirst:
                    prods[lane].next = (act_data[lo + w:lo].signed() * w_data[lo + w:lo].signed()) << seg_shift
                elif lane < nvalid:
                    prods[lane].next = act_data[lo + w:lo].signed() * w_data[lo + w:lo].signed()
                else:
                    prods[lane].next = 0

    return mul


@block
def fc_kernel(cfg: ProcessorConfig, clk, rst, ctl, dec, rd, wr, wram, bram, sat):
    """Executes FC: y[n] = sat(round((bias[b+n] + sum_k W[n,k]*a[src0+k]) >> shift0)).

    Ports:
      clk, rst      clock; synchronous active-high reset (idles the kernel, clears the pipeline)
      ctl           KernelCtl: start in; busy, done out
      dec           Decoded fields latched at start: dst, src0, src1 (weight word address),
                    length (rows), cols (K >= 1), bias, shift0, shift1 and split (the products of
                    columns < split are shifted left by shift1)
      rd            AbufReadPort: addr out, data in (latency 2)
      wr            AbufWritePort out: one result element per row
      wram, bram    RamPort of the weight buffer (raddr out, rdata in) and the bias buffer
      sat           out, one-cycle pulse per saturated result
    Timing: one (row, word) per cycle, ceil(cols/P) words per row; the last result is written
    FC_FIXED_LATENCY + log2(P) cycles after its last word's address; done follows one cycle later.
    Busy cycles per instruction: rows*ceil(cols/P) + FC_FIXED_LATENCY + log2(P) + 1.
    """
    p, w, lb = cfg.lanes, cfg.data_bits, cfg.lane_bits
    assert len(rd.data) == p * w and len(wram.rdata) == p * w and len(bram.rdata) == cfg.BIAS_BITS
    kw_bits = 16 - lb + 1

    # ---- sequencer: the (row, word) whose addresses are presented this cycle -------------------
    rows = Signal(intbv(0)[16:])
    src = Signal(intbv(0)[16:])
    kw = Signal(intbv(0)[kw_bits:])
    kw_start = Signal(intbv(0)[kw_bits:])
    cols = Signal(intbv(0)[17:])
    rem = Signal(intbv(0, min=-(1 << 17), max=1 << 17))  # columns from this word to the row end
    split = Signal(intbv(0)[12:])
    xrem = Signal(intbv(0, min=-(1 << 17), max=1 << 17))  # first-segment columns from this word on
    xrem_next = Signal(intbv(0, min=-(1 << 17), max=1 << 17))
    t0_nfirst = Signal(intbv(0, min=0, max=p + 1))
    row = Signal(intbv(0)[16:])
    word = Signal(intbv(0)[kw_bits:])
    t0_valid, t0_first, t0_last = [Signal(bool(0)) for _ in range(3)]
    t0_nvalid = Signal(intbv(0, min=0, max=p + 1))
    rem_next = Signal(intbv(0, min=-(1 << 17), max=1 << 17))

    @always_comb
    def words_per_row():
        kw_start.next = (dec.cols + (p - 1)) >> lb

    @always_comb
    def read_enable():
        rd.en.next = t0_valid

    @always_comb
    def remaining():
        rem_next.next = rem - p
        xrem_next.next = xrem - p

    @always_seq(clk.posedge, reset=rst)
    def sequencer():
        if ctl.start:
            rows.next = dec.length
            src.next = dec.src0
            cols.next = dec.cols
            kw.next = kw_start
            rd.addr.next = dec.src0
            wram.raddr.next = dec.src1
            bram.raddr.next = dec.bias
            row.next = 0
            word.next = 0
            rem.next = dec.cols
            split.next = dec.split
            xrem.next = dec.split
            t0_nfirst.next = p if dec.split >= p else dec.split
            t0_valid.next = dec.length != 0
            t0_first.next = 1
            t0_last.next = kw_start == 1
            t0_nvalid.next = p if dec.cols >= p else dec.cols
        elif t0_valid:
            wram.raddr.next = wram.raddr + 1
            if t0_last:
                if row == rows - 1:
                    t0_valid.next = 0
                else:
                    row.next = row + 1
                    word.next = 0
                    rd.addr.next = src
                    bram.raddr.next = bram.raddr + 1
                    rem.next = cols
                    xrem.next = split
                    t0_nfirst.next = p if split >= p else split
                    t0_first.next = 1
                    t0_last.next = kw == 1
                    t0_nvalid.next = p if cols >= p else cols
            else:
                word.next = word + 1
                rd.addr.next = rd.addr + p
                rem.next = rem_next
                xrem.next = xrem_next
                if xrem_next >= p:
                    t0_nfirst.next = p
                elif xrem_next > 0:
                    t0_nfirst.next = xrem_next
                else:
                    t0_nfirst.next = 0
                t0_first.next = 0
                t0_last.next = word == kw - 2
                t0_nvalid.next = p if rem_next >= p else rem_next

    # ---- operand alignment: weights/bias arrive 1 cycle after the address, activations 2 -------
    t2_valid, t2_first, t2_last = [Signal(bool(0)) for _ in range(3)]
    t2_nvalid = Signal(intbv(0, min=0, max=p + 1))
    t2_nfirst = Signal(intbv(0, min=0, max=p + 1))
    seg_shift = Signal(intbv(0)[6:])
    w_d = Signal(intbv(0)[p * w:])
    b_d = Signal(intbv(0)[cfg.BIAS_BITS:])
    align = [
        delay_line(clk, rst, ctl.busy, t0_valid, t2_valid, 2),
        delay_line(clk, rst, ctl.busy, t0_first, t2_first, 2),
        delay_line(clk, rst, ctl.busy, t0_last, t2_last, 2),
        delay_line(clk, rst, ctl.busy, t0_nvalid, t2_nvalid, 2),
        delay_line(clk, rst, ctl.busy, t0_nfirst, t2_nfirst, 2),
        pipe_reg(clk, rst, ctl.busy, wram.rdata, w_d),
        pipe_reg(clk, rst, ctl.busy, bram.rdata, b_d),
    ]

    # ---- P products, then the adder tree ----------------------------------------------------------
    pmax = 1 << (2 * w - 2 + (w - 1))  # a product, shifted by up to W-1 (the ISA's limit)
    prods = [Signal(intbv(0, min=-pmax, max=pmax + 1)) for _ in range(p)]
    lanes = fc_products(cfg, clk, rst, ctl.busy, rd.data, w_d, t2_nvalid, t2_nfirst, seg_shift, prods)
    tree_lat = lb + 1  # product register + tree levels
    psum = Signal(intbv(0, min=-pmax * p, max=pmax * p + 1))
    tree = adder_tree(clk, rst, ctl.busy, prods, psum)
    ts_valid, ts_first, ts_last = [Signal(bool(0)) for _ in range(3)]
    b_s = Signal(intbv(0)[cfg.BIAS_BITS:])
    follow = [
        delay_line(clk, rst, ctl.busy, t2_valid, ts_valid, tree_lat),
        delay_line(clk, rst, ctl.busy, t2_first, ts_first, tree_lat),
        delay_line(clk, rst, ctl.busy, t2_last, ts_last, tree_lat),
        delay_line(clk, rst, ctl.busy, b_d, b_s, tree_lat),
    ]

    # ---- accumulate, round, saturate, write ---------------------------------------------------
    half = 1 << (cfg.acc_bits - 1)
    acc = Signal(modbv(0, min=-half, max=half))
    acc_full = Signal(bool(0))
    shift = Signal(intbv(0)[6:])
    tq = Signal(intbv(0, min=-2 * half, max=2 * half))
    tq_valid = Signal(bool(0))
    rounded = Signal(intbv(0, min=-half, max=half))
    out = Signal(intbv(0, min=cfg.data_min, max=cfg.data_max + 1))
    dst = Signal(intbv(0)[16:])
    out_row = Signal(intbv(0)[16:])

    @always_seq(clk.posedge, reset=rst)
    def accumulate():
        if ts_valid:
            if ts_first:
                acc.next = b_s.signed() + psum
            else:
                acc.next = acc + psum
        acc_full.next = ts_valid and ts_last

    @always_seq(clk.posedge, reset=rst)
    def round_stage():
        # round(acc / 2^s) to nearest, ties up == ((acc >> (s-1)) + 1) >> 1, no wide constant
        if ctl.start:
            shift.next = dec.shift0
            seg_shift.next = dec.shift1
        if shift == 0:
            tq.next = acc << 1
        else:
            tq.next = acc >> (shift - 1)
        tq_valid.next = acc_full

    @always_comb
    def half_up():
        rounded.next = (tq + 1) >> 1

    @always_seq(clk.posedge, reset=rst)
    def saturate():
        sat.next = 0
        if rounded > cfg.data_max:
            out.next = cfg.data_max
            sat.next = tq_valid
        elif rounded < cfg.data_min:
            out.next = cfg.data_min
            sat.next = tq_valid
        else:
            out.next = rounded
        wr.en.next = tq_valid

    @always_comb
    def write_port():
        wr.addr.next = dst + out_row
        wr.count.next = 1
        wr.data.next = out[w:]

    @always_seq(clk.posedge, reset=rst)
    def control():
        ctl.done.next = 0
        if ctl.start:
            dst.next = dec.dst
            out_row.next = 0
            ctl.busy.next = 1
            ctl.done.next = dec.length == 0
        elif wr.en:
            out_row.next = out_row + 1
            if out_row == rows - 1:
                ctl.done.next = 1
        if ctl.done and not ctl.start:  # a new instruction may start in the done cycle
            ctl.busy.next = 0

    return (words_per_row, read_enable, remaining, sequencer, align, lanes, tree, follow, accumulate, round_stage,
            half_up, saturate, write_port, control)
