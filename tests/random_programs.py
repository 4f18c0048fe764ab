"""Constrained-random instruction programs, reproducible by seed.

`random_scenario(cfg, seed)` builds a legal program (or, for some seeds, one that ends in a fault)
from nothing but the seed: every opcode and function, operand ranges drawn near each other so that
read-after-write, write-after-read and write-after-write hazards with touching and overlapping
ranges are frequent, edge shapes (one row, K mod P, the largest row counts the buffers allow,
region ends), weight and bias reloads while kernels run, DMA transfers split at 4 KB and at 256
beats, and at most one loop (the ISA does not nest them) with strided, conditional LOAD/STORE.
Some seeds also run under random AXI back-pressure on each channel, where the cycle model is a
lower bound.

Every element a program can read is defined: the prologue loads all of V and E and writes all of
Z with FCs, and FCs read only weights and biases the prologue loaded. So any subset of the body is
still a valid program with a defined result, which is what `Shrinker` relies on when it removes
items from a failing program.

Pure Python (numpy): the cocotb module tests/cocotb/random_tests.py runs the scenarios on the RTL;
tests/unit/test_random_programs.py checks the generator and the shrinker on the golden model.
Replay one seed on the RTL:

    DLP_RANDOM_SEEDS=1234 .venv/bin/python -m pytest tests/cocotb/test_random.py -k "verilator and p16"
"""
from __future__ import annotations

import dataclasses
import json
import pathlib

import numpy as np

from rtl import isa
from rtl.config import ProcessorConfig
from rtl.isa import ActFunc, EwFunc, LoadTarget, LoopCount, Op, Region

from tests.isa_scenarios import Scenario

REGRESSION_DIR = pathlib.Path(__file__).resolve().parent / "regressions"
PAUSED_CHANNELS = ("aw", "w", "b", "ar", "r")


def _round_up(n: int, unit: int) -> int:
    return -(-n // unit) * unit


@dataclasses.dataclass(frozen=True)
class MemoryLayout:
    """Where a config's random scenarios keep their data in external memory (4 KB aligned areas)."""
    prog: int
    data: int           # activations read by LOADs (BASE1 inside loops)
    data_bytes: int
    weights: int
    weight_bytes: int
    biases: int
    bias_bytes: int
    out: int            # targets of random STOREs (BASE2 inside loops)
    out_bytes: int
    final: int          # the epilogue stores V, Z and E here
    mem_bytes: int

    @classmethod
    def of(cls, cfg: ProcessorConfig) -> "MemoryLayout":
        eb = cfg.elem_bytes
        sizes = dict(prog=cfg.imem_depth * 16, data=max(16384, 2 * cfg.abuf_elements * eb),
                     weights=cfg.wbuf_words * cfg.word_bits // 8 + 8192, biases=cfg.bbuf_depth * 4 + 4096,
                     out=16384, final=cfg.abuf_elements * eb)
        at, place = 0, {}
        for name, size in sizes.items():
            place[name] = at
            at = _round_up(at + size, 4096)
        mem = 1 << (at - 1).bit_length()
        return cls(place["prog"], place["data"], sizes["data"], place["weights"], sizes["weights"],
                   place["biases"], sizes["biases"], place["out"], sizes["out"], place["final"], mem)


@dataclasses.dataclass
class Loop:
    """A loop item: LOOP, the body's instructions, ENDLOOP (jump filled in when emitted)."""
    func: int
    count: int
    body: list[int]


@dataclasses.dataclass
class RandomProgram:
    """A random scenario before emission: fixed prologue and epilogue around removable items."""
    cfg: ProcessorConfig
    seed: int
    image: bytearray
    prologue: list[int]
    items: list
    epilogue: list[int]
    seq_len: int
    flags: int
    bases: tuple
    mem_bytes: int
    pauses: dict | None = None
    error_response: str = "SLVERR"
    fault: str | None = None        # the kind of fault inserted (FAULTS), if any
    fault_item: object = None       # the item that holds it

    def program(self, items=None) -> list[int]:
        words = list(self.prologue)
        for item in self.items if items is None else items:
            if isinstance(item, Loop):
                jump = len(words) + len(item.body) + 2
                words += [isa.encode(Op.LOOP, func=item.func, count=item.count, jump=jump)] + item.body
                words.append(isa.encode(Op.ENDLOOP))
            else:
                words.append(item)
        return words + self.epilogue

    def scenario(self, items=None, name: str | None = None) -> Scenario:
        fault_kept = self.fault is not None and (items is None or any(i is self.fault_item for i in items))
        return Scenario(name or f"random_{self.cfg.short_id()}_{self.seed}", self.cfg, self.image,
                        self.program(items), seq_len=self.seq_len, flags=self.flags, bases=self.bases,
                        mem_bytes=self.mem_bytes, pauses=self.pauses, pause_seed=self.seed,
                        error_response=self.error_response,
                        expect_error=FAULTS[self.fault] if fault_kept else None)


class _Generator:
    def __init__(self, cfg: ProcessorConfig, seed: int):
        self.cfg, self.seed = cfg, seed
        self.rng = np.random.default_rng([seed, 0x5EED])
        self.lay = MemoryLayout.of(cfg)
        self.bounds = isa.region_bounds(cfg)
        self.p = cfg.lanes
        self.db = cfg.data_bits
        self.limits = isa.field_limits(cfg)
        self.recent: list[int] = []   # starts and ends of recent accesses: hazards cluster there
        self.rows_of_weights = 0      # weight words the prologue loaded
        self.biases = 0

    # ---- small helpers ----------------------------------------------------------------------
    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def pick(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def between(self, lo: int, hi: int) -> int:
        """A uniform integer in [lo, hi]."""
        return int(self.rng.integers(lo, hi + 1))

    def length(self, most: int) -> int:
        """An operand length up to `most`: one element, a multiple of P and P +- 1 are common."""
        p = self.p
        shapes = [1, p, p - 1, p + 1, 2 * p, 3 * p + 1, self.between(1, max(1, most))]
        return max(1, min(most, self.pick(shapes)))

    def start(self, region: Region, n: int, aligned: bool) -> int | None:
        """A start for n elements in `region`: near a recent access (hazards) or anywhere, at a row
        if `aligned`; sometimes against the region's end."""
        lo, hi = self.bounds[region]
        if n > hi - lo:
            return None
        unit = self.p if aligned else 1
        last = lo + (hi - lo - n) // unit * unit
        if self.chance(0.1):
            return last
        if self.recent and self.chance(0.6):
            s = self.pick(self.recent) + self.between(-2, 2) * (self.p if aligned and self.chance(0.5) else 1)
            s = s // unit * unit
            if lo <= s <= last:
                return s
        return lo + self.between(0, (last - lo) // unit) * unit

    def note(self, *ranges) -> None:
        for a, n in ranges:
            self.recent += [a, a + n]
        self.recent = self.recent[-8:]

    def legal(self, op: Op, f: dict) -> bool:
        return not (isa.check_legal(op, f, self.cfg) or isa.check_bounds(op, f, self.cfg)
                    or isa.check_access(op, f, self.cfg))

    def aligned_addr(self, area: int, area_bytes: int, nbytes: int) -> int:
        """A beat-aligned address for nbytes inside an area, often just before a 4 KB boundary."""
        bb = self.cfg.beat_bytes
        room = area_bytes - nbytes
        if room < 0:
            raise ValueError(f"{nbytes} bytes do not fit an area of {area_bytes}")
        if self.chance(0.3):
            cross = area + self.between(1, max(1, area_bytes // 4096)) * 4096 - self.between(1, 8) * bb
            if area <= cross <= area + room:
                return cross
        return area + self.between(0, room // bb) * bb

    # ---- instructions -----------------------------------------------------------------------
    def fc(self) -> tuple[Op, dict] | None:
        cfg, p = self.cfg, self.p
        src_region = self.pick([Region.V, Region.V, Region.Z])
        size = self.bounds[src_region][1] - self.bounds[src_region][0]
        cols = self.length(min(5 * p, size))
        src = self.start(src_region, cols, aligned=src_region == Region.Z)
        if src is None:
            return None
        kw = -(-cols // p)
        waddr = self.between(0, max(0, self.rows_of_weights - kw))
        bias = self.between(0, self.biases - 1)
        z_lo, z_hi = self.bounds[Region.Z]
        most = min((self.rows_of_weights - waddr) // kw, self.biases - bias, z_hi - z_lo)
        if most < 1:
            return None
        rows = min(most, self.pick([1, 2, p, p + 1, most, self.between(1, most), self.between(1, min(most, 3 * p))]))
        dst = self.start(Region.Z, rows, aligned=False)
        split = 0 if self.chance(0.6) else self.between(1, cols)
        shift1 = self.between(0, self.db - 1) if split else 0
        # a shift that keeps typical sums in range (random data: |sum| ~ sqrt(cols) * 2^(2 db - 2)),
        # or anything the field allows (saturation)
        sensible = self.db - 1 + int(np.log2(cols)) // 2 + (shift1 if split < cols else 0) + self.between(-3, 3)
        shift0 = self.between(0, self.limits[(Op.FC, "shift0")]) if self.chance(0.2) else sensible
        shift0 = min(max(shift0, 0), self.limits[(Op.FC, "shift0")])
        f = dict(dst=dst, src0=src, waddr=waddr, length=rows, cols=cols, bias=bias, shift0=shift0,
                 shift1=shift1, split=split)
        # only words and entries the prologue loaded: the RTL keeps older ones, the model has zeros
        assert waddr + rows * kw <= self.rows_of_weights and bias + rows <= self.biases, f
        self.note((src, cols), (dst, rows))
        return Op.FC, f

    def act(self) -> tuple[Op, dict] | None:
        cfg, p = self.cfg, self.p
        func = ActFunc(self.pick([0, 0, 1, 1, 2, 3, 4]))
        src_region = self.pick([Region.Z, Region.E])
        softmax = func == ActFunc.SOFTMAX
        fb = cfg.lut_frac_bits
        if softmax:
            n = self.length(2 * p + 3)
            depth = cfg.exp_lut_depth
        else:
            n = self.length(5 * p)
            depth = cfg.table_depth("softsign" if func == ActFunc.SOFTSIGN else "sigmoid")
        src = self.start(src_region, n, aligned=not softmax)
        dst = src if (not softmax and src_region == Region.E and self.chance(0.2)) else \
            self.start(Region.E, n, aligned=not softmax)
        if src is None or dst is None:
            return None
        idx0 = fb + cfg.lut_range_log2 - (depth.bit_length() - 1)  # table shift for 0 fraction bits
        frac_in = self.between(0, self.db - 1) - (1 if func == ActFunc.TANH else 0)
        shift0 = self.between(0, self.limits[(Op.ACT, "shift0")]) if self.chance(0.15) else idx0 + frac_in
        shift1 = self.between(0, self.limits[(Op.ACT, "shift1")]) if self.chance(0.15) else \
            self.db - 1 - self.between(0, 3)
        f = dict(func=int(func), dst=dst, src0=src, length=n,
                 shift0=min(max(shift0, 0), self.limits[(Op.ACT, "shift0")]),
                 shift1=min(max(shift1, 0), self.limits[(Op.ACT, "shift1")]))
        self.note((src, n), (dst, n))
        return Op.ACT, f

    def ew(self) -> tuple[Op, dict] | None:
        func = EwFunc(self.between(0, 1))
        n = self.length(5 * self.p)
        a = self.start(self.pick([Region.Z, Region.E, Region.E]), n, aligned=True)
        b = self.start(Region.E, n, aligned=True)
        dst_region = self.pick([Region.V, Region.E, Region.E])
        if self.chance(0.2) and a is not None and isa.region_of(self.cfg, a) == Region.E:
            dst = a  # in place
        else:
            dst = self.start(dst_region, n, aligned=dst_region == Region.E)
        if None in (a, b, dst):
            return None
        s0 = s1 = 0
        if func == EwFunc.ADD:
            which = self.between(0, 2)
            if which == 1:
                s0 = self.between(1, self.db - 1)
            elif which == 2:
                s1 = self.between(1, self.db - 1)
            s2 = self.between(0, 3) if self.chance(0.8) else self.between(0, self.limits[(Op.EW, "shift2")])
        else:
            s2 = self.db - 1 + self.between(-2, 1) if self.chance(0.8) else \
                self.between(0, self.limits[(Op.EW, "shift2")])
        f = dict(func=int(func), dst=dst, src0=a, src1=b, length=n, shift0=s0, shift1=s1,
                 shift2=min(max(s2, 0), self.limits[(Op.EW, "shift2")]))
        self.note((a, n), (b, n), (dst, n))
        return Op.EW, f

    def dma(self, in_loop: bool, trips: int) -> tuple[Op, dict] | None:
        cfg, lay, p = self.cfg, self.lay, self.p
        eb, bb = cfg.elem_bytes, cfg.beat_bytes
        kind = self.pick(["load", "load", "store", "store", "wload", "bload"] if not in_loop else ["load", "store"])
        cond = self.between(0, 3) if self.chance(0.3) else 0
        base, stride, reach = 0, 0, 1
        if in_loop:
            stride = self.between(0, 4) * bb
            reach = max(1, trips)
        if kind in ("load", "store"):
            region = self.pick([Region.V, Region.E] if kind == "load" else [Region.V, Region.Z, Region.E])
            n = self.length(6 * p)
            at = self.start(region, n, aligned=region != Region.V)
            if at is None:
                return None
            nbytes = _round_up(n * eb, bb) + (reach - 1) * stride
            area, area_bytes, base_reg = (lay.data, lay.data_bytes, 1) if kind == "load" else (lay.out, lay.out_bytes, 2)
            addr = self.aligned_addr(area, area_bytes, nbytes)
            if in_loop or self.chance(0.3):
                base, offset = base_reg, addr - area  # BASE1 = data, BASE2 = out
            else:
                offset = addr
            self.note((at, n))
            if kind == "load":
                return Op.LOAD, dict(func=int(LoadTarget.ABUF), dst=at, length=n, ddr_offset=offset, stride=stride,
                                     base=base, cond=cond)
            return Op.STORE, dict(src0=at, length=n, ddr_offset=offset, stride=stride, base=base, cond=cond)
        # weight and bias reloads stay inside what the prologue loaded: FCs only read defined words
        if kind == "wload":
            total, unit, area, area_bytes = self.rows_of_weights, cfg.word_bits // 8, lay.weights, lay.weight_bytes
            target = LoadTarget.WBUF
        else:
            total, unit, area, area_bytes = self.biases, 4, lay.biases, lay.bias_bytes
            target = LoadTarget.BBUF
        dst = self.between(0, total - 1)
        n = self.between(1, total - dst)
        addr = self.aligned_addr(area, area_bytes, _round_up(n * unit, bb))
        return Op.LOAD, dict(func=int(target), dst=dst, length=n, ddr_offset=addr, cond=cond)

    def instruction(self, in_loop: bool = False, trips: int = 1) -> int:
        for _ in range(100):
            kind = self.pick(["fc", "fc", "act", "act", "ew", "ew", "dma", "dma", "control"])
            if kind == "control":
                if in_loop:
                    return isa.encode(Op.NOP)
                op = self.pick([Op.NOP, Op.SYNC, Op.FC, Op.ACT, Op.EW])
                # a kernel instruction of length 0 leaves the issue stage like a NOP
                if op in (Op.NOP, Op.SYNC):
                    return isa.encode(op)
                return isa.encode(op, length=0, **({"cols": 1} if op == Op.FC else {}))
            got = {"fc": self.fc, "act": self.act, "ew": self.ew}[kind]() if kind != "dma" else \
                self.dma(in_loop, trips)
            if got is not None and self.legal(*got):
                op, f = got
                return isa.encode(op, **f)
        raise RuntimeError(f"seed {self.seed}: no legal instruction in 100 draws")


def _pack(values: np.ndarray, dtype: str) -> bytes:
    return values.astype(dtype).tobytes()


_E = isa.ErrorCode
# Faults a program may contain and the error each must stop it with; `_fault` builds the item
FAULTS = {"illegal_opcode": _E.ILLEGAL_OPCODE, "illegal_func": _E.ILLEGAL_OPCODE, "shift_over_limit": _E.ILLEGAL_OPCODE,
          "abuf_overflow": _E.BUFFER_OVERFLOW, "fc_weights_overflow": _E.BUFFER_OVERFLOW,
          "fc_bias_overflow": _E.BUFFER_OVERFLOW, "wload_overflow": _E.BUFFER_OVERFLOW,
          "bload_overflow": _E.BUFFER_OVERFLOW, "region": _E.REGION_ERROR, "misaligned": _E.MISALIGNED,
          "endloop_outside": _E.LOOP_ERROR, "nested_loop": _E.LOOP_ERROR, "axi_read": _E.AXI_ERROR,
          "axi_write": _E.AXI_ERROR}


def _fault(g: _Generator, kind: str):
    """An item that makes the processor stop with an error."""
    cfg, p, lay = g.cfg, g.p, g.lay
    E = g.bounds[Region.E][0]
    Z = g.bounds[Region.Z][0]
    if kind == "illegal_opcode":
        return g.between(int(max(Op)) + 1, 15)
    if kind == "illegal_func":
        return isa.encode(Op.EW, func=2 + g.between(0, 1), dst=E, src0=E, src1=E, length=1)
    if kind == "shift_over_limit":
        return isa.encode(Op.FC, dst=Z, src0=0, waddr=0, length=1, cols=1, shift0=cfg.acc_bits)
    if kind == "abuf_overflow":
        return isa.encode(Op.ACT, func=0, dst=cfg.abuf_elements - p, src0=E, length=2 * p)
    if kind == "fc_weights_overflow":
        return isa.encode(Op.FC, dst=Z, src0=0, waddr=cfg.wbuf_words - 1, length=2, cols=1, bias=0)
    if kind == "fc_bias_overflow":
        return isa.encode(Op.FC, dst=Z, src0=0, waddr=0, length=2, cols=1, bias=cfg.bbuf_depth - 1)
    if kind == "wload_overflow":
        return isa.encode(Op.LOAD, func=int(LoadTarget.WBUF), dst=cfg.wbuf_words - 1, length=2, ddr_offset=lay.weights)
    if kind == "bload_overflow":
        return isa.encode(Op.LOAD, func=int(LoadTarget.BBUF), dst=cfg.bbuf_depth - 2, length=3, ddr_offset=lay.biases)
    if kind == "region":
        return isa.encode(Op.EW, func=0, dst=E, src0=E, src1=Z, length=p)
    if kind == "misaligned":
        return isa.encode(Op.STORE, src0=E, length=1, ddr_offset=lay.out + g.between(1, cfg.beat_bytes - 1))
    if kind == "endloop_outside":
        return isa.encode(Op.ENDLOOP)
    if kind == "nested_loop":
        return Loop(int(LoopCount.IMMEDIATE), 2, [isa.encode(Op.NOP), isa.encode(Op.LOOP, count=1, jump=0),
                                                  isa.encode(Op.NOP)])
    beats = 4 * cfg.beat_bytes // cfg.elem_bytes  # four beats of elements; the last ones past the end
    if kind == "axi_read":
        return isa.encode(Op.LOAD, func=int(LoadTarget.ABUF), dst=E, length=beats,
                          ddr_offset=lay.mem_bytes - g.between(0, 3) * cfg.beat_bytes)
    if kind == "axi_write":
        return isa.encode(Op.STORE, src0=E, length=beats, ddr_offset=lay.mem_bytes - g.between(0, 3) * cfg.beat_bytes)
    raise ValueError(kind)


def random_program(cfg: ProcessorConfig, seed: int, fault_rate: float = 0.1,
                   backpressure_rate: float = 0.3) -> RandomProgram:
    """The random scenario of `seed` for `cfg` (see the module docstring)."""
    g = _Generator(cfg, seed)
    rng, lay, p = g.rng, g.lay, g.p
    image = bytearray(lay.mem_bytes)
    dtype = f"<i{cfg.elem_bytes}"
    data = rng.integers(cfg.data_min, cfg.data_max + 1, lay.data_bytes // cfg.elem_bytes)
    image[lay.data:lay.data + lay.data_bytes] = _pack(data, dtype)
    weights = rng.integers(cfg.data_min, cfg.data_max + 1, lay.weight_bytes // cfg.elem_bytes)
    image[lay.weights:lay.weights + lay.weight_bytes] = _pack(weights, dtype)
    scale = 1 << (cfg.acc_bits - 8)
    image[lay.biases:lay.biases + lay.bias_bytes] = _pack(rng.integers(-scale, scale, lay.bias_bytes // 4), "<i4")

    # prologue: weights and biases (a random prefix, sometimes all), all of V and E, all of Z by FCs
    v_lo, v_hi = g.bounds[Region.V]
    e_lo, e_hi = g.bounds[Region.E]
    z_lo, z_hi = g.bounds[Region.Z]
    # Z is written by FCs of `chunk` rows (one weight word and one bias each): at most four
    chunk = min(cfg.bbuf_depth, cfg.wbuf_words, -(-(z_hi - z_lo) // 4))
    g.rows_of_weights = cfg.wbuf_words if g.chance(0.25) else g.between(chunk, max(chunk, min(cfg.wbuf_words, 8 * p)))
    g.biases = cfg.bbuf_depth if g.chance(0.25) else g.between(chunk, max(chunk, min(cfg.bbuf_depth, 8 * p)))
    prologue = [isa.encode(Op.LOAD, func=int(LoadTarget.WBUF), dst=0, length=g.rows_of_weights, ddr_offset=lay.weights),
                isa.encode(Op.LOAD, func=int(LoadTarget.BBUF), dst=0, length=g.biases, ddr_offset=lay.biases)]
    eb = cfg.elem_bytes
    prologue.append(isa.encode(Op.LOAD, func=0, dst=v_lo, length=v_hi - v_lo, ddr_offset=lay.data))
    prologue.append(isa.encode(Op.LOAD, func=0, dst=e_lo, length=e_hi - e_lo,
                               ddr_offset=lay.data + _round_up((v_hi - v_lo) * eb, cfg.beat_bytes)))
    for z in range(z_lo, z_hi, chunk):
        n = min(chunk, z_hi - z)
        prologue.append(isa.encode(Op.FC, dst=z, src0=v_lo, waddr=0, length=n, cols=1, bias=0,
                                   shift0=g.db - 1 + g.between(-2, 2)))
    epilogue, off = [], lay.final
    for lo, hi in ((v_lo, v_hi), (z_lo, z_hi), (e_lo, e_hi)):
        epilogue.append(isa.encode(Op.STORE, src0=lo, length=hi - lo, ddr_offset=off))
        off += _round_up((hi - lo) * eb, cfg.beat_bytes)
    epilogue.append(isa.encode(Op.END))

    seq_len = g.between(0, 4) if g.chance(0.8) else g.between(5, 9)
    flags = g.between(0, 7)
    room = cfg.imem_depth - len(prologue) - len(epilogue) - 5  # spare for a fault (a loop: 5)
    n_items = g.between(1, max(1, min(40, room - 8)))
    items: list = []
    used = 0
    loop_at = g.between(0, n_items) if g.chance(0.6) else -1
    for k in range(n_items + 1):
        if k == loop_at and room - used >= 5:
            immediate = g.chance(0.5)
            count = g.between(0, 4) if immediate else seq_len
            body_len = g.between(2, min(6, room - used - 2))
            body = [g.instruction(in_loop=True, trips=count) for _ in range(body_len)]
            items.append(Loop(int(LoopCount.IMMEDIATE if immediate else LoopCount.SEQ_LEN),
                              count if immediate else 0, body))
            used += body_len + 2
        elif k < n_items and used < room - 1:
            items.append(g.instruction())
            used += 1
    kind = fault_item = None
    if g.chance(fault_rate):
        kind = g.pick(sorted(FAULTS))
        fault_item = _fault(g, kind)
        items.insert(g.between(0, len(items)), fault_item)
    pauses = None
    if g.chance(backpressure_rate):
        pauses = {ch: float(g.pick([0.0, 0.1, 0.3, 0.6])) for ch in PAUSED_CHANNELS}
    return RandomProgram(cfg, seed, image, prologue, items, epilogue, seq_len, flags,
                         (0, lay.data, lay.out, 0), lay.mem_bytes, pauses,
                         error_response=g.pick(["SLVERR", "DECERR"]), fault=kind,
                         fault_item=fault_item)


class Shrinker:
    """Removes items from a failing random program while it keeps failing (delta debugging, one
    item at a time from the end, then loop bodies), driven from outside so that the run can be
    synchronous (golden model) or a cocotb coroutine:

        s = Shrinker(rp)
        while (items := s.candidate()) is not None:
            s.report(fails(rp.scenario(items)))
        s.items   # the smallest failing list found
    """

    def __init__(self, rp: RandomProgram, max_runs: int = 80):
        self.rp = rp
        self.items = list(rp.items)
        self.runs = 0
        self.max_runs = max_runs
        self._queue = self._candidates()
        self._pending = None

    def _candidates(self):
        changed = True
        while changed:
            changed = False
            for i in reversed(range(len(self.items))):
                if i >= len(self.items):
                    continue
                trial = self.items[:i] + self.items[i + 1:]
                if (yield trial):
                    self.items, changed = trial, True
            for i, item in enumerate(self.items):
                if isinstance(item, Loop):
                    for j in reversed(range(len(item.body))):
                        if len(item.body) <= 2 or j >= len(item.body):
                            continue  # the ISA wants two instructions besides the ENDLOOP
                        smaller = Loop(item.func, item.count, item.body[:j] + item.body[j + 1:])
                        trial = self.items[:i] + [smaller] + self.items[i + 1:]
                        if (yield trial):
                            self.items, item, changed = trial, smaller, True

    def candidate(self):
        if self.runs >= self.max_runs:
            return None
        try:
            self._pending = next(self._queue) if self._pending is None else self._queue.send(self._last)
        except StopIteration:
            return None
        self.runs += 1
        return self._pending

    def report(self, still_fails: bool) -> None:
        self._last = bool(still_fails)


def save_regression(rp: RandomProgram, items, message: str, directory: pathlib.Path = REGRESSION_DIR) -> pathlib.Path:
    """Keep a shrunk failing case in the repository: the seed regenerates the memory image, the
    items are stored as instruction words."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{rp.cfg.short_id()}-seed{rp.seed}.json"
    def encode(item):
        return {"loop": [item.func, item.count, [f"{w:032x}" for w in item.body]]} if isinstance(item, Loop) \
            else f"{item:032x}"
    path.write_text(json.dumps({"config": rp.cfg.as_dict(), "seed": rp.seed, "message": message,
                                "items": [encode(i) for i in items]}, indent=1) + "\n")
    return path


def load_regressions(cfg: ProcessorConfig, directory: pathlib.Path = REGRESSION_DIR) -> list[Scenario]:
    """The kept cases of this config, as scenarios."""
    out = []
    for path in sorted(directory.glob("*.json")):
        case = json.loads(path.read_text())
        if ProcessorConfig(**case["config"]) != cfg:
            continue
        rp = random_program(cfg, case["seed"])
        items = [Loop(i["loop"][0], i["loop"][1], [int(w, 16) for w in i["loop"][2]]) if isinstance(i, dict)
                 else int(i, 16) for i in case["items"]]
        out.append(rp.scenario(items, name=f"regression_{path.stem}"))
    return out


def random_config(seed: int) -> ProcessorConfig:
    """A valid processor config drawn from a seed: lanes 4 to 64, int8/int16, AXI 32 to 256 bits,
    small buffers (so region ends are reached) and table depths; redrawn until valid."""
    rng = np.random.default_rng([seed, 0xC0F])
    for _ in range(100):
        lanes = int(rng.choice([4, 8, 16, 32, 64]))
        options = dict(lanes=lanes, data_type=str(rng.choice(["int8", "int16"])),
                       axi_data_bits=int(rng.choice([32, 64, 128, 256])),
                       vbuf_words=int(rng.choice([8, 16, 32])), zbuf_words=int(rng.choice([8, 16, 32])),
                       ebuf_words=int(rng.choice([8, 16, 32])), wbuf_words=int(rng.choice([128, 256, 1024])),
                       bbuf_depth=int(rng.choice([64, 256])), imem_depth=int(rng.choice([64, 128])),
                       lut_depth=int(rng.choice([64, 256])))
        try:
            return ProcessorConfig(**options)
        except ValueError:
            continue
    raise RuntimeError(f"seed {seed}: no valid config in 100 draws")
