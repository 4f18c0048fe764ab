"""Small building blocks: the block RAM of the weight, bias and instruction memories."""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, intbv

from .config import clog2
from .interfaces import RamPort

# ECP5 EBR (18 Kbit) aspect ratios: depth -> data width of one block
EBR_WIDTH_AT_DEPTH = {512: 36, 1024: 18, 2048: 9, 4096: 4, 8192: 2, 16384: 1}


def ebr_bank_depth(depth: int, width: int) -> int:
    """The bank depth that builds a depth x width memory from the fewest EBRs (ties: the deepest
    bank, so the fewest banks to select between). A memory of one bank needs no selection after
    the blocks; 4096 x 256 (the default weight RAM) is 2 banks of 2048 x 9-bit blocks (58 EBR, 64 as
    one bank of 4096 x 4), 4096 x 32 one bank of 4096 x 4 (8, as 2048 x 9 would be)."""
    def blocks(bank: int) -> int:
        return -(-depth // bank) * -(-width // EBR_WIDTH_AT_DEPTH[bank])
    return min(EBR_WIDTH_AT_DEPTH, key=lambda bank: (blocks(bank), -bank))


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


PIPELINED_RAM_LATENCY = 3


@block
def _bank_connection(clk, port, bank_port, out, bank: int, banks: int):
    """One bank of a pipelined_ram: its share of the RAM's ports and its output register.

    Ports: clk; port (RamPort) the RAM's; bank_port (RamPort) the bank's ram(): write enable when
    the high write-address bits name this bank, low address bits, data; out: bank_port.rdata one
    cycle later (the register the EBR's OUTREG takes over).
    Latency: the connections are combinational; out is 1 cycle. Reset: none."""
    lo, hi = len(bank_port.raddr), len(port.waddr)
    assert len(out) == len(bank_port.rdata) == len(port.rdata) and hi >= lo

    if banks == 1:
        @always_comb
        def write_enable():
            bank_port.we.next = port.we
    else:
        @always_comb
        def write_enable():
            bank_port.we.next = port.we and port.waddr[hi:lo] == bank

    @always_comb
    def address():
        bank_port.waddr.next = port.waddr[lo:]
        bank_port.wdata.next = port.wdata
        bank_port.raddr.next = port.raddr[lo:]

    @always(clk.posedge)
    def output_register():
        out.next = bank_port.rdata

    return write_enable, address, output_register


@block
def pipelined_ram(clk, port, depth: int):
    """Simple dual-port RAM whose read leaves every block RAM from its output register.

    Ports: as ram(): clk; port (RamPort): we/waddr/wdata write at the clock edge; raddr in, rdata out.
    Latency: rdata holds mem[raddr] PIPELINED_RAM_LATENCY = 3 cycles after raddr: the banks' read
    registers (inside the EBRs), their output registers (the EBRs' own, OUTREG, once
    rtl.synth.pack_ebr_output_registers has moved the flip-flops in), then rdata, a register fed
    by the selection between banks. The depth is split into banks as ebr_bank_depth() says; without
    the pipeline the selection would sit between the EBRs' unregistered outputs (4.4 ns after the
    clock on the -8 part) and the first register.
    Writes: as ram(), to the bank the high address bits name.
    No reset: contents and pipeline survive reset; converted Verilog initialises them to 0."""
    width = len(port.wdata)
    assert len(port.rdata) == width and 2 ** len(port.raddr) >= depth
    bank_depth = min(ebr_bank_depth(depth, width), 1 << len(port.raddr))
    banks = -(-depth // bank_depth)
    bank_ports = [RamPort(bank_depth, width) for _ in range(banks)]
    outs = [Signal(intbv(0)[width:]) for _ in range(banks)]  # the EBRs' output registers
    insts = []

    for k in range(banks):
        insts.append(ram(clk, bank_ports[k], min(bank_depth, depth - k * bank_depth)))
        insts.append(_bank_connection(clk, port, bank_ports[k], outs[k], k, banks))

    if banks == 1:
        only = outs[0]

        @always(clk.posedge)
        def select():
            port.rdata.next = only
    else:
        lo, hi = clog2(bank_depth), len(port.raddr)
        sel1 = Signal(intbv(0, min=0, max=banks))  # the bank of the read in its memory cycle
        sel2 = Signal(intbv(0, min=0, max=banks))  # ... and in its output-register cycle
        outs_all = ConcatSignal(*reversed(outs))
        selected = Signal(intbv(0)[banks * width:])  # the read's bank in the low `width` bits

        @always_comb
        def shift():
            # a shift by a multiple of the width: Yosys keeps only the bank bits' multiplexers
            selected.next = outs_all >> (sel2 * width)

        @always(clk.posedge)
        def select():
            sel1.next = port.raddr[hi:lo]
            sel2.next = sel1
            port.rdata.next = selected[width:]

        insts.append(shift)
    insts.append(select)
    return insts
