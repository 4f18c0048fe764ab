"""cocotb module: every ISA scenario (tests/isa_scenarios.py) on the RTL, compared byte for byte
with the golden model on the whole external memory, plus status, pc and counters.

Runs under tests/cocotb/test_isa.py, one simulator process per (simulator, config)."""
from __future__ import annotations

import cocotb

from rtl import isa
from sim.cocotb_device import CocotbDevice
from sim.model import GoldenDevice
from sim.runner import config_from_env
from tests.isa_scenarios import MEM_BYTES, PROG_ADDR, scenarios, write_registers

CFG = config_from_env()
SCENARIOS = {sc.name: sc for sc in scenarios(CFG)}


async def run_scenario(dut, dev, sc, exact_cycles=True):
    """Run one scenario; with exact_cycles (a memory without back-pressure) the performance
    counters must equal the golden model's cycle model too."""
    await dev.reset()
    await dev.write_mem(0, bytes(sc.image))
    await dev.write_mem(PROG_ADDR, isa.to_bytes(sc.program))
    writes = []
    write_registers(lambda name, value: writes.append((name, value)), sc)
    for name, value in writes:
        await dev.write_reg(name, value)
    await dev.start_and_wait(timeout_cycles=200_000)
    golden = sc.golden()
    status = await dev.read_reg("STATUS")
    done, _, error, code = isa.status_fields(status)
    want = isa.status_fields(golden.read_reg("STATUS"))
    assert (done, error, code) == (want[0], want[2], want[3]), f"{sc.name}: status {status:#x}, golden {golden.read_reg('STATUS'):#x}"
    if sc.expect_error is not None:
        # after a fault only status and pc are defined: kernels already running finish their work
        assert code == sc.expect_error, f"{sc.name}: expected {sc.expect_error.name}, got {code}"
        got, exp = await dev.read_reg("PC"), golden.read_reg("PC")
        assert got == exp, f"{sc.name}: PC = {got}, golden {exp}"
        return
    assert not error, f"{sc.name}: unexpected error {code}"
    for reg in ("PC", "INSTRS", "SAT_COUNT"):
        got, exp = await dev.read_reg(reg), golden.read_reg(reg)
        assert got == exp, f"{sc.name}: {reg} = {got}, golden {exp}"
    mem = await dev.read_mem(0, MEM_BYTES)
    if mem != bytes(golden.mem[:MEM_BYTES]):
        # bytes stored from elements the run never wrote hold earlier scenarios' data on the RTL
        diff = [i for i in range(MEM_BYTES) if mem[i] != golden.mem[i] and not golden.undefined[i]]
    else:
        diff = []
    if diff:
        raise AssertionError(f"{sc.name}: {len(diff)} bytes differ from the golden model, first at "
                             f"0x{diff[0]:x}: rtl {mem[diff[0]:diff[0] + 8].hex()} golden "
                             f"{bytes(golden.mem[diff[0]:diff[0] + 8]).hex()}")
    counters = ("CYCLES", "BUSY_FC", "BUSY_ACT", "BUSY_EW", "BUSY_DMA")
    rtl = [await dev.read_reg(r) for r in counters]
    model = [golden.read_reg(r) for r in counters]
    dut._log.info("%s: ok; %s rtl %s, cycle model %s", sc.name, counters, rtl, model)
    if exact_cycles:
        assert rtl == model, f"{sc.name}: counters {counters} rtl {rtl} != cycle model {model}"


def _scenario_test(name):
    async def test(dut):
        await run_scenario(dut, CocotbDevice(dut, CFG, mem_bytes=MEM_BYTES), SCENARIOS[name])
    test.__name__ = test.__qualname__ = name
    return cocotb.test()(test)


for _name in SCENARIOS:
    globals()[_name] = _scenario_test(_name)


@cocotb.test()
async def backpressure(dut):
    """The FC chain and the strided loop again, with random stalls on every AXI channel."""
    dev = CocotbDevice(dut, CFG, mem_bytes=MEM_BYTES, backpressure=True)
    multi_row_fc = [n for n in SCENARIOS if n.startswith("fc_")][3]
    for name in ("chain_fc_act_ew", "loop_seq_len_strides_cond", multi_row_fc):
        await run_scenario(dut, dev, SCENARIOS[name], exact_cycles=False)


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
