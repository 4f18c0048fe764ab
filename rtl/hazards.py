"""Range and region-port conflicts between two instructions, from their predecoded hazard fields
(rtl/predecode.py: ranges in scoreboard points, region ports, kernel). The issue unit compares
the next instruction with those in flight; the predecoder compares each instruction with the one
before it in program order."""
from __future__ import annotations

from myhdl import Signal, always_comb, block, intbv

#: the terms range_conflict_terms splits a conflict into (reads vs write, write vs reads, write vs
#: write or a shared region port)
CONFLICT_TERMS = 3


@block
def below(lo, hi, out):
    """out = lo < hi for a range end `lo` and an exclusive end `hi` at most one bit wider (the end of
    the last region can be a power of two past the widest start): then hi's top bit or a comparison
    as wide as lo, so the carry chain is lo's width (rtl/predecode.py, hazard_bits).

    Ports: lo, hi (in); out (out). Latency: combinational. Reset: none."""
    lw = len(lo)
    assert len(hi) in (lw, lw + 1), f"range ends of {lw} and {len(hi)} bits"
    if len(hi) == lw:
        @always_comb
        def compare():
            out.next = lo < hi
    else:
        # a copy of hi as a signal of its own: hi is often a slice of a wider word, which MyHDL
        # writes as `word[a:b]`, and a bit or a slice of that (`word[a:b][lw]`) is not Verilog
        # (Icarus rejects it); the copy is a wire, no logic
        hi_named = Signal(intbv(0)[lw + 1:])

        @always_comb
        def name_hi():
            hi_named.next = hi

        @always_comb
        def compare():
            out.next = hi_named[lw] or lo < hi_named[lw:]
        return name_hi, compare
    return compare


@block
def range_conflict_terms(new_ranges, new_res, new_kernel, old_ranges, old_res, old_kernel, has_read1: bool, terms):
    """Whether a new instruction conflicts with an older one, as three terms whose OR is the
    conflict: RAW, WAR or WAW on their activation-buffer ranges, or a region port both use from
    different kernels. Term 0: the new reads against the old write; term 1: the new write against
    the old reads; term 2: write against write, or a shared region port.

    Ports: new_ranges, old_ranges (in: r0lo, r0hi, r1lo, r1hi, wlo, whi in scoreboard points;
    empty ranges are [0, 0)); new_res, old_res (in, region ports); new_kernel, old_kernel (in, or a
    constant); has_read1 (constant: the old instruction's second read range counts); terms (out,
    CONFLICT_TERMS bits). Latency: combinational. Reset: none.
    Why terms: each is one LUT behind the comparators' carry chains, so a caller can register
    them and OR them in the next cycle (rtl/issue.py's scoreboard), with no logic level and no
    long net between the comparators and the register."""
    assert len(terms) == CONFLICT_TERMS, f"{len(terms)} conflict terms"
    n0lo, n0hi, n1lo, n1hi, nwlo, nwhi = new_ranges
    o0lo, o0hi, o1lo, o1hi, owlo, owhi = old_ranges
    # a before b's end and b before a's end, for each pair of ranges compared
    n0_ow, ow_n0, n1_ow, ow_n1, nw_o0, o0_nw, nw_o1, o1_nw, nw_ow, ow_nw = [Signal(bool(0)) for _ in range(10)]
    # (without has_read1 the old second read range goes unused and synthesis drops its comparators)
    compares = [below(n0lo, owhi, n0_ow), below(owlo, n0hi, ow_n0), below(n1lo, owhi, n1_ow),
                below(owlo, n1hi, ow_n1), below(nwlo, o0hi, nw_o0), below(o0lo, nwhi, o0_nw),
                below(nwlo, o1hi, nw_o1), below(o1lo, nwhi, o1_nw), below(nwlo, owhi, nw_ow),
                below(owlo, nwhi, ow_nw)]

    @always_comb
    def combine():
        # ranges are [lo, hi) with lo < hi when not empty, so "a.lo < b.hi and b.lo < a.hi" is an
        # overlap only if both are non-empty: an empty range [0, 0) never satisfies 0 < 0
        t = intbv(0)[CONFLICT_TERMS:]
        t[:] = 0
        if (n0_ow and ow_n0) or (n1_ow and ow_n1):
            t[0] = 1
        if (nw_o0 and o0_nw) or (has_read1 and nw_o1 and o1_nw):
            t[1] = 1
        if (nw_ow and ow_nw) or ((new_res & old_res) != 0 and new_kernel != old_kernel):
            t[2] = 1
        terms.next = t

    return compares, combine


@block
def range_conflict(new_ranges, new_res, new_kernel, old_ranges, old_res, old_kernel, has_read1: bool, hit):
    """Whether a new instruction conflicts with an older one: RAW, WAR or WAW on their
    activation-buffer ranges, or a region port both use from different kernels (the OR of
    range_conflict_terms).

    Ports: as range_conflict_terms; hit (out). Latency: combinational. Reset: none."""
    terms = Signal(intbv(0)[CONFLICT_TERMS:])
    conflict = range_conflict_terms(new_ranges, new_res, new_kernel, old_ranges, old_res, old_kernel, has_read1,
                                    terms)

    @always_comb
    def any_term():
        hit.next = terms != 0

    return conflict, any_term
