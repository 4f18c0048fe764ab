"""Small building blocks: RAM, pipeline delay, registered adder tree."""
from __future__ import annotations

from myhdl import Signal, always, always_comb, always_seq, block, intbv


@block
def ram(clk, port, depth: int):
    """Simple dual-port RAM, `depth` words of len(port.wdata) bits.

    Ports: clk; port (RamPort): we/waddr/wdata write at the clock edge; raddr in, rdata out.
    Latency: rdata holds mem[raddr] one cycle after raddr (read-before-write on a collision).
    No reset: contents survive reset like a block RAM; converted Verilog initialises them to 0."""
    width = len(port.wdata)
    assert len(port.rdata) == width and 2 ** len(port.raddr) >= depth
    mem = [Signal(intbv(0)[width:]) for _ in range(depth)]

    @always(clk.posedge)
    def access():
        if port.we:
            mem[port.waddr].next = port.wdata
        port.rdata.next = mem[port.raddr]

    return access


@block
def pipe_reg(clk, rst, en, d, q):
    """One pipeline register. Ports: clk, rst (sync, active high, clears q), en (in: advance;
    pipelines hold while their kernel is idle, which costs an event-driven simulator nothing),
    d in, q out. Latency 1.
    Reset: synchronous, clears q."""
    assert len(d) == len(q)

    @always_seq(clk.posedge, reset=rst)
    def step():
        if en:
            q.next = d

    return step


@block
def delay_line(clk, rst, en, d, q, depth: int):
    """`depth` >= 1 pipeline registers in a row. Ports as pipe_reg. Latency `depth`.

    One process for the whole line (an event-driven simulator pays per process woken).

    Reset: synchronous, clears every stage."""
    assert depth >= 1 and len(d) == len(q)
    if depth == 1:
        return pipe_reg(clk, rst, en, d, q)
    regs = [Signal(d.val) for _ in range(depth - 1)]

    @always(clk.posedge)
    def shift():
        if rst:
            for i in range(depth - 1):
                regs[i].next = 0
            q.next = 0
        elif en:
            regs[0].next = d
            for i in range(1, depth - 1):
                regs[i].next = regs[i - 1]
            q.next = regs[depth - 2]

    return shift


@block
def adder_tree(clk, rst, en, terms, total):
    """Registered binary adder tree over a power-of-two list of signed signals, one process per
    level (the list is used as an array).

    Ports: clk, rst (clears the partial sums); en (advance); terms (list of signals in, used as
    an array); total (out, wide enough for the sum). Latency log2(len(terms)) cycles, one new set
    of terms per cycle.
    Reset: synchronous, clears the partial sums."""
    n = len(terms)
    assert n >= 2 and n & (n - 1) == 0
    lo = sum(t.min for t in terms)
    hi = sum(t.max - 1 for t in terms) + 1
    assert total.min <= lo and total.max >= hi
    insts = []
    level = terms
    while len(level) > 2:
        nxt = [Signal(intbv(0, min=lo, max=hi)) for _ in range(len(level) // 2)]
        insts.append(_adder_level(clk, rst, en, level, nxt))
        level = nxt
    insts.append(_adder_last(clk, rst, en, level[0], level[1], total))
    return insts


@block
def _adder_level(clk, rst, en, cur, nxt):
    """nxt[i] = cur[2i] + cur[2i+1], registered. Latency 1.
        Ports: clk, rst, en (advance), cur (in), nxt (out), lists used as arrays. Reset: synchronous, clears nxt."""
    m = len(nxt)

    @always(clk.posedge)
    def add():
        if rst:
            for i in range(m):
                nxt[i].next = 0
        elif en:
            for i in range(m):
                nxt[i].next = cur[2 * i] + cur[2 * i + 1]

    return add


@block
def _adder_last(clk, rst, en, a, b, total):
    """total = a + b, registered. Latency 1.
        Ports: clk, rst, en (advance), a, b (in), total (out). Reset: synchronous, clears total."""

    @always_seq(clk.posedge, reset=rst)
    def add():
        if en:
            total.next = a + b

    return add


@block
def round_saturate(cfg, clk, rst, en, value, shift, y, sat):
    """y = saturate(round(value / 2^shift)) to the config's data range, rounding to nearest with
    ties toward +inf, computed as ((value >> (shift-1)) + 1) >> 1 so no wide constant is needed.

    Ports: clk, rst (clears the registers); en (advance); value (in, signed); shift (in);
    y (out, data_bits signed); sat (out, y was clipped). Latency 2 (round, saturate).
    Reset: synchronous, clears both registers."""
    lo, hi = value.min, value.max
    tq = Signal(intbv(0, min=2 * lo, max=2 * hi))
    rounded = Signal(intbv(0, min=lo, max=hi + 1))

    @always_seq(clk.posedge, reset=rst)
    def round_stage():
        if en:
            if shift == 0:
                tq.next = value << 1
            else:
                tq.next = value >> (shift - 1)

    @always_comb
    def half_up():
        rounded.next = (tq + 1) >> 1

    @always_seq(clk.posedge, reset=rst)
    def saturate():
        if en:
            sat.next = 0
            if rounded > cfg.data_max:
                y.next = cfg.data_max
                sat.next = 1
            elif rounded < cfg.data_min:
                y.next = cfg.data_min
                sat.next = 1
            else:
                y.next = rounded

    return round_stage, half_up, saturate


@block
def round_lanes(clk, rst, en, values, shift, tq):
    """First half of round_saturate for all lanes: tq = value << 1 (shift 0) or value >> (shift-1).

    Ports: clk, rst (clears tq); en (advance); values, tq (lists of P signed signals used as
    arrays, in and out); shift (in). Latency 1. One process for all lanes.

    Reset: synchronous, clears tq."""
    p = len(values)

    @always(clk.posedge)
    def round_stage():
        if rst:
            for lane in range(p):
                tq[lane].next = 0
        elif en:
            for lane in range(p):
                if shift == 0:
                    tq[lane].next = values[lane] << 1
                else:
                    tq[lane].next = values[lane] >> (shift - 1)

    return round_stage


@block
def saturate_lanes(cfg, clk, rst, en, tq, result, sat_vec):
    """Second half of round_saturate for all lanes: y = saturate((tq + 1) >> 1), packed.

    Ports: clk, rst (clears the outputs); en (advance); tq (in, list of P signed signals used as
    an array); result (out, P*W-bit word, lane l at bits l*W); sat_vec (out, P bits, lane l was
    clipped). Latency 1. One process for all lanes.

    Reset: synchronous, clears result and sat_vec."""
    p, w = len(tq), cfg.data_bits
    assert len(result) == p * w and len(sat_vec) == p
    mask = (1 << w) - 1
    top, bottom = cfg.data_max, cfg.data_min & mask  # two's-complement bit patterns of the limits

    @always(clk.posedge)
    def saturate():
        if rst:
            result.next = 0
            sat_vec.next = 0
        elif en:
            for lane in range(p):
                lo = lane * w
                # round to nearest, ties up: (tq + 1) >> 1 == floor(v / 2^s + 1/2)
                if ((tq[lane] + 1) >> 1) > cfg.data_max:
                    result.next[lo + w:lo] = top
                    sat_vec.next[lane] = 1
                elif ((tq[lane] + 1) >> 1) < cfg.data_min:
                    result.next[lo + w:lo] = bottom
                    sat_vec.next[lane] = 1
                else:
                    result.next[lo + w:lo] = ((tq[lane] + 1) >> 1) & mask
                    sat_vec.next[lane] = 0

    return saturate
