"""Activation/state buffer: P banks of elements with unaligned P-wide read and write ports."""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, intbv

from .config import ProcessorConfig


@block
def abuf_write_rotate(cfg: ProcessorConfig, port, rot):
    """Rotate a write port's lanes to bank order: bank b receives lane (b - addr) mod P.

    Ports: port (AbufWritePort, in), rot (out, lanes x W bits). Combinational, no reset."""
    p, w = cfg.lanes, cfg.data_bits
    assert len(port.data) == p * w and len(rot) == p * w
    both = ConcatSignal(port.data, port.data)
    shifted = Signal(intbv(0)[2 * p * w:])
    mask = p - 1

    @always_comb
    def shift():
        shifted.next = both >> (((p - (port.addr & mask)) & mask) * w)

    @always_comb
    def take():
        rot.next = shifted[p * w:]

    return shift, take


@block
def abuf_read_rotate(cfg: ProcessorConfig, clk, port, bank_qs):
    """Rotate registered bank outputs to lane order and register them on `port.data`.

    Ports: clk; port (AbufReadPort: en, addr in, data out); bank_qs (in, list of the P banks'
    registered elements for this port).
    Latency: data is valid 2 cycles after an enabled addr (bank read + this register). No reset:
    data only matters when a kernel has presented an address."""
    p, w = cfg.lanes, cfg.data_bits
    assert len(bank_qs) == p and len(port.data) == p * w
    # the bank elements twice over (not a concat of a concat: the converter would leave the
    # inner one undriven); a right shift by off*W then yields lanes off, off+1, ...
    both = ConcatSignal(*reversed(bank_qs), *reversed(bank_qs))
    shifted = Signal(intbv(0)[2 * p * w:])
    off_q = Signal(intbv(0, min=0, max=p))
    en_q = Signal(bool(0))
    mask = p - 1

    @always(clk.posedge)
    def track():
        en_q.next = port.en
        if port.en:
            off_q.next = port.addr & mask
        if en_q:
            port.data.next = shifted[p * w:]

    @always_comb
    def shift():
        shifted.next = both >> (off_q * w)

    return track, shift


@block
def abuf_bank(cfg: ProcessorConfig, b: int, clk, wports, d0, d1, d2, d3, rports, q0, q1, q2, q3, q4):
    """Bank b: elements e with e mod P == b, at row e div P.

    Ports: clk; wports (4 AbufWritePort) with their bank-order data d0..d3; rports (5
    AbufReadPort, addr only); q0..q4 (out, this bank's element for each read port, registered).
    Signals go in one by one, not in lists: the converter would turn a list into a memory.
    Latency: write at the edge ending the cycle of `en`; read data 1 cycle after the address.
    Later write ports win if two write the same element in one cycle (the issue unit prevents it).
    No reset: contents survive reset, like a block RAM; converted Verilog initialises them to 0."""
    p, w = cfg.lanes, cfg.data_bits
    assert len(wports) == 4 and len(rports) == 5
    lb = cfg.lane_bits
    mask = p - 1
    rows = cfg.abuf_words
    mem = [Signal(intbv(0)[w:]) for _ in range(rows)]
    lo, hi = b * w, (b + 1) * w
    w0, w1, w2, w3 = wports
    r0, r1, r2, r3, r4 = rports

    @always(clk.posedge)
    def access():
        # A port starting at element a covers bank b at row a div P, or the next row for banks
        # below a's own bank; the bank's lane is (b - a) mod P.
        if w0.en and ((b - (w0.addr & mask)) & mask) < w0.count:
            mem[(w0.addr >> lb) + (b < (w0.addr & mask))].next = d0[hi:lo]
        if w1.en and ((b - (w1.addr & mask)) & mask) < w1.count:
            mem[(w1.addr >> lb) + (b < (w1.addr & mask))].next = d1[hi:lo]
        if w2.en and ((b - (w2.addr & mask)) & mask) < w2.count:
            mem[(w2.addr >> lb) + (b < (w2.addr & mask))].next = d2[hi:lo]
        if w3.en and ((b - (w3.addr & mask)) & mask) < w3.count:
            mem[(w3.addr >> lb) + (b < (w3.addr & mask))].next = d3[hi:lo]
        if r0.en:
            q0.next = mem[((r0.addr >> lb) + (b < (r0.addr & mask))) & (rows - 1)]
        if r1.en:
            q1.next = mem[((r1.addr >> lb) + (b < (r1.addr & mask))) & (rows - 1)]
        if r2.en:
            q2.next = mem[((r2.addr >> lb) + (b < (r2.addr & mask))) & (rows - 1)]
        if r3.en:
            q3.next = mem[((r3.addr >> lb) + (b < (r3.addr & mask))) & (rows - 1)]
        if r4.en:
            q4.next = mem[((r4.addr >> lb) + (b < (r4.addr & mask))) & (rows - 1)]

    return access


@block
def abuf(cfg: ProcessorConfig, clk, rd_fc, rd_act, rd_ewa, rd_ewb, rd_dma, wr_fc, wr_act, wr_ew, wr_dma):
    """The activation/state buffer: `cfg.abuf_words` rows of P elements in P banks.

    Ports: clk; five AbufReadPort (FC, ACT, EW operand a, EW operand b, DMA store) and four
    AbufWritePort (FC, ACT, EW, DMA load). Every port reaches P consecutive elements from any
    element address in one cycle. Read latency 2 cycles; writes land at the clock edge.
    No reset (memory contents)."""
    p, w = cfg.lanes, cfg.data_bits
    rports = (rd_fc, rd_act, rd_ewa, rd_ewb, rd_dma)
    wports = (wr_fc, wr_act, wr_ew, wr_dma)
    insts = []
    wrots = []
    for port in wports:
        rot = Signal(intbv(0)[p * w:])
        wrots.append(rot)
        insts.append(abuf_write_rotate(cfg, port, rot))
    # qs[j][b]: bank b's registered element for read port j
    qs = [[Signal(intbv(0)[w:]) for _ in range(p)] for _ in rports]
    for b in range(p):
        insts.append(abuf_bank(cfg, b, clk, wports, *wrots, rports, *[q[b] for q in qs]))
    for j, port in enumerate(rports):
        insts.append(abuf_read_rotate(cfg, clk, port, qs[j]))
    return insts
