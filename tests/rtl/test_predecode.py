"""MyHDL-native test of rtl/predecode.py's scoreboard ranges and kernel facts.

Random legal FC, ACT, EW, LOAD and STORE instructions go through imem_predecode as the DMA writes
them. Each predecoded word's six range ends must equal the instruction's accesses (rtl.isa.accesses)
converted to scoreboard points, which this test computes on its own from the region bounds: region V
is counted per element, Z and E per row rounded out, one point after the other in address order.
It also checks the FC kernel's two predecoded facts (one weight word per row, one row) and each
instruction's conflict with the one before it.
A second test checks, with no RTL, that two ranges' points overlap exactly when the ranges do at
that granularity. Together they show that the narrower comparators decide the same conflicts.
"""
from __future__ import annotations

import random

import pytest
from myhdl import ResetSignal, Signal, StopSimulation, block, instance

from rtl import ProcessorConfig, isa
from rtl.interfaces import RamPort
from rtl.isa import ActFunc, LoadTarget, Op, Region
from rtl.predecode import PREDECODE_LATENCY, hazard_bits, imem_predecode, layout
from rtl.top import clock_gen

CONFIGS = [ProcessorConfig(lanes=4, data_type="int8", axi_data_bits=32),   # the small config
           ProcessorConfig(lanes=16, vbuf_words=16, zbuf_words=32, ebuf_words=32, wbuf_words=512),
           ProcessorConfig(lanes=8, vbuf_words=4, zbuf_words=64, ebuf_words=16)]  # V smaller than a Z row count


def _config_id(cfg: ProcessorConfig) -> str:
    return f"p{cfg.lanes}-v{cfg.vbuf_words}-z{cfg.zbuf_words}-e{cfg.ebuf_words}-w{cfg.wbuf_words}"


RANGE_SLOTS = {"fc.read": "r0", "act.read": "r0", "ew.read_a": "r0", "dma.read": "r0", "ew.read_b": "r1",
               "fc.write": "w", "act.write": "w", "ew.write": "w", "dma.write": "w"}


def _units(cfg: ProcessorConfig, lo: int, hi: int) -> tuple[Region, int, int]:
    """The range as the scoreboard tracks it: elements of V, or rows of Z or E rounded out."""
    region = isa.region_of(cfg, lo)
    if region == Region.V:
        return region, lo, hi
    p = cfg.lanes
    return region, lo // p, -(-hi // p)


def _points(cfg: ProcessorConfig, lo: int, hi: int) -> tuple[int, int]:
    """Scoreboard points of a non-empty range: V's elements first, then the rows from Z's first on."""
    bounds = isa.region_bounds(cfg)
    region, ulo, uhi = _units(cfg, lo, hi)
    if region == Region.V:
        return ulo, uhi
    v_points = bounds[Region.V][1]
    z_row = bounds[Region.Z][0] // cfg.lanes
    return ulo - z_row + v_points, uhi - z_row + v_points


def _random_instruction(cfg: ProcessorConfig, rng: random.Random) -> tuple[Op, dict[str, int]]:
    """A legal instruction with non-empty ranges in regions its ports reach."""
    bounds = isa.region_bounds(cfg)
    p = cfg.lanes

    def start(port: str, n: int, wide: bool) -> int | None:
        region = rng.choice(sorted(isa.PORTS[port]))
        lo, hi = bounds[region]
        if hi - lo < n:
            return None
        addr = rng.randrange(lo, hi - n + 1)
        if wide and region in (Region.Z, Region.E):
            addr -= (addr - lo) % p
        return addr

    while True:
        op = rng.choice([Op.FC, Op.ACT, Op.EW, Op.LOAD, Op.STORE])
        n = rng.choice([1, 2, p - 1, p, p + 1, 3 * p, rng.randrange(1, 8 * p)])
        if op == Op.FC:
            cols = rng.choice([1, p, p + 1, 2 * p + 3])
            f = dict(dst=start("fc.write", n, False), src0=start("fc.read", cols, True), waddr=0, length=n,
                     cols=cols, bias=0, shift0=cfg.data_bits, shift1=0, split=cols)
        elif op == Op.ACT:
            func = rng.choice([ActFunc.SIGMOID, ActFunc.TANH, ActFunc.SOFTMAX])
            wide = func != ActFunc.SOFTMAX
            f = dict(func=func, dst=start("act.write", n, wide), src0=start("act.read", n, wide), length=n,
                     shift0=0, shift1=0)
        elif op == Op.EW:
            f = dict(func=isa.EwFunc.MUL, dst=start("ew.write", n, True), src0=start("ew.read_a", n, True),
                     src1=start("ew.read_b", n, True), length=n, shift0=0, shift1=0, shift2=cfg.data_bits - 1)
        elif op == Op.LOAD:
            f = dict(func=LoadTarget.ABUF, dst=start("dma.write", n, True), length=n, base=0, ddr_offset=0, stride=0)
        else:
            f = dict(src0=start("dma.read", n, True), length=n, base=0, ddr_offset=0, stride=0)
        if any(v is None for v in f.values()):
            continue
        f = {k: int(v) for k, v in f.items()}
        if (isa.check_legal(op, f, cfg) or isa.check_bounds(op, f, cfg) or isa.check_access(op, f, cfg)) is None:
            return op, f


@block
def _bench(cfg: ProcessorConfig, words: list[int], seen: list[int]):
    clk = Signal(bool(0))
    rst = ResetSignal(0, active=1, isasync=False)
    dma_iram = RamPort(cfg.imem_depth, isa.INSTR_BITS)
    iram = RamPort(cfg.imem_depth, layout(cfg).width)
    done_in, err_in, done_out, err_out = [Signal(bool(0)) for _ in range(4)]
    dut = imem_predecode(cfg, clk, rst, dma_iram, iram, done_in, err_in, done_out, err_out)
    clock = clock_gen(clk, 5)

    @instance
    def stimulus():
        rst.next = 1
        yield clk.posedge
        rst.next = 0
        for k, word in enumerate(words + [None] * (PREDECODE_LATENCY + 1)):
            dma_iram.we.next = word is not None
            if word is not None:
                dma_iram.waddr.next = k % cfg.imem_depth
                dma_iram.wdata.next = word
            yield clk.posedge
            if iram.we:
                seen.append(int(iram.wdata))
        raise StopSimulation

    return dut, clock, stimulus


@pytest.mark.parametrize("cfg", CONFIGS, ids=_config_id)
def test_predecoded_ranges_are_the_accesses_in_points(cfg):
    rng = random.Random(cfg.lanes * 1000 + cfg.vbuf_words)
    instrs = [_random_instruction(cfg, rng) for _ in range(300)]
    seen: list[int] = []
    sim = _bench(cfg, [isa.encode(op, **f) for op, f in instrs], seen)
    sim.run_sim(quiet=1)
    sim.quit_sim()
    assert len(seen) == len(instrs), f"{len(seen)} words written for {len(instrs)} instructions"
    fields = layout(cfg).fields
    lob, hib = hazard_bits(cfg)
    assert all(fields[f"{s}lo"][1] == lob and fields[f"{s}hi"][1] == hib for s in ("r0", "r1", "w"))

    def field(word: int, name: str) -> int:
        lsb, width = fields[name]
        return (word >> lsb) & ((1 << width) - 1)

    prev, preds = None, []
    for k, ((op, f), word) in enumerate(zip(instrs, seen)):
        expected = {s: (0, 0) for s in ("r0", "r1", "w")}
        for a in isa.accesses(op, f):
            expected[RANGE_SLOTS[a.port]] = _points(cfg, a.lo, a.hi)
        got = {s: (field(word, f"{s}lo"), field(word, f"{s}hi")) for s in ("r0", "r1", "w")}
        assert got == expected, f"{op.name} {f}: predecoded {got}, expected points {expected}"
        assert max(hi for _, hi in got.values()) < 1 << hib and max(lo for lo, _ in got.values()) < 1 << lob
        # the conflict with the instruction before it: overlapping points (a read against the
        # other's write, or both writes) or a region port both use from different kernels
        if k % cfg.imem_depth == 0:  # the words wrap around the memory: address 0 starts a program
            expected_pred = False
        else:
            (pop, pf), pgot = prev
            overlap = (lambda a, b: a[0] < b[1] and b[0] < a[1])
            expected_pred = (overlap(got["r0"], pgot["w"]) or overlap(got["r1"], pgot["w"])
                             or overlap(got["w"], pgot["r0"]) or overlap(got["w"], pgot["r1"])
                             or overlap(got["w"], pgot["w"])
                             or (bool(isa.resources(op, f, cfg) & isa.resources(pop, pf, cfg))
                                 and isa.FORMATS[op][1] != isa.FORMATS[pop][1]))
        assert field(word, "pred") == expected_pred, f"{op.name} {f} {got} after {prev}: pred"
        prev = ((op, f), got)
        preds.append(expected_pred)
        # the FC kernel's predecoded facts: its rows are one weight word each; one output row
        one_word = op == Op.FC and f["cols"] <= cfg.lanes
        assert field(word, "one_word") == one_word, f"{op.name} {f}: one_word {field(word, 'one_word')}"
        assert field(word, "one_row") == (f["length"] == 1), f"{op.name} {f}: one_row {field(word, 'one_row')}"
        assert field(word, "one_vec") == (f["length"] <= cfg.lanes), f"{op.name} {f}: one_vec {field(word, 'one_vec')}"
    assert any(preds) and not all(preds), "the random program should have both conflicting and free neighbours"


@pytest.mark.parametrize("cfg", CONFIGS, ids=_config_id)
def test_points_overlap_exactly_when_the_ranges_do(cfg):
    """Overlap in points == overlap of the same units (V elements, Z/E rows) in the same region."""
    rng = random.Random(7)
    bounds = isa.region_bounds(cfg)

    def random_range() -> tuple[int, int]:
        region = rng.choice([Region.V, Region.Z, Region.E])
        lo, hi = bounds[region]
        a = rng.randrange(lo, hi)
        return a, rng.randrange(a + 1, min(hi, a + 4 * cfg.lanes) + 1)

    for _ in range(5000):
        a, b = random_range(), random_range()
        (ra, alo, ahi), (rb, blo, bhi) = _units(cfg, *a), _units(cfg, *b)
        overlap_units = ra == rb and alo < bhi and blo < ahi
        (plo, phi), (qlo, qhi) = _points(cfg, *a), _points(cfg, *b)
        assert (plo < qhi and qlo < phi) == overlap_units, (a, b)


@pytest.mark.parametrize("cfg", CONFIGS[:2], ids=_config_id)
def test_fc_weight_rows_past_the_weight_buffer_overflow(cfg):
    """The predecoded overflow bit of FC instructions whose weight rows end around the weight
    buffer's end (waddr + length * ceil(cols / P) against wbuf_words) equals isa.check_bounds."""
    rng = random.Random(3)
    p, top = cfg.lanes, cfg.wbuf_words
    bounds = isa.region_bounds(cfg)
    instrs = []
    for _ in range(300):
        n, cols = rng.randrange(1, 40), rng.randrange(1, 6 * p)
        words = n * -(-cols // p)
        waddr = rng.choice([max(0, top - words + rng.randrange(-3, 4)), rng.randrange(0, 1 << 16), top, top + 1, 0])
        f = dict(dst=bounds[Region.Z][0], src0=0, waddr=min(waddr, (1 << 16) - 1), length=n, cols=cols, bias=0,
                 shift0=cfg.data_bits, shift1=0, split=cols)
        instrs.append((Op.FC, f))
    seen: list[int] = []
    sim = _bench(cfg, [isa.encode(op, **f) for op, f in instrs], seen)
    sim.run_sim(quiet=1)
    sim.quit_sim()
    assert len(seen) == len(instrs)
    lsb = layout(cfg).fields["overflow"][0]
    flagged = [bool((word >> lsb) & 1) for word in seen]
    expected = [isa.check_bounds(op, f, cfg) is not None for op, f in instrs]
    assert 50 < sum(expected) < 250, "test bug: both outcomes should be common"
    assert flagged == expected
