"""Sequencing shared by the element-wise kernels (ACT, EW): P elements per cycle over a range, and
the bookkeeping of a streaming kernel (ready, busy, instructions in flight)."""
from __future__ import annotations

from myhdl import Signal, always, always_comb, always_seq, block, intbv

from .config import ProcessorConfig


@block
def vector_sequencer(cfg: ProcessorConfig, clk, rst, start, dec, rd_a, rd_b, valid, last, count, waddr):
    """Walks `length` elements P at a time: the read addresses of operand a (from src0) and b (from
    src1) and the write address (from dst) of each word.

    Ports: clk, rst (sync, idles the sequencer); start (in); dec (in: length, src0, src1, dst and
    their regions, sampled at start); rd_a, rd_b (AbufReadPort: en, region, addr out); valid (out:
    a word is presented this cycle), last (out: it is the instruction's last word), count (out:
    its elements, 1..P), waddr (out: where its results go).
    Timing: the first word is presented the cycle after start, one word per cycle; a start in the
    cycle of a last word continues without a gap. Latency: addresses from the cycle after start.
    Reset: synchronous, idle."""
    p = cfg.lanes
    rem = Signal(intbv(0, min=-(1 << 17), max=1 << 17))  # elements from this word to the end
    rem_next = Signal(intbv(0, min=-(1 << 17), max=1 << 17))

    @always_comb
    def next_rem():
        rem_next.next = rem - p

    @always_comb
    def read_enable():
        rd_a.en.next = valid
        rd_b.en.next = valid

    @always_seq(clk.posedge, reset=rst)
    def walk():
        if start:
            rd_a.addr.next = dec.src0
            rd_b.addr.next = dec.src1
            rd_a.region.next = dec.src0_region
            rd_b.region.next = dec.src1_region
            waddr.next = dec.dst
            rem.next = dec.length
            valid.next = dec.length != 0
            last.next = dec.length <= p
            count.next = p if dec.length >= p else dec.length
        elif valid:
            rd_a.addr.next = rd_a.addr + p
            rd_b.addr.next = rd_b.addr + p
            waddr.next = waddr + p
            rem.next = rem_next
            if last:
                valid.next = 0
                count.next = 0
            else:
                last.next = rem_next <= p
                count.next = p if rem_next >= p else rem_next

    return next_rem, read_enable, walk


@block
def stream_control(clk, rst, ctl, seq_valid, seq_last, extra_block):
    """Handshake of a streaming kernel: `ready` when the sequencer is idle or on its last word and
    at most one other instruction is in flight (or the older one is done this cycle); `busy` while
    any instruction is in flight (from the cycle after its start to its done, inclusive).

    Ports: clk, rst (sync: nothing in flight); ctl (KernelCtl: start and done in, as the kernel
    drives done; ready and busy out); seq_valid, seq_last (in, the sequencer's word);
    extra_block (in: another unit of the kernel holds it, e.g. the softmax unit).
    Latency: ready and busy are combinational from registers. Reset: synchronous, idle."""
    inflight = Signal(intbv(0, min=0, max=3))

    @always_comb
    def handshake():
        seq_free = not seq_valid or seq_last
        ctl.ready.next = seq_free and (inflight < 2 or ctl.done) and not extra_block
        ctl.busy.next = inflight != 0

    @always_seq(clk.posedge, reset=rst)
    def count():
        inflight.next = inflight + ctl.start - ctl.done

    return handshake, count
