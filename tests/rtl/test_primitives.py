"""MyHDL-native tests of rtl/primitives.py's pipelined_ram against a Python list: random writes and
reads (the same address written and read in one cycle too), every read checked
PIPELINED_RAM_LATENCY cycles after its address, for one, two and four banks; the converted Verilog
compiles in Icarus."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
from myhdl import Signal, StopSimulation, block, instance

from rtl.interfaces import RamPort
from rtl.primitives import PIPELINED_RAM_LATENCY, ebr_bank_depth, pipelined_ram
from rtl.top import clock_gen


@pytest.mark.parametrize("depth, width, bank_depth", [
    (4096, 256, 2048),   # the default weight RAM: 2 x 29 EBR of 2048 x 9 (64 as one 4096 x 4 bank)
    (4096, 32, 4096),    # the small config's: 8 EBR either way, one bank
    (8192, 9, 2048),     # 4 x 1 EBR of 2048 x 9 (6 as 4096 x 4)
    (512, 256, 512),
    (64, 16, 1024),      # smaller than one block: one bank either way
])
def test_banks_are_chosen_for_the_fewest_ebrs(depth, width, bank_depth):
    assert ebr_bank_depth(depth, width) == bank_depth


@block
def _bench(port, depth: int, ops, seen: list):
    clk = Signal(bool(0))
    dut = pipelined_ram(clk, port, depth)
    clock = clock_gen(clk, 5)

    @instance
    def stimulus():
        for we, waddr, wdata, raddr in ops:
            port.we.next, port.waddr.next, port.wdata.next, port.raddr.next = we, waddr, wdata, raddr
            yield clk.posedge
            seen.append(int(port.rdata))
        raise StopSimulation()

    return dut, clock, stimulus


@pytest.mark.parametrize("depth, width", [(4096, 256), (8192, 9), (64, 16)])
def test_reads_see_the_writes_before_them(depth, width):
    rng = np.random.default_rng(depth + width)
    n = 400
    # few addresses, spread over every bank, so reads hit written words and collide with writes
    addrs = rng.choice(depth, size=12, replace=False)
    ops = [(int(rng.random() < 0.5), int(rng.choice(addrs)), int.from_bytes(rng.bytes(width // 8 + 1), "little") % (1 << width),
            int(rng.choice(addrs))) for _ in range(n)]
    port = RamPort(depth, width)
    seen: list[int] = []
    sim = _bench(port, depth, ops, seen)
    sim.run_sim(quiet=1)
    mem = [0] * depth
    expected = []
    for we, waddr, wdata, raddr in ops:
        expected.append(mem[raddr])   # read before write: the edge that writes reads the old word
        if we:
            mem[waddr] = wdata
    # seen[k] is rdata as the process wakes on edge k, before that edge's updates; the read
    # presented before edge k is in rdata after edge k + L - 1, so in seen[k + L]
    lat = PIPELINED_RAM_LATENCY
    assert seen[lat:] == expected[:n - lat]


def test_the_converted_ram_compiles(tmp_path):
    port = RamPort(8192, 9)
    clk = Signal(bool(0))
    pipelined_ram(clk, port, 8192).convert(hdl="Verilog", path=str(tmp_path), name="pram", testbench=False,
                                           no_myhdl_header=True)
    result = subprocess.run(["iverilog", "-g2012", "-o", str(tmp_path / "pram.vvp"), str(tmp_path / "pram.v")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
