"""Simulator sessions: start-up time, per-call overhead and process reuse, on each simulator.

    python -m benchmarks.session_overhead [--calls 10] [--simulators verilator icarus]

Prints, per simulator: the time to start a session with a cached build (launch to ready), the
deploy time, then for N predict calls of a 4-step sequence the wall time per call, the part the
simulator spent running the processor, and the rest (requests, encoding: the per-call overhead),
and whether one process served all calls."""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from examples import networks
from rtl import ProcessorConfig
from sim import Workflow
from sim.runner import build


def measure(simulator: str, calls: int) -> None:
    cfg = ProcessorConfig()
    net = networks.classifier(seed=1)
    build(cfg, simulator)  # make sure the build is cached: start-up is measured without it
    x = np.random.default_rng(0).normal(size=(4, 12))
    t0 = time.perf_counter()
    with Workflow(net, config=cfg, target=simulator, max_sequence_length=8) as wf:
        wf.compile()
        wf.deploy()
        deploy = time.perf_counter() - t0
        session = wf.session
        pid = session.pid
        walls, sims = [], []
        for _ in range(calls):
            wf.predict(x)
            walls.append(wf.last_profile["wall_seconds"])
            sims.append(wf.last_profile["simulation_seconds"])
        cycles = wf.last_profile["cycles"]
        same = session.pid == pid and session.alive
        print(f"{simulator:9}: start-up {session.startup_seconds:.2f} s (build cached), deploy done after "
              f"{deploy:.2f} s; {calls} calls of T=4 ({cycles} cycles): wall {statistics.median(walls) * 1e3:.1f} ms "
              f"per call, simulator {statistics.median(sims) * 1e3:.1f} ms, overhead "
              f"{statistics.median(w - s for w, s in zip(walls, sims)) * 1e3:.1f} ms per call "
              f"(second call: {(walls[1] - sims[1]) * 1e3:.1f} ms); {session.calls} requests; one process for all "
              f"calls: {same} (pid {pid})")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=10)
    ap.add_argument("--simulators", nargs="+", default=["verilator", "icarus"])
    args = ap.parse_args(argv)
    for sim in args.simulators:
        measure(sim, args.calls)


if __name__ == "__main__":
    main()
