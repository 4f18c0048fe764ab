"""cocotb module: every ISA scenario (tests/isa_scenarios.py) on the RTL, compared byte for byte
with the golden model on the whole external memory, plus status, pc and counters.

Runs under tests/cocotb/test_isa.py, one simulator process per (simulator, config)."""
from __future__ import annotations

import dataclasses
import os

import cocotb

from rtl import isa
from sim.cocotb_device import CocotbDevice
from sim.functional_coverage import FunctionalCoverage
from sim.model import GoldenDevice
from sim.runner import config_from_env
from tests.cocotb.scenarios import run_scenario
from tests.isa_scenarios import MEM_BYTES, scenarios

CFG = config_from_env()
SCENARIOS = {sc.name: sc for sc in scenarios(CFG)}
COVERAGE = FunctionalCoverage(CFG)
COVERAGE_NAME = f"isa-{os.environ.get('DLP_SIMULATOR', 'sim')}-{CFG.fingerprint()}"


def _scenario_test(name):
    async def test(dut):
        await run_scenario(dut, CocotbDevice(dut, CFG, mem_bytes=MEM_BYTES), SCENARIOS[name], COVERAGE)
        COVERAGE.write(COVERAGE_NAME)
    test.__name__ = test.__qualname__ = name
    return cocotb.test()(test)


for _name in SCENARIOS:
    globals()[_name] = _scenario_test(_name)


@cocotb.test()
async def backpressure(dut):
    """The FC chain and the strided loop again, with random stalls on every AXI channel: the
    results stay exact, the cycles only grow (the cycle model is a lower bound)."""
    dev = CocotbDevice(dut, CFG, mem_bytes=MEM_BYTES)
    multi_row_fc = [n for n in SCENARIOS if n.startswith("fc_")][3]
    for name in ("chain_fc_act_ew", "loop_seq_len_strides_cond", multi_row_fc):
        sc = dataclasses.replace(SCENARIOS[name], pauses={ch: 0.3 for ch in dev.ram.channels})
        await run_scenario(dut, dev, sc, COVERAGE)
    COVERAGE.write(COVERAGE_NAME)


@cocotb.test()
async def register_widths(dut):
    """Every read/write register keeps the bits isa.Register.bits says and reads the others as 0
    (SEQ_LEN 16 bits: a LOOP counts at most 65,535 passes), as the golden model does."""
    dev = CocotbDevice(dut, CFG, mem_bytes=MEM_BYTES)
    await dev.reset()
    golden = GoldenDevice(CFG, mem_bytes=MEM_BYTES)
    for value in (0xFFFFFFFF, 0x0001_2345, 0xA5A5_5A5A):
        for reg in isa.REGISTERS.values():
            if reg.access != "rw" or reg.name == "CTRL":  # CTRL's START bit would run
                continue
            await dev.write_reg(reg.name, value)
            golden.write_reg(reg.name, value)
            got, exp = await dev.read_reg(reg.name), golden.read_reg(reg.name)
            assert got == exp == value & reg.mask, \
                f"{reg.name} written {value:#x}: rtl {got:#x}, golden {exp:#x}, {reg.bits} bits"
