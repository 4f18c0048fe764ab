"""Runs one scenario (tests/isa_scenarios.py, tests/random_programs.py) on the RTL through its AXI
ports and checks it against the golden model: status, error code and pc; without a fault also the
counters PC, INSTRS, SAT_COUNT, every byte of external memory the golden model defines, and the
performance counters, which must equal the cycle model's exactly without back-pressure and may
only be larger with it (the cycle model assumes a memory that never stalls)."""
from __future__ import annotations

from cocotbext.axi import AxiResp

from rtl import isa
from sim.cocotb_device import RetireMonitor
from sim.trace import first_retire_mismatch
from tests.isa_scenarios import Scenario, write_registers

PERF = ("CYCLES", "BUSY_FC", "BUSY_ACT", "BUSY_EW", "BUSY_DMA")


async def run_scenario(dut, dev, sc: Scenario, coverage=None) -> dict:
    """Run `sc` on the device and raise AssertionError naming the first difference from the golden
    model. Returns the RTL's counters. `coverage` (sim.functional_coverage.FunctionalCoverage)
    samples the run."""
    if dev.ram.size != sc.mem_bytes:
        raise ValueError(f"{sc.name}: the scenario needs a {sc.mem_bytes}-byte memory, the device has {dev.ram.size}")
    golden = sc.golden(coverage)
    monitor = RetireMonitor(dut) if RetireMonitor.available(dut) else None
    dev.ram.error_response = AxiResp[sc.error_response]
    dev.set_backpressure(sc.pause_seed, sc.pauses)
    await dev.reset()
    await dev.write_mem(0, bytes(sc.image))
    await dev.write_mem(sc.prog_addr, sc.program_bytes())
    writes = []
    write_registers(lambda name, value: writes.append((name, value)), sc)
    for name, value in writes:
        await dev.write_reg(name, value)
    if monitor:
        monitor.start()
    # a stall shows up as a timeout naming the scenario, well after the cycle model's end
    await dev.start_and_wait(timeout_cycles=max(50_000, 20 * golden.read_reg("CYCLES")))
    exact = sc.pauses is None or not any(sc.pauses.values())
    if monitor:
        await dev.idle(2)  # the last record lands at the end of the last done cycle, with DONE
        monitor.stop()
        if coverage is not None:
            coverage.sample_run(sc, golden, monitor.records)
        faulted = bool(golden.read_reg("STATUS") & isa.STATUS_ERROR)
        why = first_retire_mismatch(monitor.records, golden.retired, cycles=exact and not faulted,
                                    complete=not faulted)
        assert why is None, f"{sc.name}: {why}"
    status = await dev.read_reg("STATUS")
    done, _, error, code = isa.status_fields(status)
    want = isa.status_fields(golden.read_reg("STATUS"))
    assert (done, error, code) == (want[0], want[2], want[3]), \
        f"{sc.name}: status {status:#x} ({code!s}), golden {golden.read_reg('STATUS'):#x} ({want[3]!s})"
    if error or sc.expect_error is not None:
        # after a fault only status and pc are defined: kernels already running finish their work
        if sc.expect_error is not None:
            assert code == sc.expect_error, f"{sc.name}: expected {sc.expect_error.name}, got {code!s}"
        got, exp = await dev.read_reg("PC"), golden.read_reg("PC")
        assert got == exp, f"{sc.name}: PC = {got} after {code!s}, golden {exp}"
        return {"STATUS": status, "PC": got}
    counters = {}
    for reg in ("PC", "INSTRS", "SAT_COUNT"):
        counters[reg] = got = await dev.read_reg(reg)
        exp = golden.read_reg(reg)
        assert got == exp, f"{sc.name}: {reg} = {got}, golden {exp}"
    mem = await dev.read_mem(0, sc.mem_bytes)
    if mem != bytes(golden.mem):
        # bytes stored from elements the run never wrote hold earlier scenarios' data on the RTL
        diff = [i for i in range(sc.mem_bytes) if mem[i] != golden.mem[i] and not golden.undefined[i]]
        if diff:
            raise AssertionError(f"{sc.name}: {len(diff)} bytes differ from the golden model, first at "
                                 f"0x{diff[0]:x}: rtl {mem[diff[0]:diff[0] + 8].hex()} golden "
                                 f"{bytes(golden.mem[diff[0]:diff[0] + 8]).hex()}")
    rtl = [await dev.read_reg(r) for r in PERF]
    model = [golden.read_reg(r) for r in PERF]
    counters.update(zip(PERF, rtl))
    dut._log.info("%s: ok; %s rtl %s, cycle model %s", sc.name, PERF, rtl, model)
    if exact:
        assert rtl == model, f"{sc.name}: counters {PERF} rtl {rtl} != cycle model {model}"
    else:
        assert rtl[0] >= model[0], f"{sc.name}: {rtl[0]} cycles under back-pressure, fewer than the cycle model's " \
                                   f"lower bound {model[0]}"
    return counters
