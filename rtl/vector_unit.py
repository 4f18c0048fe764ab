"""Sequencing shared by the element-wise kernels (ACT, EW): P elements per cycle over a range, and
the bookkeeping of a streaming kernel (ready, busy, instructions in flight)."""
from __future__ import annotations

from myhdl import Signal, always, always_comb, always_seq, block, intbv, modbv

from .config import ProcessorConfig, clog2


@block
def vector_sequencer(cfg: ProcessorConfig, clk, rst, start, dec, rd_a, rd_b, valid, last, count, waddr, free_next,
                     free_next_if_start):
    """Walks `length` elements P at a time: the read addresses of operand a (from src0) and b (from
    src1) and the write address (from dst) of each word.

    Ports: clk, rst (sync, idles the sequencer); start (in); dec (in: length, src0, src1, dst and
    their regions, sampled at start; one_vec, predecoded: length <= P); rd_a, rd_b
    (AbufReadPort: en, region, addr out); valid (out: a word is presented this cycle), last
    (out: it is the instruction's last word), count (out: its elements, 1..P), waddr (out:
    where its results go), free_next (out, combinational: in the next cycle the sequencer will
    be idle or on a last word, i.e. free for another instruction, if `start` is low now),
    free_next_if_start (out, combinational: the same if `start` is high now). Both come from
    registers and `dec` only: `start` (late, the issue decision) selects between them in
    stream_control.
    Timing: the first word is presented the cycle after start, one word per cycle; a start in the
    cycle of a last word continues without a gap. Latency: addresses from the cycle after start.
    Reset: synchronous, idle.

    Only the row bits of an address advance (by one row, P elements, per word), within the largest
    region's row count: an access never crosses the end of its region (isa.check_access), so the
    bits above never change during an instruction (the buffer decodes the row within its region
    from the low bits). Whole words are counted down, then a partial word if there is one; the same
    rule bounds a length by the largest region, 2^rb rows, so the count needs rb + 1 bits."""
    p, lb = cfg.lanes, cfg.lane_bits
    rb = max(clog2(cfg.vbuf_words), clog2(cfg.zbuf_words), clog2(cfg.ebuf_words))
    hi = lb + rb
    assert hi <= 16
    nb = min(16, hi + 1)                   # bits of a legal length (at most 2^hi elements)
    left = Signal(intbv(0)[nb - lb:])      # whole words not yet presented, the one presented included
    assert len(left) >= 3
    part = Signal(bool(0))                 # a partial word ends the instruction
    last_count = Signal(intbv(0, min=0, max=p + 1))    # elements of the last word

    @always_comb
    def read_enable():
        rd_a.en.next = valid
        rd_b.en.next = valid

    free = Signal(bool(0))  # idle, or presenting the last word: the next word may be another's

    @always_comb
    def free_state():
        free.next = not valid or last

    @always(clk.posedge)
    def addresses():
        # no reset: the addresses count only beside a valid word. While free they take the
        # decoded fields whether or not an instruction starts, so `start` (late: the issue
        # decision) enables only `valid`
        row = modbv(0)[rb:]
        if free:
            rd_a.addr.next = dec.src0
            rd_b.addr.next = dec.src1
            rd_a.region.next = dec.src0_region
            rd_b.region.next = dec.src1_region
            waddr.next = dec.dst
        else:
            row[:] = rd_a.addr[hi:lb] + 1
            rd_a.addr.next[hi:lb] = row
            row[:] = rd_b.addr[hi:lb] + 1
            rd_b.addr.next[hi:lb] = row
            row[:] = waddr[hi:lb] + 1
            waddr.next[hi:lb] = row

    last_next = Signal(bool(0))

    @always_comb
    def next_word():
        # whether the word presented in the next cycle is an instruction's last (the walk's
        # register takes it), and so whether the sequencer will be free then
        few = bool(0)  # left <= 2: the bits above the lowest two are zero (one test for three)
        lst = bool(0)
        if free:
            # at most P elements (none included) is one word at most: predecoded (dec.one_vec),
            # so that no comparator of the length is in front of the kernel's `ready`
            lst = bool(dec.one_vec)
            free_next.next = 1  # no start: idle next cycle
            free_next_if_start.next = lst
        else:  # the word presented was a whole one, not the last
            few = left[len(left):2] == 0
            # left == 1, or left == 2 and no partial word follows
            lst = few and ((not left[1] and left[0]) or (left[1] and not left[0] and not part))
            free_next.next = lst
            free_next_if_start.next = lst  # no start comes while a word that is not the last is presented
        last_next.next = lst

    @always_seq(clk.posedge, reset=rst)
    def walk():
        n = intbv(0)[nb:]
        few = bool(0)  # left <= 2: the bits above the lowest two are zero (one test for three)
        last.next = last_next
        if free:
            n[:] = dec.length[nb:]
            left.next = n[nb:lb]
            part.next = n[lb:] != 0
            valid.next = start and n != 0
            if n[lb:] == 0:
                last_count.next = p
            else:
                last_count.next = n[lb:]
            if not start:
                count.next = 0
            elif n[nb:lb] == 0:
                count.next = n[lb:]
            else:
                count.next = p
        else:  # the word presented was a whole one, not the last
            left.next = left - 1
            few = left[len(left):2] == 0
            if few and not left[1]:  # left < 2 (so 1): the partial word is next
                count.next = last_count
            else:
                count.next = p

    return read_enable, free_state, next_word, addresses, walk


@block
def stream_control(clk, rst, ctl, seq_free_next, seq_free_next_if_start, extra_block_next, extra_block_next_if_start):
    """Handshake of a streaming kernel: `ready` when the sequencer is idle or on its last word and
    at most one other instruction is in flight (or the older one is done this cycle); `busy` while
    any instruction is in flight (from the cycle after its start to its done, inclusive).

    Ports: clk, rst (sync: nothing in flight); ctl (KernelCtl: start, done and done_soon in, as
    the kernel drives them; ready and busy out); seq_free_next, seq_free_next_if_start (in: the
    sequencer will be idle or on its last word in the next cycle, without and with a start now);
    extra_block_next, extra_block_next_if_start (in: another unit of the kernel will hold it in the
    next cycle, e.g. the softmax unit, without and with a start now).
    Latency: ready is a register, computed from the next cycle's state (done then is done_soon
    now), so the issue unit's decision, across the die, starts from a flip-flop. `start` comes
    late (the issue decision, across the die): both outcomes are formed from registers and `start`
    only selects, one LUT in front of the register. busy is combinational from registers.
    Reset: synchronous, idle and ready (KernelCtl.ready starts at 1)."""
    inflight = Signal(intbv(0, min=0, max=3))

    @always_comb
    def handshake():
        ctl.busy.next = inflight != 0

    @always_seq(clk.posedge, reset=rst)
    def count():
        inflight.next = inflight + ctl.start - ctl.done
        # at most one instruction in flight next cycle besides a new one: inflight + start - done < 2
        if ctl.start:
            ctl.ready.next = (seq_free_next_if_start and (inflight == 0 or (inflight == 1 and ctl.done) or ctl.done_soon)
                              and not extra_block_next_if_start)
        else:
            ctl.ready.next = seq_free_next and (inflight != 2 or ctl.done or ctl.done_soon) and not extra_block_next

    return handshake, count
