"""Small building blocks: the block RAM of the weight, bias and instruction memories."""
from __future__ import annotations

from myhdl import Signal, always, block, intbv


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
