"""Constrained-random programs on the RTL (Icarus and Verilator) against the golden model; see
tests/random_programs.py for what they contain and tests/cocotb/random_tests.py for the checks.

`make test` runs a fixed set of seeds per simulator and config (different seeds on the two
simulators); `make regress N=... NETWORKS=...` (marker `regress`) runs N programs and NETWORKS
networks per config in chunks that pytest-xdist spreads over the cores. DLP_RANDOM_SEEDS=START:COUNT or a comma list overrides the
seeds of the quick test (a failure prints the command that replays it)."""
from __future__ import annotations

import os

import pytest

from sim import runner
from tests.cocotb.configs import P4_INT8_AXI32, P16_INT16
from tests.random_programs import random_config

CONFIGS = [P16_INT16, P4_INT8_AXI32]
QUICK_SEEDS = {"verilator": (0, 300), "icarus": (100_000, 25)}
QUICK_NETWORKS = {"verilator": (0, 40), "icarus": (100_000, 4)}
CHUNK = 250


@pytest.mark.parametrize("simulator", runner.SIMULATORS)
@pytest.mark.parametrize("cfg", [pytest.param(c, id=c.short_id()) for c in CONFIGS])
def test_random_programs(simulator, cfg, tmp_path):
    start, count = QUICK_SEEDS[simulator]
    seeds = os.environ.get("DLP_RANDOM_SEEDS") or f"{start}:{count}"
    runner.run_and_check(cfg, simulator, "tests.cocotb.random_tests", tmp_path, extra_env={"DLP_RANDOM_SEEDS": seeds})


@pytest.mark.parametrize("simulator", runner.SIMULATORS)
@pytest.mark.parametrize("cfg", [pytest.param(c, id=c.short_id()) for c in CONFIGS])
def test_random_networks(simulator, cfg, tmp_path):
    start, count = QUICK_NETWORKS[simulator]
    seeds = os.environ.get("DLP_NETWORK_SEEDS") or f"{start}:{count}"
    runner.run_and_check(cfg, simulator, "tests.cocotb.random_networks_tests", tmp_path,
                         extra_env={"DLP_NETWORK_SEEDS": seeds})


@pytest.mark.slow
@pytest.mark.parametrize("config_seed", range(4))
def test_random_programs_on_random_configs(config_seed, tmp_path):
    """Random configs (lanes 4 to 64, int8/int16, AXI 32 to 256 bits, small buffers): one
    Verilator build each, 100 random programs (`make test-all`)."""
    cfg = random_config(config_seed)
    runner.run_and_check(cfg, "verilator", "tests.cocotb.random_tests", tmp_path,
                         extra_env={"DLP_RANDOM_SEEDS": f"{2_000_000 + 1000 * config_seed}:100"})


def _regress_chunks(variable: str, default: int, chunk: int):
    n = int(os.environ.get(variable, default))
    return [pytest.param(cfg, first, min(chunk, n - first), id=f"{cfg.short_id()[:8]}-{first}")
            for cfg in CONFIGS for first in range(0, n, chunk)]


@pytest.mark.regress
@pytest.mark.parametrize("cfg,first,count", _regress_chunks("DLP_REGRESS_N", 5000, CHUNK))
def test_random_programs_regress(cfg, first, count, tmp_path):
    """Seeds 1,000,000 + first ... on Verilator, the long run (`make regress N=...`: N per config)."""
    runner.run_and_check(cfg, "verilator", "tests.cocotb.random_tests", tmp_path,
                         extra_env={"DLP_RANDOM_SEEDS": f"{1_000_000 + first}:{count}"})


@pytest.mark.regress
@pytest.mark.parametrize("cfg,first,count", _regress_chunks("DLP_REGRESS_NETWORKS", 500, 100))
def test_random_networks_regress(cfg, first, count, tmp_path):
    """Network seeds 1,000,000 + first ... on Verilator (`make regress NETWORKS=...` per config)."""
    runner.run_and_check(cfg, "verilator", "tests.cocotb.random_networks_tests", tmp_path,
                         extra_env={"DLP_NETWORK_SEEDS": f"{1_000_000 + first}:{count}"})
