"""MyHDL-native bench for the activation buffer (rtl/abuf.py) alone: drives its four write ports
and five read ports with a given schedule, one entry per clock cycle, and records what every read
port's `data` holds in every cycle, plus the memories' contents at the end. The tests
(tests/rtl/test_abuf.py) compare both with a Python list model.

Each `run_abuf` elaborates and simulates the buffer once (one MyHDL simulation per process:
it first closes the kernel bench's live simulation, if any)."""
from __future__ import annotations

import dataclasses

import numpy as np
from myhdl import Signal, StopSimulation, block, delay, instance

from rtl.abuf import abuf
from rtl.config import ProcessorConfig
from rtl.interfaces import READ_LATENCY, AbufReadPort, AbufWritePort
from tests.rtl.kernel_bench import abuf_memories, read_abuf, release_simulator

HALF_PERIOD = 5

#: The ports in the order of abuf's arguments, named as the kernel ports of isa.PORTS.
READ_PORTS = ("fc.read", "act.read", "ew.read_a", "ew.read_b", "dma.read")
WRITE_PORTS = ("fc.write", "act.write", "ew.write", "dma.write")


@dataclasses.dataclass
class Read:
    en: bool
    region: int = 0  # isa.Region
    addr: int = 0    # element address


@dataclasses.dataclass
class Write:
    en: bool
    region: int = 0            # isa.Region
    addr: int = 0              # element address
    count: int = 0             # 0..P elements
    data: list[int] | None = None  # P lanes of W-bit two's complement values (None: zeros)


@dataclasses.dataclass
class Cycle:
    """What the ports present during one cycle: one Read per READ_PORTS entry, one Write per
    WRITE_PORTS entry (a disabled port's other fields are driven too: the buffer must ignore them)."""
    reads: list[Read]
    writes: list[Write]


def idle_cycle() -> Cycle:
    return Cycle([Read(False) for _ in READ_PORTS], [Write(False) for _ in WRITE_PORTS])


def pack(cfg: ProcessorConfig, lanes: list[int]) -> int:
    mask = (1 << cfg.data_bits) - 1
    return sum((int(v) & mask) << (cfg.data_bits * i) for i, v in enumerate(lanes))


def unpack(cfg: ProcessorConfig, word: int) -> list[int]:
    w, mask = cfg.data_bits, (1 << cfg.data_bits) - 1
    out = []
    for i in range(cfg.lanes):
        v = (word >> (w * i)) & mask
        out.append(v - (1 << w) if v >> (w - 1) else v)
    return out


def run_abuf(cfg: ProcessorConfig, schedule: list[Cycle],
             tail: int = READ_LATENCY + 1) -> tuple[list[list[list[int]]], np.ndarray]:
    """Present `schedule[k]` on the ports during cycle k (then `tail` idle cycles).

    Returns (observed, final): observed[k][i] = the P lanes (signed) on read port READ_PORTS[i]'s
    `data` during cycle k, for k < len(schedule) + tail; final = the flat element array the
    memories hold afterwards (kernel_bench.read_abuf: gaps 0; it asserts that E's two copies agree)."""
    release_simulator()  # MyHDL runs one simulation at a time
    clk = Signal(bool(0))
    rports = [AbufReadPort(cfg) for _ in READ_PORTS]
    wports = [AbufWritePort(cfg) for _ in WRITE_PORTS]
    assert all(len(c.reads) == len(READ_PORTS) and len(c.writes) == len(WRITE_PORTS) for c in schedule)
    zeros = [0] * cfg.lanes
    observed: list[list[list[int]]] = []
    duts = []   # the elaborated abuf block, for its memories
    final = []  # the memories' contents at the end

    @block
    def bench():
        dut = abuf(cfg, clk, *rports, *wports)
        duts.append(dut)

        @instance
        def clock():
            while True:
                yield delay(HALF_PERIOD)
                clk.next = not clk

        @instance
        def stimulus():
            # Woken at the edge that starts cycle k: drive cycle k's inputs, and record the data
            # the read ports held during cycle k-1 (this edge's updates are not visible yet).
            for k, cyc in enumerate(list(schedule) + [idle_cycle() for _ in range(tail)] + [None]):
                yield clk.posedge
                if k:
                    observed.append([unpack(cfg, int(port.data)) for port in rports])
                if cyc is None:
                    # now, not after the run: a stopped simulation resets every signal
                    final.append(read_abuf(cfg, abuf_memories(cfg, duts[0])))
                    break
                for port, wr in zip(wports, cyc.writes):
                    port.en.next = wr.en
                    port.region.next = wr.region
                    port.addr.next = wr.addr
                    port.count.next = wr.count
                    port.data.next = pack(cfg, zeros if wr.data is None else wr.data)
                for port, rd in zip(rports, cyc.reads):
                    port.en.next = rd.en
                    port.region.next = rd.region
                    port.addr.next = rd.addr
            raise StopSimulation

        return dut, clock, stimulus

    sim = bench()
    sim.run_sim(quiet=1)
    sim.quit_sim()
    return observed, final[0]
