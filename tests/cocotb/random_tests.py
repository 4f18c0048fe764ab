"""cocotb module: constrained-random programs (tests/random_programs.py) on the RTL, each checked
against the golden model (tests/cocotb/scenarios.py), then the failing cases shrunk and kept.

DLP_RANDOM_SEEDS picks the seeds: "START:COUNT" or a comma-separated list. Runs under
tests/cocotb/test_random.py."""
from __future__ import annotations

import os
import time

import cocotb

from sim.cocotb_device import CocotbDevice
from sim.driver import DeviceTimeout
from sim.functional_coverage import FunctionalCoverage
from sim.runner import config_from_env
from tests.cocotb.scenarios import run_scenario
from tests.random_programs import MemoryLayout, Shrinker, load_regressions, random_program, save_regression
from tests.seeds import replay_command, seeds_from_env

CFG = config_from_env()


async def _fails(dut, dev, sc, coverage=None) -> str | None:
    try:
        await run_scenario(dut, dev, sc, coverage)
    except (AssertionError, DeviceTimeout) as e:
        return str(e) or type(e).__name__
    return None


@cocotb.test()
async def kept_regressions(dut):
    """Shrunk failures found earlier (tests/regressions/*.json) of this config."""
    dev = CocotbDevice(dut, CFG, mem_bytes=MemoryLayout.of(CFG).mem_bytes)
    for sc in load_regressions(CFG):
        await run_scenario(dut, dev, sc)


@cocotb.test()
async def random_programs(dut):
    dev = CocotbDevice(dut, CFG, mem_bytes=MemoryLayout.of(CFG).mem_bytes)
    seeds = seeds_from_env("DLP_RANDOM_SEEDS", "0:10")
    failures = []
    coverage = FunctionalCoverage(CFG)
    t0 = time.time()
    for seed in seeds:
        rp = random_program(CFG, seed)
        why = await _fails(dut, dev, rp.scenario(), coverage)
        if why is None:
            continue
        shrinker = Shrinker(rp)
        while (items := shrinker.candidate()) is not None:
            shrinker.report(await _fails(dut, dev, rp.scenario(items)) is not None)
        smallest = rp.scenario(shrinker.items)
        last = await _fails(dut, dev, smallest) or why
        path = save_regression(rp, shrinker.items, last)
        failures.append(f"seed {seed}: {why}\n    shrunk from {len(rp.items)} to {len(shrinker.items)} items "
                        f"({shrinker.runs} runs): {last}\n    kept in {path} (commit it)\n"
                        f"    replay: {replay_command('DLP_RANDOM_SEEDS', seed, 'programs', CFG)}")
        dut._log.error(failures[-1])
    dut._log.info("%d random programs in %.1f s, %d failed", len(seeds), time.time() - t0, len(failures))
    spec = os.environ.get("DLP_RANDOM_SEEDS", "").replace(":", "+").replace(",", "_")[:40]
    coverage.write(f"random-{os.environ.get('DLP_SIMULATOR', 'sim')}-{CFG.fingerprint()}-{spec}")
    assert not failures, f"{len(failures)} of {len(seeds)} random programs failed on {CFG.short_id()}:\n" + \
        "\n".join(failures)
