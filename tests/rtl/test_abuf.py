"""MyHDL-native tests of the activation buffer (rtl/abuf.py) alone, against a plain Python list
model of its documented port semantics (rtl/interfaces.py AbufReadPort and AbufWritePort):

- a read presented (en high) in cycle k puts its data on the port in cycle k + READ_LATENCY, and
  the port holds it until the next read's data arrives;
- a write presented in cycle k lands at the end of cycle k + 2: reads presented in cycle k + 1
  see the old contents (their memory read is at the end of k + 2 too, and reads before it
  writes), reads from cycle k + 2 on see the new (WRITE_LATENCY);
- region V: write lane i goes to element addr + i (i < count), read lane l is element addr + l, at
  any alignment (V's readers, the FC's and the DMA's ports, get it in bank order: lane l is the
  one of addr..addr+P-1 that is l mod P); regions Z and E: a write sets lanes addr%P ..
  addr%P+count-1 of the row holding addr from the same lanes of `data`, a read returns the row
  holding addr.

Schedules respect what the issue unit guarantees (rtl/isa.py): a kernel port only addresses the
regions isa.PORTS gives it, each region port (isa.Resource) has at most one user per cycle, and
Z/E accesses are row aligned (P-wide accesses and the FC/EW reads start at a row, the DMA's at a
beat; a write of fewer than P elements stays inside its row; ACT's element reads (softmax) may
address any element of a row). Disabled ports carry random region, address and data, which the
buffer must ignore. Lanes past a region's end are not compared.

The configs are small (tiny regions) so every test simulates in a few seconds; each test runs
one simulation per config (tests/rtl/abuf_bench.py).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from rtl import isa
from rtl.config import ProcessorConfig
from rtl.interfaces import READ_LATENCY, WRITE_LATENCY
from rtl.isa import Region, Resource
from tests.rtl.abuf_bench import READ_PORTS, WRITE_PORTS, Cycle, Read, Write, run_abuf

# A write presented in cycle k is seen by reads presented in cycle k + WRITE_DELAY and later
# (AbufWritePort: written at the end of cycle k + 2, where a read presented in k + 1 reads the memory).
WRITE_DELAY = WRITE_LATENCY

P16_INT16 = ProcessorConfig(lanes=16, vbuf_words=16, zbuf_words=32, ebuf_words=32, axi_data_bits=32)
P4_INT8 = ProcessorConfig(lanes=4, data_type="int8", vbuf_words=16, zbuf_words=32, ebuf_words=32, axi_data_bits=32)
P8_INT16 = ProcessorConfig(lanes=8, vbuf_words=16, zbuf_words=32, ebuf_words=32, axi_data_bits=64)
CONFIGS = [pytest.param(c, id=c.short_id()) for c in (P16_INT16, P4_INT8, P8_INT16)]

RP = {name: i for i, name in enumerate(READ_PORTS)}
V_BANK_ORDER = ("fc.read", "dma.read")  # V's readers: the FC rotates its weights, the DMA its beat
WP = {name: i for i, name in enumerate(WRITE_PORTS)}


@pytest.fixture(scope="module", params=CONFIGS)
def cfg(request) -> ProcessorConfig:
    """Module scoped, so pytest runs every test of one config before the next config."""
    return request.param


# ---- the model -----------------------------------------------------------------------------------
class AbufModel:
    """The activation buffer as a flat list of elements (the gaps between regions included, never
    written), with the documented meaning of a write and of a read."""

    def __init__(self, cfg: ProcessorConfig):
        self.p = cfg.lanes
        self.bounds = isa.region_bounds(cfg)
        self.mem = [0] * cfg.abuf_elements

    def write(self, region: int, addr: int, count: int, data: list[int]) -> None:
        p = self.p
        lo, hi = self.bounds[Region(region)]
        if region == Region.V:
            targets = [(addr + i, data[i]) for i in range(count)]
        else:
            off = addr % p
            assert off + count <= p, f"test bug: a write of {count} elements from lane {off} leaves its row"
            targets = [(addr - off + lane, data[lane]) for lane in range(off, off + count)]
        for a, v in targets:
            assert lo <= a < hi, f"test bug: write of element {a} outside region {Region(region).name}"
            self.mem[a] = v

    def read(self, port: str, region: int, addr: int) -> list[int | None]:
        """The P lanes a read returns; None for lanes that are not compared (past the region's end)."""
        p = self.p
        lo, hi = self.bounds[Region(region)]
        assert lo <= addr < hi, f"test bug: {port} reads element {addr} outside region {Region(region).name}"
        if region == Region.V and port in V_BANK_ORDER:  # bank order: lane l = the element that is l mod P
            elements = [addr + (lane - addr) % p for lane in range(p)]
            return [self.mem[x] if x < hi else None for x in elements]
        elif region == Region.V:
            first, n = addr, p       # lane l = element addr + l
        else:
            first, n = addr - addr % p, p  # the row holding addr
        return [self.mem[first + lane] if lane < n and first + lane < hi else None for lane in range(p)]


@dataclasses.dataclass
class Held:
    """What the model says a read port holds: the data of the read presented in cycle `cycle`."""
    lanes: list[int | None]
    cycle: int
    region: int
    addr: int


def model_run(cfg: ProcessorConfig, schedule: list[Cycle], n_cycles: int):
    """Run the model over the schedule. Returns (expected, model): expected[k][i] is the Held on
    read port READ_PORTS[i] during cycle k (None before its first read's data), for k < n_cycles;
    model holds the contents after every write."""
    model = AbufModel(cfg)
    arriving: dict[int, list[tuple[int, Held]]] = {}
    held: list[Held | None] = [None] * len(READ_PORTS)
    expected = []
    for k in range(n_cycles):
        if 0 <= k - WRITE_DELAY < len(schedule):
            for wr in schedule[k - WRITE_DELAY].writes:
                if wr.en:
                    model.write(wr.region, wr.addr, wr.count, wr.data)
        if k < len(schedule):
            for i, rd in enumerate(schedule[k].reads):
                if rd.en:
                    lanes = model.read(READ_PORTS[i], rd.region, rd.addr)
                    arriving.setdefault(k + READ_LATENCY, []).append((i, Held(lanes, k, rd.region, rd.addr)))
        for i, h in arriving.pop(k, []):
            held[i] = h
        expected.append(list(held))
    return expected, model


def check_against_model(cfg: ProcessorConfig, schedule: list[Cycle], observed, final) -> dict:
    """Assert that every read port's data in every cycle, and the memories at the end, match the
    model. Returns counts: `lanes` (lane comparisons, held data included), `fresh` (lane
    comparisons in the cycle a read's data arrives), `reads[(port, region)]` (reads whose data was
    compared on arrival), `nonzero` (compared lanes whose value is not 0, so that a buffer that
    reads zeros cannot pass)."""
    expected, model = model_run(cfg, schedule, len(observed))
    counts = {"lanes": 0, "nonzero": 0, "fresh": 0, "reads": {}}
    for k, (got_ports, want_ports) in enumerate(zip(observed, expected)):
        for i, (got, want) in enumerate(zip(got_ports, want_ports)):
            if want is None:
                continue
            fresh = want.cycle + READ_LATENCY == k
            if fresh:
                key = (READ_PORTS[i], Region(want.region))
                counts["reads"][key] = counts["reads"].get(key, 0) + 1
            for lane, v in enumerate(want.lanes):
                if v is None:
                    continue
                assert got[lane] == v, (
                    f"cycle {k}, port {READ_PORTS[i]}, lane {lane}: got {got[lane]}, model {v} (data of the read "
                    f"presented in cycle {want.cycle}: region {Region(want.region).name}, address {want.addr}; "
                    f"{'arrives' if fresh else 'held'} in this cycle)")
                counts["lanes"] += 1
                counts["nonzero"] += v != 0
                counts["fresh"] += fresh
    for region, (lo, hi) in isa.region_bounds(cfg).items():
        bad = [a for a in range(lo, hi) if final[a] != model.mem[a]]
        assert not bad, (f"memories at the end, region {region.name}: {len(bad)} elements differ, first "
                         f"{bad[0]}: got {final[bad[0]]}, model {model.mem[bad[0]]}")
    return counts


# ---- schedule builders ---------------------------------------------------------------------------
def random_lanes(cfg: ProcessorConfig, rng: np.random.Generator) -> list[int]:
    return [int(v) for v in rng.integers(cfg.data_min, cfg.data_max + 1, cfg.lanes)]


def disabled_read(cfg: ProcessorConfig, rng: np.random.Generator) -> Read:
    """A read port that reads nothing but carries a random region and address."""
    return Read(False, int(rng.integers(0, 3)), int(rng.integers(0, cfg.abuf_elements)))


def disabled_write(cfg: ProcessorConfig, rng: np.random.Generator) -> Write:
    """A write port that writes nothing but carries random fields."""
    return Write(False, int(rng.integers(0, 3)), int(rng.integers(0, cfg.abuf_elements)),
                 int(rng.integers(0, cfg.lanes + 1)), random_lanes(cfg, rng))


def idle(cfg: ProcessorConfig, rng: np.random.Generator) -> Cycle:
    return Cycle([disabled_read(cfg, rng) for _ in READ_PORTS], [disabled_write(cfg, rng) for _ in WRITE_PORTS])


def fill_schedule(cfg: ProcessorConfig, rng: np.random.Generator) -> list[Cycle]:
    """Cycles that write every row of every region with random data (one row of each region per
    cycle, V through EW or DMA, Z through FC, E through another of ACT, EW, DMA), no reads."""
    p = cfg.lanes
    bounds = isa.region_bounds(cfg)
    rows = {r: (hi - lo) // p for r, (lo, hi) in bounds.items()}
    out = []
    for k in range(max(rows.values())):
        cyc = idle(cfg, rng)
        v_writer = ("ew.write", "dma.write")[k % 2]
        e_writer = [w for w in ("act.write", "ew.write", "dma.write") if w != v_writer][(k // 2) % 2]
        for region, port in ((Region.V, v_writer), (Region.Z, "fc.write"), (Region.E, e_writer)):
            if k < rows[region]:
                cyc.writes[WP[port]] = Write(True, int(region), bounds[region][0] + k * p, p, random_lanes(cfg, rng))
        out.append(cyc)
    return out


def random_write(cfg: ProcessorConfig, rng: np.random.Generator, region: Region) -> Write:
    """A write of 1..P elements (P, 1 and in between equally often): anywhere inside V; inside
    one row of Z or E, a P-element write at the row's start."""
    p = cfg.lanes
    lo, hi = isa.region_bounds(cfg)[region]
    count = int((p, 1, rng.integers(2, p))[rng.integers(3)])
    if region == Region.V:
        addr = int(rng.integers(lo, hi - count + 1))
    else:
        addr = lo + p * int(rng.integers(0, (hi - lo) // p)) + int(rng.integers(0, p - count + 1))
    return Write(True, int(region), addr, count, random_lanes(cfg, rng))


def random_read(cfg: ProcessorConfig, rng: np.random.Generator, port: str, region: Region) -> Read:
    """A read as the kernels present them: any element of V; in Z and E a row start (FC, EW), a
    beat start (DMA) or any element (ACT's element-serial softmax reads)."""
    lo, hi = isa.region_bounds(cfg)[region]
    if region == Region.V or port == "act.read":
        addr = int(rng.integers(lo, hi))
    else:
        step = cfg.elems_per_beat if port == "dma.read" else cfg.lanes
        addr = lo + step * int(rng.integers(0, (hi - lo) // step))
    return Read(True, int(region), addr)


def pick_region(port: str, free: set, rng: np.random.Generator) -> Region | None:
    """A random region the kernel port reaches whose region port is free this cycle (taken)."""
    options = [r for r, res in isa.PORTS[port].items() if res in free]
    if not options:
        return None
    region = options[int(rng.integers(len(options)))]
    free.discard(isa.PORTS[port][region])
    return region


def random_schedule(cfg: ProcessorConfig, rng: np.random.Generator, cycles: int) -> list[Cycle]:
    """`fill_schedule`, then `cycles` cycles in which each write port writes with probability 0.7
    and each read port reads with probability 0.75, ports taken in random order, each into a
    random region it reaches whose region port no other kernel port uses in that cycle."""
    out = fill_schedule(cfg, rng)
    for _ in range(cycles):
        free = set(Resource)
        cyc = idle(cfg, rng)
        for port in rng.permutation(WRITE_PORTS):
            if rng.random() < 0.7 and (region := pick_region(port, free, rng)) is not None:
                cyc.writes[WP[port]] = random_write(cfg, rng, region)
        for port in rng.permutation(READ_PORTS):
            if rng.random() < 0.75 and (region := pick_region(port, free, rng)) is not None:
                cyc.reads[RP[port]] = random_read(cfg, rng, port, region)
        out.append(cyc)
    return out


def assert_legal(cfg: ProcessorConfig, schedule: list[Cycle]) -> None:
    """The schedule keeps the issue unit's guarantees (a check of the test itself)."""
    p = cfg.lanes
    bounds = isa.region_bounds(cfg)
    for k, cyc in enumerate(schedule):
        used = []
        for names, accesses in ((READ_PORTS, cyc.reads), (WRITE_PORTS, cyc.writes)):
            for name, a in zip(names, accesses):
                if not a.en:
                    continue
                region = Region(a.region)
                assert region in isa.PORTS[name], f"test bug: cycle {k}: {name} cannot reach {region.name}"
                lo, hi = bounds[region]
                assert lo <= a.addr < hi, f"test bug: cycle {k}: {name} address {a.addr} not in {region.name}"
                used.append(isa.PORTS[name][region])
                if isinstance(a, Write):
                    assert 1 <= a.count <= p
                    if region == Region.V:
                        assert a.addr + a.count <= hi
                    else:
                        assert a.addr % p + a.count <= p and (a.count < p or a.addr % p == 0)
                elif region in isa.ALIGNED_REGIONS and name != "act.read":
                    assert a.addr % (cfg.elems_per_beat if name == "dma.read" else p) == 0
        assert len(used) == len(set(used)), f"test bug: cycle {k}: a region port has two users: {used}"


# ---- tests ---------------------------------------------------------------------------------------
def test_random_schedule_matches_model(cfg):
    """A fill of every row of every region, then 300 cycles of random traffic on all 9 ports
    (unaligned V reads and writes, partial writes of 1..P elements in every region, reads of every
    region by every port that reaches it, disabled ports carrying random fields), against the list
    model: every read port's data in every cycle (arrival READ_LATENCY cycles after the read, held
    in between, writes visible WRITE_DELAY cycles after their en) and every element of the
    memories at the end (both copies of E: kernel_bench.read_abuf asserts they agree). Reads of E
    through E_READ0 (ACT, EW a) and E_READ1 (EW b, DMA) check both copies against the same model.
    Coverage is asserted so the test cannot pass vacuously."""
    rng = np.random.default_rng(2031)
    p, e = cfg.lanes, cfg.elems_per_beat
    cycles = 300
    schedule = random_schedule(cfg, rng, cycles)
    assert_legal(cfg, schedule)
    observed, final = run_abuf(cfg, schedule)
    counts = check_against_model(cfg, schedule, observed, final)

    # what the schedule exercised
    for port, reach in isa.PORTS.items():
        for region in reach:
            if port.endswith(".write"):
                n = sum(1 for c in schedule if c.writes[WP[port]].en and c.writes[WP[port]].region == region)
            else:
                n = counts["reads"].get((port, region), 0)
            assert n >= 20, f"only {n} {'writes' if port.endswith('.write') else 'reads'} by {port} in {region.name}"
    for region in Region:
        partial = sum(1 for c in schedule for w in c.writes if w.en and w.region == region and w.count < p)
        assert partial >= 20, f"only {partial} partial writes into {region.name}"
    unaligned_w = sum(1 for c in schedule for w in c.writes if w.en and w.region == Region.V and w.addr % p)
    assert unaligned_w >= 30, f"only {unaligned_w} unaligned writes into V"
    for port in ("fc.read", "dma.read"):
        unaligned_r = sum(1 for c in schedule if c.reads[RP[port]].en and c.reads[RP[port]].region == Region.V
                          and c.reads[RP[port]].addr % p)
        assert unaligned_r >= 20, f"only {unaligned_r} unaligned reads of V by {port}"
    assert counts["fresh"] >= cycles * (2 * p + e), f"only {counts['fresh']} lanes of arriving read data compared"
    assert counts["lanes"] >= cycles * (3 * p + e), f"only {counts['lanes']} lanes compared"
    assert counts["nonzero"] >= 0.9 * counts["lanes"], "the compared data is mostly zeros"


RAW_EPISODE = 4  # cycles per episode: the write, and reads presented 0..3 cycles after it


def raw_episodes() -> list[tuple[Region, str, tuple[str, ...]]]:
    """(region, write port, read ports) for every write port into every region. V and Z: the
    read ports of the region in turn, one per cycle, rotated so that each reads in each cycle of
    some episode (V: FC, DMA; Z: FC, ACT, EW a, DMA). E: an E_READ0 port (ACT or EW a) and an
    E_READ1 port (EW b or DMA) both in every cycle, all four pairings."""
    out = []
    for region in Region:
        writers = [w for w in WRITE_PORTS if region in isa.PORTS[w]]
        readers = [r for r in READ_PORTS if region in isa.PORTS[r]]
        for writer in writers:
            if region == Region.E:
                out += [(region, writer, (r0, r1)) for r0 in ("act.read", "ew.read_a")
                        for r1 in ("ew.read_b", "dma.read")]
            else:
                out += [(region, writer, tuple(readers[s:] + readers[:s])) for s in range(len(readers))]
    return out


def test_read_after_write_timing(cfg):
    """Directed read-after-write, after a fill of every region: a write covering element x
    presented in cycle k (1..P elements; x off a row start in V; in Z and E from x's lane of its
    row) and reads whose data holds x presented in cycles k, k+1, k+2 and k+3, for every write port
    into every region and every reader of that region. The reads presented in cycles k and k+1
    return x's old value for k, the new one for k+1 on: the write lands at the end of cycle k+1,
    where the read presented in k reads the memory, and a memory reads before it writes
    (AbufWritePort: "a read presented in any later cycle than `en` sees them"). In E an E_READ0 port (ACT or EW a) and an E_READ1 port (EW b or DMA) read in
    the same cycles and must return the same data (the two copies agree after every write). The
    whole trace and the final memories are also compared with the list model."""
    rng = np.random.default_rng(77)
    p, e = cfg.lanes, cfg.elems_per_beat
    bounds = isa.region_bounds(cfg)
    schedule = fill_schedule(cfg, rng) + [idle(cfg, rng) for _ in range(WRITE_DELAY)]
    model = AbufModel(cfg)
    for cyc in schedule:
        for w in cyc.writes:
            if w.en:
                model.write(w.region, w.addr, w.count, w.data)
    checks = []  # (cycles after the write, cycle of the read, port, lane of x, expected, description)
    pairs = []   # (cycle of the reads, E_READ0 port, E_READ1 port, x)
    episodes = raw_episodes()
    for region, writer, readers in episodes:
        lo, hi = bounds[region]
        k = len(schedule)
        episode = [idle(cfg, rng) for _ in range(RAW_EPISODE)]
        if region == Region.V:
            x = lo + p * int(rng.integers(0, (hi - lo) // p - 1)) + int(rng.integers(1, p))
            count = int(rng.integers(1, min(p, hi - x) + 1))
        else:
            x = int(rng.integers(lo, hi))
            count = int(rng.integers(1, p - x % p + 1))
        lane_x = 0 if region == Region.V else x % p  # the lane of `data` that goes to x
        old = model.mem[x]
        data = random_lanes(cfg, rng)
        while data[lane_x] == old:
            data[lane_x] = int(rng.integers(cfg.data_min, cfg.data_max + 1))
        episode[0].writes[WP[writer]] = Write(True, int(region), x, count, data)
        model.write(int(region), x, count, data)
        for d in range(RAW_EPISODE):
            for port in readers if region == Region.E else (readers[d % len(readers)],):
                if port == "dma.read":  # the beat holding x (beat aligned in Z and E)
                    addr = max(lo, x - int(rng.integers(0, e))) if region == Region.V else x - x % e
                elif region == Region.V:
                    addr = max(lo, x - int(rng.integers(0, p)))
                elif port == "act.read":
                    addr = x - x % p + int(rng.integers(0, p))  # any element of x's row
                else:
                    addr = x - x % p
                episode[d].reads[RP[port]] = Read(True, int(region), addr)
                if region == Region.V and port in V_BANK_ORDER:
                    lane = x % p  # bank order
                else:
                    lane = x - addr if region == Region.V else x % p
                checks.append((d, k + d, port, lane, old if d < WRITE_DELAY else data[lane_x],
                               f"{writer} of {count} elements from {x} ({region.name}) in cycle {k}, "
                               f"{port} at {addr} in cycle {k + d}"))
            if region == Region.E:
                pairs.append((k + d, *readers, x))
        schedule += episode
    schedule += [idle(cfg, rng) for _ in range(WRITE_DELAY)]
    assert_legal(cfg, schedule)
    observed, final = run_abuf(cfg, schedule)

    for d, k, port, lane, want, what in checks:
        got = observed[k + READ_LATENCY][RP[port]][lane]
        assert got == want, (f"{what}: data in cycle {k + READ_LATENCY}, lane {lane}: got {got}, expected the "
                             f"{'old' if d < WRITE_DELAY else 'new'} value {want}")
    for k, r0, r1, x in pairs:
        got0 = observed[k + READ_LATENCY][RP[r0]]
        got1 = observed[k + READ_LATENCY][RP[r1]]
        assert got0 == got1, (f"cycle {k + READ_LATENCY}: the copies of E differ, row of element {x}: "
                              f"{r0} (E_READ0) {got0}, {r1} (E_READ1) {got1}")
    n_reads = sum(RAW_EPISODE * (len(r) if g == Region.E else 1) for g, _, r in episodes)
    assert len(checks) == n_reads and n_reads >= 100
    assert sum(d < WRITE_DELAY for d, *_ in checks) == n_reads * WRITE_DELAY // RAW_EPISODE  # old values checked too
    assert len(pairs) == RAW_EPISODE * sum(g == Region.E for g, _, _ in episodes)
    check_against_model(cfg, schedule, observed, final)


def test_row_write_lane_enables_keep_other_lanes(cfg):
    """Writes of fewer than P elements into a row of Z (FC's single-element results, one at every
    lane offset, and a random window of every width 2..P-1) and, in the same cycles, of E (ACT,
    EW, DMA in turn), with `data` random in every lane and different from the row's contents in
    every lane: two cycles after the write the row is read (Z by FC; E by EW a and EW b, i.e. both
    copies) and only lanes addr%P .. addr%P+count-1 have changed, to the same lanes of `data`
    (the lane enables, not the data, keep the other lanes); a cycle later the next row is read
    (Z by ACT, E by the DMA) and is unchanged. The whole trace and the final memories
    are also compared with the list model."""
    rng = np.random.default_rng(5)
    p = cfg.lanes
    bounds = isa.region_bounds(cfg)
    windows = [(off, 1) for off in range(p)] + [(int(rng.integers(0, p - n + 1)), n) for n in range(2, p)]
    schedule = fill_schedule(cfg, rng)
    start = len(schedule) + WRITE_DELAY  # cycle of the first partial write; one every 2 cycles
    schedule += [idle(cfg, rng) for _ in range(WRITE_DELAY + 2 * len(windows) + WRITE_DELAY + 1)]
    model = AbufModel(cfg)
    for cyc in schedule:
        for w in cyc.writes:
            if w.en:
                model.write(w.region, w.addr, w.count, w.data)
    row_readers = {Region.Z: ("fc.read",), Region.E: ("ew.read_a", "ew.read_b")}
    next_row_reader = {Region.Z: "act.read", Region.E: "dma.read"}
    e_writers = ("act.write", "ew.write", "dma.write")
    checks = []  # (cycle of the read, port, expected lanes (None: not compared), written lanes, description)
    for step, (off, count) in enumerate(windows):
        k = start + 2 * step
        for region, writer in ((Region.Z, "fc.write"), (Region.E, e_writers[step % 3])):
            lo, hi = bounds[region]
            rows = (hi - lo) // p
            row = int(rng.integers(0, rows))
            base = lo + row * p
            before = model.mem[base:base + p]
            data = random_lanes(cfg, rng)
            for lane in range(p):
                while data[lane] == before[lane]:
                    data[lane] = int(rng.integers(cfg.data_min, cfg.data_max + 1))
            schedule[k].writes[WP[writer]] = Write(True, int(region), base + off, count, data)
            model.write(int(region), base + off, count, data)
            window = range(off, off + count)
            want = [data[lane] if lane in window else before[lane] for lane in range(p)]
            what = (f"{writer} of lanes {off}..{off + count - 1} of {region.name} row {row} (element {base}) "
                    f"in cycle {k}")
            for port in row_readers[region]:
                schedule[k + WRITE_DELAY].reads[RP[port]] = Read(True, int(region), base)
                checks.append((k + WRITE_DELAY, port, want, window, what))
            nxt = lo + (row + 1) % rows * p
            port = next_row_reader[region]
            addr = nxt + int(rng.integers(0, p)) if port == "act.read" else nxt
            schedule[k + WRITE_DELAY + 1].reads[RP[port]] = Read(True, int(region), addr)
            checks.append((k + WRITE_DELAY + 1, port, model.mem[nxt:nxt + p], range(0),
                           f"{what}: the next row, at {nxt}"))
    assert_legal(cfg, schedule)
    observed, final = run_abuf(cfg, schedule)

    kept = changed = 0
    for k, port, want, window, what in checks:
        got = observed[k + READ_LATENCY][RP[port]]
        for lane, v in enumerate(want):
            if v is None:
                continue
            assert got[lane] == v, (f"{what}: {port} presented in cycle {k}, lane {lane} "
                                    f"({'written' if lane in window else 'kept'}): got {got[lane]}, expected {v}")
            changed += lane in window
            kept += lane not in window
    assert changed == 3 * sum(n for _, n in windows)  # Z once, E through both copies
    assert kept >= 3 * sum(p - n for _, n in windows)  # the unwritten lanes of every row read
    check_against_model(cfg, schedule, observed, final)
