"""Activation buffer: three regions, each its own memory with one write port, behind the
kernels' read and write ports.

    region  memory                               read ports (who)              write port (who)
    V       P banks of W bits, one per lane      1 (FC, DMA)                   1 (EW, DMA)
    Z       rows of P*W bits, lane enables       1 (FC, ACT, EW a, DMA)        1 (FC)
    E       two copies of rows of P*W bits       2: E0 (ACT, EW a), E1 (EW b, DMA)   1 (ACT, EW, DMA)

Every memory has at most one write port and two ports in all, so each maps to block RAM (a bank
or copy = simple dual-port RAM). The issue unit (rtl/issue.py) never lets two kernels use the same
region port at once (isa.Resource), so a port's address is a plain multiplexer of its users.

V is banked by element (element e in bank e % P, row e // P) so a P-wide access at any element
address reaches each bank once: the depth concatenation [x; h] of the FC kernel's input is one
contiguous range that needs no copy. Z and E are read and written by whole rows: the compiler
places their tensors at row boundaries, and single-element writes (FC results, softmax) use lane
enables.

Timing (all ports): a read's (en, region, addr), registered by the kernel in cycle c, is selected
among the region port's users and turned into row addresses (V: one per bank) registered at the
end of c, so that a block RAM's address pins see a flip-flop and the kernel-to-buffer path, which
crosses the die, carries only that selection; the memory is read at the end of c+1; its output is
registered again at the end of c+2 (nothing between a block RAM's output and a flip-flop: its
clock-to-output delay leaves no room); the port's selection among its regions is registered at the
end of c+3, so the data is valid in c+4 (READ_LATENCY). V comes in bank order: its two readers
rotate on their side (the FC its weights, the DMA its beat), so no rotator sits between the banks,
spread over the die, and a port's register. A write port's
registers, valid in cycle c, are selected among the region's writers and registered at the end of
c (again so that the path across the die ends in a flip-flop), decoded into rows, lane enables and
(V) rotated data at the end of c+1, and written at the end of c+2 (WRITE_LATENCY).
"""
from __future__ import annotations

from myhdl import ConcatSignal, Signal, always, always_comb, block, concat, intbv

from . import isa
from .config import ProcessorConfig, clog2
from .interfaces import READ_LATENCY, WRITE_LATENCY

REGION_V, REGION_Z, REGION_E = int(isa.Region.V), int(isa.Region.Z), int(isa.Region.E)


@block
def v_bank(cfg: ProcessorConfig, b: int, clk, ren, rrows, wen, wrows, wdata, q):
    """Bank b of region V: the elements e with e % P == b, at row e // P.

    Ports: clk; ren (in, a read this cycle); rrows, wrows (in, P packed row addresses, this
    bank's at bits b*R); wen (in, P bits: bank b writes); wdata (in, P packed elements); q (out,
    the element read, registered). Latency: read 1, write at the clock edge.
    No reset: contents survive reset like a block RAM's; converted Verilog initialises them to 0."""
    w, depth = cfg.data_bits, cfg.vbuf_words
    rb = clog2(depth)
    assert len(rrows) == len(wrows) == cfg.lanes * rb and len(wdata) == cfg.lanes * w
    mem = [Signal(intbv(0)[w:]) for _ in range(depth)]
    lo_r, lo_d = b * rb, b * w

    @always(clk.posedge)
    def access():
        if wen[b]:
            mem[wrows[lo_r + rb:lo_r]].next = wdata[lo_d + w:lo_d]
        if ren:
            q.next = mem[rrows[lo_r + rb:lo_r]]

    return access


@block
def row_memory(cfg: ProcessorConfig, depth: int, clk, ren, rrow, wen, wrow, wdata, q):
    """A memory of `depth` rows of P elements with per-lane write enables (regions Z and E).

    Ports: clk; ren, rrow (in, read a row); wen (in, P lane enables), wrow, wdata (in, the row
    and its row-aligned data); q (out, the row read, registered). Latency: read 1, write at the
    clock edge. No reset (memory contents)."""
    p, w = cfg.lanes, cfg.data_bits
    assert len(q) == len(wdata) == p * w and len(wen) == p
    mem = [Signal(intbv(0)[p * w:]) for _ in range(depth)]

    @always(clk.posedge)
    def access():
        # the lane offset is a sized variable: Yosys 0.70's frontend rejects a memory word's
        # part-select indexed by a Verilog `integer` (an internal $shl check fails)
        lo = intbv(0, min=0, max=p * w)
        for lane in range(p):
            if wen[lane]:
                lo[:] = lane * w
                mem[wrow].next[lo + w:lo] = wdata[lo + w:lo]
        if ren:
            q.next = mem[rrow]

    return access


@block
def abuf(cfg: ProcessorConfig, clk, rd_fc, rd_act, rd_ewa, rd_ewb, rd_dma, wr_fc, wr_act, wr_ew, wr_dma):
    """The activation buffer (see the module docstring for the regions and their ports).

    Ports: clk; five AbufReadPort (FC, ACT, EW operand a, EW operand b, DMA) and four
    AbufWritePort (FC, ACT, EW, DMA). A port may only address the regions isa.PORTS gives it,
    one at a time per region port; the issue unit guarantees both.
    Latency: READ_LATENCY = 4 from a read's address to its data; a write lands at the end of the
    second cycle after its port registers' (WRITE_LATENCY). No reset: contents survive reset like
    block RAM."""
    p, w, lb = cfg.lanes, cfg.data_bits, cfg.lane_bits
    mask = p - 1
    v_rows, z_rows, e_rows = cfg.vbuf_words, cfg.zbuf_words, cfg.ebuf_words
    vrb, zrb, erb = clog2(v_rows), clog2(z_rows), clog2(e_rows)
    vm, zm, em = v_rows - 1, z_rows - 1, e_rows - 1
    insts = []

    # ---- read address selection: one user per region port at a time -----------------------------
    v_ren, z_ren, e0_ren, e1_ren = [Signal(bool(0)) for _ in range(4)]
    v_from_fc = Signal(bool(0))          # the FC, not the DMA, reads V this cycle
    v_rrows = Signal(intbv(0)[p * vrb:])
    v_rows_fc, v_rows_dma = Signal(intbv(0)[p * vrb:]), Signal(intbv(0)[p * vrb:])
    z_rrow = Signal(intbv(0)[zrb:])
    e0_rrow = Signal(intbv(0)[erb:])
    e1_rrow = Signal(intbv(0)[erb:])

    @always_comb
    def read_select():
        # rows within a region are the low address bits: regions start at multiples of their size
        v_ren.next = 0
        v_from_fc.next = 0
        if rd_fc.en and rd_fc.region == REGION_V:
            v_ren.next = 1
            v_from_fc.next = 1
        elif rd_dma.en and rd_dma.region == REGION_V:
            v_ren.next = 1
        z_ren.next = 1
        if rd_fc.en and rd_fc.region == REGION_Z:
            z_rrow.next = (rd_fc.addr >> lb) & zm
        elif rd_act.en and rd_act.region == REGION_Z:
            z_rrow.next = (rd_act.addr >> lb) & zm
        elif rd_ewa.en and rd_ewa.region == REGION_Z:
            z_rrow.next = (rd_ewa.addr >> lb) & zm
        elif rd_dma.en and rd_dma.region == REGION_Z:
            z_rrow.next = (rd_dma.addr >> lb) & zm
        else:
            z_ren.next = 0
            z_rrow.next = 0
        e0_ren.next = 1
        if rd_act.en and rd_act.region == REGION_E:
            e0_rrow.next = (rd_act.addr >> lb) & em
        elif rd_ewa.en and rd_ewa.region == REGION_E:
            e0_rrow.next = (rd_ewa.addr >> lb) & em
        else:
            e0_ren.next = 0
            e0_rrow.next = 0
        e1_ren.next = 1
        if rd_ewb.en and rd_ewb.region == REGION_E:
            e1_rrow.next = (rd_ewb.addr >> lb) & em
        elif rd_dma.en and rd_dma.region == REGION_E:
            e1_rrow.next = (rd_dma.addr >> lb) & em
        else:
            e1_ren.next = 0
            e1_rrow.next = 0

    @block
    def v_read_rows(addr, rows_out):
        """The V banks' rows of a P-wide read from element `addr`: bank b at row addr // P, or the
        next row for the banks below addr's own bank. Ports: addr (in), rows_out (out, P packed
        rows). Latency: combinational. Reset: none."""
        @always_comb
        def rows_of():
            # (built in a variable assigned whole: a loop of part-selects of the signal itself
            # reads to synthesis as bits that may keep their value, i.e. latches)
            off = intbv(0)[lb:]
            rows = intbv(0)[p * vrb:]
            off[:] = addr & mask
            for b in range(p):
                lo = b * vrb
                if b < off:
                    rows[lo + vrb:lo] = ((addr >> lb) + 1) & vm
                else:
                    rows[lo + vrb:lo] = (addr >> lb) & vm
            rows_out.next = rows

        return rows_of

    # each reader's rows from its own address register, then the selection: the reader's enable,
    # late (it crosses the die from the kernel), is then one multiplexer in front of the register
    insts.append(v_read_rows(rd_fc.addr, v_rows_fc))
    insts.append(v_read_rows(rd_dma.addr, v_rows_dma))

    @always_comb
    def v_read_select():
        if v_from_fc:
            v_rrows.next = v_rows_fc
        else:
            v_rrows.next = v_rows_dma

    # ---- the address stage: selected rows and enables registered in front of the memories ----------
    v_ren_r, z_ren_r, e0_ren_r, e1_ren_r = [Signal(bool(0)) for _ in range(4)]
    v_rrows_r = Signal(intbv(0)[p * vrb:])
    z_rrow_r = Signal(intbv(0)[zrb:])
    e0_rrow_r = Signal(intbv(0)[erb:])
    e1_rrow_r = Signal(intbv(0)[erb:])

    @always(clk.posedge)
    def read_address_stage():
        v_ren_r.next = v_ren
        z_ren_r.next = z_ren
        e0_ren_r.next = e0_ren
        e1_ren_r.next = e1_ren
        if v_ren:
            v_rrows_r.next = v_rrows
        if z_ren:
            z_rrow_r.next = z_rrow
        if e0_ren:
            e0_rrow_r.next = e0_rrow
        if e1_ren:
            e1_rrow_r.next = e1_rrow

    # ---- write stages: the owning kernel's write registered (the kernel-to-buffer path carries only
    # the selection among a region's writers), then decoded into rows and lane enables -------------
    @block
    def write_hit(port, port_name: str, region: int, hit):
        """hit = `port` writes `region` this cycle. A port that reaches no other region (isa.PORTS:
        ACT writes only E, FC only Z) needs no comparison, so its write enable reaches the
        selection directly: the ACT kernel's write merge -> E's selection through the region
        comparison was the one late endpoint at 150 MHz of 898aceb seed 2. Ports: port (in),
        hit (out). Latency 0 (combinational). No reset."""
        if set(isa.PORTS[port_name]) == {isa.Region(region)}:
            @always_comb
            def sole_region():
                hit.next = port.en

            return sole_region

        @always_comb
        def compare_region():
            hit.next = port.en and port.region == region

        return compare_region

    @block
    def write_select(region: int, en_s, addr_s, count_s, data_s, first, second, third):
        """The write of whichever writer (by priority first, second, third: pairs of an
        AbufWritePort and its isa.PORTS name; the issue unit lets one write a region at a time)
        addresses `region`, registered. A region with fewer writers repeats its last one
        (synthesis drops the branch never taken). Ports: the writers (in), en_s, addr_s, count_s,
        data_s (out). Latency 1. No reset: en_s follows the kernels' en, which they clear on reset."""
        (port1, name1), (port2, name2), (port3, name3) = first, second, third
        hit1, hit2, hit3 = [Signal(bool(0)) for _ in range(3)]
        hits = [write_hit(port1, name1, region, hit1), write_hit(port2, name2, region, hit2),
                write_hit(port3, name3, region, hit3)]

        @always(clk.posedge)
        def select():
            en_s.next = 0
            if hit1:
                en_s.next = 1
                addr_s.next = port1.addr
                count_s.next = port1.count
                data_s.next = port1.data
            elif hit2:
                en_s.next = 1
                addr_s.next = port2.addr
                count_s.next = port2.count
                data_s.next = port2.data
            elif hit3:
                en_s.next = 1
                addr_s.next = port3.addr
                count_s.next = port3.count
                data_s.next = port3.data

        return hits, select

    def selected_write():
        """The registers of a write_select: en, addr, count, data."""
        return (Signal(bool(0)), Signal(intbv(0)[len(wr_fc.addr):]), Signal(intbv(0, min=0, max=p + 1)),
                Signal(intbv(0)[p * w:]))

    v_sel, z_sel, e_sel = selected_write(), selected_write(), selected_write()
    fc_w, act_w, ew_w, dma_w = (wr_fc, "fc.write"), (wr_act, "act.write"), (wr_ew, "ew.write"), (wr_dma, "dma.write")
    insts += [write_select(REGION_V, *v_sel, ew_w, dma_w, dma_w), write_select(REGION_Z, *z_sel, fc_w, fc_w, fc_w),
              write_select(REGION_E, *e_sel, act_w, ew_w, dma_w)]

    v_wen = Signal(intbv(0)[p:])
    v_wrows = Signal(intbv(0)[p * vrb:])
    v_wdata = Signal(intbv(0)[p * w:])
    z_wen, e_wen = Signal(intbv(0)[p:]), Signal(intbv(0)[p:])
    z_wrow = Signal(intbv(0)[zrb:])
    e_wrow = Signal(intbv(0)[erb:])
    z_wdata, e_wdata = Signal(intbv(0)[p * w:]), Signal(intbv(0)[p * w:])

    @block
    def count_thermometer(count_s, first):
        """The port lanes a selected write fills: bit k of `first` is count_s > k. Ports: count_s
        (in, 0..P), first (out, P bits). Combinational; no reset. The write stages shift it into
        place by the write's offset: multiplexers, not a subtraction and a comparison per lane
        (carry chains behind the offset's long nets: addr_s -> v_wen was the critical path,
        6.84 ns through four LUTs and a CCU2C, aa6abe1 seed 6). A table of constants, a LUT per
        bit: written as P comparisons, synthesis built them as a carry chain, count_s -> CCU2C
        -> three LUTs -> v_wen, 6.72 ns (one of the 2 late endpoints at 150 MHz, 69e88d0 seed 4)."""
        assert len(first) == p and count_s.max == p + 1
        table = tuple((1 << c) - 1 for c in range(p + 1))

        @always_comb
        def thermometer():
            first.next = table[count_s]

        return thermometer

    @block
    def v_write_stage(en_s, addr_s, first, data_s):
        """Region V's selected write decoded per bank: enable, row and the element rotated into it.
        Ports: the write_select registers (in; the count as its count_thermometer, `first`); v_wen,
        v_wrows, v_wdata (out). Latency 1. No reset: v_wen follows en_s."""

        @always(clk.posedge)
        def decode():
            off = intbv(0)[lb:]
            lane = intbv(0)[lb:]
            twice = intbv(0)[2 * p:]
            turned = intbv(0)[3 * p:]
            if en_s:
                off[:] = addr_s & mask
                # bank b takes port lane (b - off) mod P: its enable is `first` rotated by off
                twice[:] = concat(first, first)
                turned[:] = twice << off
                v_wen.next = turned[2 * p:p]
                for b in range(p):
                    lane[:] = (b - off) & mask  # the port lane bank b takes
                    lo = b * vrb
                    if b < off:
                        v_wrows.next[lo + vrb:lo] = ((addr_s >> lb) + 1) & vm
                    else:
                        v_wrows.next[lo + vrb:lo] = (addr_s >> lb) & vm
                    lo = b * w
                    src = lane * w
                    v_wdata.next[lo + w:lo] = data_s[src + w:src]
            elif v_wen != 0:
                v_wen.next = 0

        return decode

    @block
    def row_write_stage(en_s, addr_s, first, data_s, wen, wrow, wdata, rows_mask: int):
        """Region Z's or E's selected write decoded into lane enables and a row. Ports: the
        write_select registers (in; the count as its count_thermometer, `first`); wen, wrow, wdata
        (out). Latency 1. No reset: wen follows en_s."""

        @always(clk.posedge)
        def decode():
            off = intbv(0)[lb:]
            shifted = intbv(0)[2 * p:]
            if en_s:
                off[:] = addr_s & mask
                # lane l is written when off <= l < off + count: `first` shifted up by off
                shifted[:] = first << off
                wen.next = shifted[p:]
                wrow.next = (addr_s >> lb) & rows_mask
                wdata.next = data_s
            elif wen != 0:
                wen.next = 0

        return decode

    v_first, z_first, e_first = [Signal(intbv(0)[p:]) for _ in range(3)]
    insts += [count_thermometer(sel[2], first) for sel, first in ((v_sel, v_first), (z_sel, z_first), (e_sel, e_first))]
    insts += [v_write_stage(v_sel[0], v_sel[1], v_first, v_sel[3]),
              row_write_stage(z_sel[0], z_sel[1], z_first, z_sel[3], z_wen, z_wrow, z_wdata, zm),
              row_write_stage(e_sel[0], e_sel[1], e_first, e_sel[3], e_wen, e_wrow, e_wdata, em)]

    # ---- the memories -----------------------------------------------------------------------------
    v_q = [Signal(intbv(0)[w:]) for _ in range(p)]
    for b in range(p):
        insts.append(v_bank(cfg, b, clk, v_ren_r, v_rrows_r, v_wen, v_wrows, v_wdata, v_q[b]))
    z_q, e0_q, e1_q = [Signal(intbv(0)[p * w:]) for _ in range(3)]
    insts.append(row_memory(cfg, z_rows, clk, z_ren_r, z_rrow_r, z_wen, z_wrow, z_wdata, z_q))
    insts.append(row_memory(cfg, e_rows, clk, e0_ren_r, e0_rrow_r, e_wen, e_wrow, e_wdata, e0_q))
    insts.append(row_memory(cfg, e_rows, clk, e1_ren_r, e1_rrow_r, e_wen, e_wrow, e_wdata, e1_q))

    # ---- memory outputs straight into registers ------------------------------------------------------
    v_cat = ConcatSignal(*reversed(v_q))
    v_r, z_r, e0_r, e1_r = [Signal(intbv(0)[p * w:]) for _ in range(4)]
    fresh = Signal(intbv(0)[4:])  # which memories were read in the previous cycle

    @always(clk.posedge)
    def capture():
        fresh.next = concat(e1_ren_r, e0_ren_r, z_ren_r, v_ren_r)
        if fresh[0]:
            v_r.next = v_cat
        if fresh[1]:
            z_r.next = z_q
        if fresh[2]:
            e0_r.next = e0_q
        if fresh[3]:
            e1_r.next = e1_q

    # ---- per-port selection, registered: data valid READ_LATENCY cycles after the address ----------
    @block
    def tags(port, en3, reg3):
        """Enable and region of a port's reads, three cycles behind the address (beside the address,
        memory and capture registers). Ports: port (in), en3, reg3 (out).
        Latency 3. No reset: en3 follows port.en, which the kernels clear on reset."""
        en1, en2 = Signal(bool(0)), Signal(bool(0))
        reg1, reg2 = Signal(intbv(0)[2:]), Signal(intbv(0)[2:])

        @always(clk.posedge)
        def follow():
            en1.next = port.en
            en2.next = en1
            en3.next = en2
            if port.en:
                reg1.next = port.region
            if en1:
                reg2.next = reg1
            if en2:
                reg3.next = reg2

        return follow

    # the address, memory and capture stages sit between a read and its selection
    assert READ_LATENCY == 4, "rtl/abuf.py's read pipeline has four stages: address, memory, capture, selection"
    assert WRITE_LATENCY == 2, "rtl/abuf.py's write pipeline has two stages: select, decode"

    def tag_signals():
        """The outputs of a port's tags block: en3, reg3."""
        return Signal(bool(0)), Signal(intbv(0)[2:])

    @block
    def fc_output(port):
        """FC port: region V in bank order (lane l holds the one of elements addr..addr+P-1 that is
        l mod P; the FC kernel rotates its weights to meet it), or a Z row. A 2:1 selection, not a
        rotator: the register can sit next to the FC's multipliers.
        Ports: port (AbufReadPort). Latency: data READ_LATENCY cycles after the address. No reset."""
        en3, reg3 = tag_signals()

        @always(clk.posedge)
        def select():
            if en3:
                if reg3 == REGION_V:
                    port.data.next = v_r
                else:
                    port.data.next = z_r

        return tags(port, en3, reg3), select

    @block
    def z_or_e0_output(port):
        """ACT and EW operand a: a Z row or an E row (copy 0). Ports: port (AbufReadPort).
        Latency: data READ_LATENCY cycles after the address. No reset."""
        en3, reg3 = tag_signals()

        @always(clk.posedge)
        def select():
            if en3:
                if reg3 == REGION_Z:
                    port.data.next = z_r
                else:
                    port.data.next = e0_r

        return tags(port, en3, reg3), select

    @block
    def e1_output(port):
        """EW operand b: an E row (copy 1). Ports: port (AbufReadPort). Latency READ_LATENCY. No reset."""
        en3, reg3 = tag_signals()

        @always(clk.posedge)
        def select():
            if en3:
                port.data.next = e1_r

        return tags(port, en3, reg3), select

    @block
    def dma_output(port):
        """DMA (STORE): region V in bank order, as the FC's port, or the Z or E (copy 1) row. A 3:1
        selection, not a rotator: the DMA picks the beat's elements out of the registered word
        (rtl/dma.py), so the path from the memories, which sit all over the die, ends in this
        register. Ports: port (AbufReadPort). Latency READ_LATENCY. No reset."""
        en3, reg3 = tag_signals()

        @always(clk.posedge)
        def select():
            if en3:
                if reg3 == REGION_V:
                    port.data.next = v_r
                elif reg3 == REGION_Z:
                    port.data.next = z_r
                else:
                    port.data.next = e1_r

        return tags(port, en3, reg3), select

    insts += [read_select, v_read_select, read_address_stage, capture,
              fc_output(rd_fc), z_or_e0_output(rd_act), z_or_e0_output(rd_ewa), e1_output(rd_ewb),
              dma_output(rd_dma)]
    return insts
