"""Sequencing shared by the element-wise kernels (ACT, EW): P elements per cycle over a range."""
from __future__ import annotations

from myhdl import Signal, always_comb, always_seq, block, intbv

from .config import ProcessorConfig


@block
def vector_sequencer(cfg: ProcessorConfig, clk, rst, start, length, src_a, src_b, addr_a, addr_b,
                     en_a, en_b, valid, count):
    """Walks `length` elements P at a time from src_a (and src_b) on read-port addresses.

    Ports: clk, rst (sync, idles the sequencer); start, length, src_a, src_b (in, sampled at
    start); addr_a, addr_b (out, read-port addresses); valid (out: the addresses belong to a word
    of this instruction), count (out: elements of that word, 1..P).
    Timing: the first word's addresses are presented the cycle after start, one word per cycle.

    Latency: addresses from the cycle after start. Reset: synchronous, idle."""
    p = cfg.lanes
    rem = Signal(intbv(0, min=-(1 << 17), max=1 << 17))  # elements from this word to the end
    rem_next = Signal(intbv(0, min=-(1 << 17), max=1 << 17))

    @always_comb
    def next_rem():
        rem_next.next = rem - p

    @always_comb
    def read_enable():
        en_a.next = valid
        en_b.next = valid

    @always_seq(clk.posedge, reset=rst)
    def walk():
        if start:
            addr_a.next = src_a
            addr_b.next = src_b
            rem.next = length
            valid.next = length != 0
            count.next = p if length >= p else length
        elif valid:
            addr_a.next = addr_a + p
            addr_b.next = addr_b + p
            rem.next = rem_next
            if rem_next > 0:
                valid.next = 1
                count.next = p if rem_next >= p else rem_next
            else:
                valid.next = 0
                count.next = 0

    return next_rem, read_enable, walk


@block
def vector_writeback(cfg: ProcessorConfig, clk, rst, ctl, dst, length, valid, count, data, wr):
    """Writes result words to consecutive addresses from dst and signals completion.

    Ports: clk, rst; ctl (KernelCtl: start in, busy/done out); dst, length (in, sampled at
    start); valid, count, data (in: a result word of `count` elements this cycle); wr
    (AbufWritePort out, registered: the word lands at the end of the next cycle).
    done pulses the cycle after the last word lands (the cycle after start if length is 0).

    Latency: a result word lands at the end of the cycle after it arrives. Reset: synchronous, idle."""
    ptr = Signal(intbv(0)[16:])
    left = Signal(intbv(0)[17:])  # elements still to write

    @always_seq(clk.posedge, reset=rst)
    def write():
        ctl.done.next = 0
        wr.en.next = 0
        if ctl.start:
            ptr.next = dst
            left.next = length
            ctl.busy.next = 1
            ctl.done.next = length == 0
        elif valid:
            wr.en.next = 1
            wr.addr.next = ptr
            wr.count.next = count
            wr.data.next = data
            ptr.next = ptr + count
            left.next = left - count
        if wr.en and left == 0 and not ctl.start:
            ctl.done.next = 1
        if ctl.done and not ctl.start:  # a new instruction may start in the done cycle
            ctl.busy.next = 0

    return write
