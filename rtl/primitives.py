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
    d in, q out. Latency 1."""
    assert len(d) == len(q)

    @always_seq(clk.posedge, reset=rst)
    def step():
        if en:
            q.next = d

    return step


@block
def delay_line(clk, rst, en, d, q, depth: int):
    """`depth` >= 1 pipeline registers in a row. Ports as pipe_reg. Latency `depth`.

    One process for the whole line (an event-driven simulator pays per process woken)."""
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
def adder_node(clk, rst, en, a, b, s):
    """Registered signed sum s = a + b. Ports: clk, rst (clears s), en (advance), a, b in, s out.
    Latency 1."""
    assert s.min <= a.min + b.min and s.max >= a.max + b.max - 1

    @always_seq(clk.posedge, reset=rst)
    def add():
        if en:
            s.next = a + b

    return add


@block
def adder_tree(clk, rst, en, terms, total):
    """Registered binary adder tree over a power-of-two list of signed signals.

    Ports: clk, rst (clears the partial sums); en (advance); terms (list of signals in); total
    (out, wide enough for the sum). Latency log2(len(terms)) cycles, one new set of terms per
    cycle."""
    n = len(terms)
    assert n >= 2 and n & (n - 1) == 0
    insts = []
    level = list(terms)
    while len(level) > 1:
        # exact range of a pair sum: [a.min + b.min, (a.max - 1) + (b.max - 1)]
        lo = level[0].min + level[1].min
        hi = level[0].max + level[1].max - 1
        nxt = [total] if len(level) == 2 else [Signal(intbv(0, min=lo, max=hi)) for _ in range(len(level) // 2)]
        for i, s in enumerate(nxt):
            insts.append(adder_node(clk, rst, en, level[2 * i], level[2 * i + 1], s))
        level = nxt
    return insts


@block
def round_saturate(cfg, clk, rst, en, value, shift, y, sat):
    """y = saturate(round(value / 2^shift)) to the config's data range, rounding to nearest with
    ties toward +inf, computed as ((value >> (shift-1)) + 1) >> 1 so no wide constant is needed.

    Ports: clk, rst (clears the registers); en (advance); value (in, signed); shift (in);
    y (out, data_bits signed); sat (out, y was clipped). Latency 2 (round, saturate)."""
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
