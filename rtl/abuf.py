"""Activation/state buffer: P banks of elements with unaligned P-wide read and write ports."""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, block, intbv

from .config import ProcessorConfig


@block
def abuf_read_rotate(cfg: ProcessorConfig, clk, port, bank_qs):
    """Rotate registered bank outputs to lane order and register them on `port.data`: lane l
    takes bank (addr + l) mod P.

    Ports: clk; port (AbufReadPort: en, addr in, data out); bank_qs (in, list of the P banks'
    registered elements for this port).
    Latency: data is valid 2 cycles after an enabled addr (bank read + this register), held
    otherwise. No reset: data only matters when a kernel has presented an address."""
    p, w = cfg.lanes, cfg.data_bits
    assert len(bank_qs) == p and len(port.data) == p * w
    banks_q = ConcatSignal(*reversed(bank_qs))
    off_q = Signal(intbv(0, min=0, max=p))
    en_q = Signal(bool(0))
    mask = p - 1

    @always(clk.posedge)
    def track():
        # a lane-by-lane selection in the clocked process, not a barrel shifter on a wire: an
        # event-driven simulator would re-evaluate a shifter for every bank output that changes
        en_q.next = port.en
        if port.en:
            off_q.next = port.addr & mask
        if en_q:
            for lane in range(p):
                lo = lane * w
                src = ((off_q + lane) & mask) * w
                port.data.next[lo + w:lo] = banks_q[src + w:src]

    return track


@block
def abuf_bank(cfg: ProcessorConfig, b: int, clk, wports, rports, q0, q1, q2, q3, q4):
    """Bank b: elements e with e mod P == b, at row e div P.

    Ports: clk; wports (4 AbufWritePort, in); rports (5 AbufReadPort, en and addr in); q0..q4
    (out, this bank's element for each read port, registered). Signals go in one by one, not in
    lists: the converter would turn a list into a memory.
    Latency: write at the edge ending the cycle of `en`; read data 1 cycle after an enabled
    address. Later write ports win if two write the same element in one cycle (the issue unit
    prevents it). No reset: contents survive reset, like a block RAM; converted Verilog
    initialises them to 0."""
    p, w = cfg.lanes, cfg.data_bits
    assert len(wports) == 4 and len(rports) == 5
    lb = cfg.lane_bits
    mask = p - 1
    rows = cfg.abuf_words
    mem = [Signal(intbv(0)[w:]) for _ in range(rows)]
    w0, w1, w2, w3 = wports
    r0, r1, r2, r3, r4 = rports

    @always(clk.posedge)
    def access():
        # A port starting at element a covers bank b at row a div P, or the next row for banks
        # below a's own bank; the bank takes the port's lane (b - a) mod P.
        if w0.en and ((b - (w0.addr & mask)) & mask) < w0.count:
            src = ((b - (w0.addr & mask)) & mask) * w
            mem[(w0.addr >> lb) + (b < (w0.addr & mask))].next = w0.data[src + w:src]
        if w1.en and ((b - (w1.addr & mask)) & mask) < w1.count:
            src = ((b - (w1.addr & mask)) & mask) * w
            mem[(w1.addr >> lb) + (b < (w1.addr & mask))].next = w1.data[src + w:src]
        if w2.en and ((b - (w2.addr & mask)) & mask) < w2.count:
            src = ((b - (w2.addr & mask)) & mask) * w
            mem[(w2.addr >> lb) + (b < (w2.addr & mask))].next = w2.data[src + w:src]
        if w3.en and ((b - (w3.addr & mask)) & mask) < w3.count:
            src = ((b - (w3.addr & mask)) & mask) * w
            mem[(w3.addr >> lb) + (b < (w3.addr & mask))].next = w3.data[src + w:src]
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
    # qs[j][b]: bank b's registered element for read port j
    qs = [[Signal(intbv(0)[w:]) for _ in range(p)] for _ in rports]
    for b in range(p):
        insts.append(abuf_bank(cfg, b, clk, wports, rports, *[q[b] for q in qs]))
    for j, port in enumerate(rports):
        insts.append(abuf_read_rotate(cfg, clk, port, qs[j]))
    return insts
