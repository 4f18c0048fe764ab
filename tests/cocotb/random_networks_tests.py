"""cocotb module: random networks and stateful call sequences (tests/random_networks.py) on the
RTL. Every call is compared with the golden model instruction by instruction through the retire
trace (pc, loop index, start and done cycles, write signature; a mismatch names the first wrong
instruction by its listing name, e.g. `lstm_1.mul_ig`), then on its outputs bit for bit and its
performance counters; the golden model stays within FLOAT_BOUND of the float64 reference on
calls without saturation.

DLP_NETWORK_SEEDS picks the seeds: "START:COUNT" or a comma-separated list. Runs under
tests/cocotb/test_random.py."""
from __future__ import annotations

import time

import cocotb
import numpy as np

from sim.cocotb_device import CocotbDevice, RetireMonitor
from sim.driver import DeviceError, DeviceTimeout, HostDriver, SyncDevice, run_sync
from sim.model import GoldenDevice
from sim.runner import config_from_env
from sim.trace import first_retire_mismatch
from tests.random_networks import FLOAT_BOUND, FloatTwin, play, random_case
from tests.seeds import replay_command, seeds_from_env

CFG = config_from_env()
MEM_BYTES = 1 << 20


async def _check_case(dut, dev: CocotbDevice, monitor: RetireMonitor, seed: int) -> None:
    case = random_case(CFG, seed)
    what = f"seed {seed} ({case.describe()})"
    await dev.reset()
    rtl = HostDriver(dev, case.program)
    golden_dev = GoldenDevice(CFG, mem_bytes=MEM_BYTES)
    golden = HostDriver(SyncDevice(golden_dev), case.program)
    twin = FloatTwin(case.network)

    async def compare_run(label: str, rtl_call, golden_call):
        """Run one program on both, then compare the retire records."""
        monitor.start()
        try:
            got = await rtl_call
        finally:
            await dev.idle(2)
            monitor.stop()
        want = golden_call()
        program = "deploy" if label == "deploy" else "run"
        why = first_retire_mismatch(monitor.records, golden_dev.retired, cycles=True, complete=True,
                                    name=lambda pc: f"{case.program.instruction_name(program, pc)} (pc {pc})")
        assert why is None, f"{what}, {label}: {why}"
        return got, want

    await compare_run("deploy", rtl.deploy(), lambda: run_sync(golden.deploy()))
    for k, call in enumerate(case.calls):
        label = f"call {k} {call.kind}" + (f" T={len(call.x)}" if call.x is not None else "")
        if call.x is None:
            await play(rtl, call)
            run_sync(play(golden, call))
            twin.call(call)
            continue
        (y, prof), (y_gold, prof_gold) = await compare_run(label, play(rtl, call), lambda: run_sync(play(golden, call)))
        y_float = twin.call(call)
        assert np.array_equal(y, y_gold), f"{what}, {label}: RTL output differs from the golden model"
        assert prof.as_dict() == prof_gold.as_dict(), f"{what}, {label}: counters {prof} != cycle model {prof_gold}"
        if prof_gold.saturations == 0:
            err = float(np.max(np.abs(y_gold - y_float)))
            assert err < FLOAT_BOUND[CFG.data_type], f"{what}, {label}: golden vs float {err:.3g}"
    # the stored state the host reads back is the golden model's too
    for layer, ((h, c), (h_gold, c_gold)) in enumerate(zip(await rtl.read_state(), run_sync(golden.read_state())), 1):
        assert np.array_equal(h, h_gold) and np.array_equal(c, c_gold), f"{what}: stored state of LSTM {layer} differs"


@cocotb.test()
async def random_networks(dut):
    dev = CocotbDevice(dut, CFG, mem_bytes=MEM_BYTES)
    monitor = RetireMonitor(dut)
    seeds = seeds_from_env("DLP_NETWORK_SEEDS", "0:4")
    failures = []
    t0 = time.time()
    for seed in seeds:
        try:
            await _check_case(dut, dev, monitor, seed)
        except (AssertionError, DeviceTimeout, DeviceError) as e:
            failures.append(f"seed {seed}: {e}\n    replay: {replay_command('DLP_NETWORK_SEEDS', seed, 'networks', CFG)}")
            dut._log.error(failures[-1])
    dut._log.info("%d random networks in %.1f s, %d failed", len(seeds), time.time() - t0, len(failures))
    assert not failures, f"{len(failures)} of {len(seeds)} random networks failed on {CFG.short_id()}:\n" + \
        "\n".join(failures)
