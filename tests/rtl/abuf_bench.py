"""MyHDL-native bench for the activation buffer (rtl/abuf.py) alone: drives all four write ports
and all five read ports with a given schedule, one entry per clock cycle, and records what every
read port's `data` holds in every cycle. The test compares that with a Python model."""
from __future__ import annotations

import dataclasses

from myhdl import Signal, StopSimulation, block, delay, instance

from rtl.abuf import abuf
from rtl.config import ProcessorConfig
from rtl.interfaces import AbufReadPort, AbufWritePort
from tests.rtl.kernel_bench import release_simulator

N_READ_PORTS = 5   # FC, ACT, EW a, EW b, DMA store
N_WRITE_PORTS = 4  # FC, ACT, EW, DMA load


@dataclasses.dataclass
class Write:
    en: bool
    addr: int
    count: int
    data: list[int]  # P lanes, W-bit two's complement values (lanes >= count are garbage)


@dataclasses.dataclass
class Cycle:
    writes: list[Write]  # one per write port
    reads: list[int]     # one address per read port
    read_en: list[bool] | None = None  # read-port enables (None: all enabled)


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


def run_abuf(cfg: ProcessorConfig, schedule: list[Cycle], tail: int = 3) -> list[list[list[int]]]:
    """Apply `schedule[k]` to the ports during cycle k (then `tail` idle cycles) and return
    observed[k][port] = the P lanes on read port `port`'s data during cycle k."""
    release_simulator()  # MyHDL runs one simulation at a time
    clk = Signal(bool(0))
    rports = [AbufReadPort(cfg) for _ in range(N_READ_PORTS)]
    wports = [AbufWritePort(cfg) for _ in range(N_WRITE_PORTS)]
    idle = Cycle([Write(False, 0, 0, [0] * cfg.lanes)] * N_WRITE_PORTS, [0] * N_READ_PORTS, [False] * N_READ_PORTS)
    observed: list[list[list[int]]] = []

    @block
    def bench():
        dut = abuf(cfg, clk, *rports, *wports)

        @instance
        def clock():
            while True:
                yield delay(5)
                clk.next = not clk

        @instance
        def stimulus():
            # Woken at the edge that starts cycle k: drive cycle k's inputs, and record the data
            # the read ports held during cycle k-1 (signal updates of this edge are not visible yet).
            for k, cyc in enumerate(list(schedule) + [idle] * tail + [None]):
                yield clk.posedge
                if k:
                    observed.append([unpack(cfg, int(port.data)) for port in rports])
                if cyc is None:
                    break
                for port, wr in zip(wports, cyc.writes):
                    port.en.next = wr.en
                    port.addr.next = wr.addr
                    port.count.next = wr.count
                    port.data.next = pack(cfg, wr.data)
                for port, addr, en in zip(rports, cyc.reads, cyc.read_en or [True] * N_READ_PORTS):
                    port.en.next = en
                    port.addr.next = addr
            raise StopSimulation

        return dut, clock, stimulus

    sim = bench()
    sim.run_sim(quiet=1)
    sim.quit_sim()
    return observed
