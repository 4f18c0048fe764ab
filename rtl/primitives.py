"""Small building blocks: RAM, pipeline delay, registered adder tree."""
from __future__ import annotations

from myhdl import Signal, always, always_seq, block, intbv


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
def pipe_reg(clk, rst, d, q):
    """One pipeline register. Ports: clk, rst (sync, active high, clears q), d in, q out. Latency 1."""
    assert len(d) == len(q)

    @always_seq(clk.posedge, reset=rst)
    def step():
        q.next = d

    return step


@block
def delay_line(clk, rst, d, q, depth: int):
    """`depth` >= 1 pipeline registers in a row. Ports as pipe_reg. Latency `depth`."""
    assert depth >= 1
    stages = [d] + [Signal(d.val) for _ in range(depth - 1)] + [q]
    return [pipe_reg(clk, rst, stages[i], stages[i + 1]) for i in range(depth)]


@block
def adder_node(clk, rst, a, b, s):
    """Registered signed sum s = a + b. Ports: clk, rst (clears s), a, b in, s out. Latency 1."""
    assert s.min <= a.min + b.min and s.max >= a.max + b.max - 1

    @always_seq(clk.posedge, reset=rst)
    def add():
        s.next = a + b

    return add


@block
def adder_tree(clk, rst, terms, total):
    """Registered binary adder tree over a power-of-two list of signed signals.

    Ports: clk, rst (clears the partial sums); terms (list of signals in); total (out, wide enough
    for the sum). Latency log2(len(terms)) cycles, one new set of terms per cycle."""
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
            insts.append(adder_node(clk, rst, level[2 * i], level[2 * i + 1], s))
        level = nxt
    return insts
