"""The main demo (`make demo`): compile an LSTM classifier, run it on the RTL under Verilator and
Icarus, and print the outputs next to the float64 reference with the performance figures.

    python -m examples.demo [--simulators verilator icarus] [--hidden 32] [--lanes 16]

Network: SequenceInput(12) -> LSTM(H, "last") -> FullyConnected(9) -> Softmax, seeded random
weights (PyTorch's initialisation), random input sequences of 1 to 26 steps.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from rtl import ProcessorConfig
from compiler import reference
from sim import Workflow
from examples import networks


def run_target(net, cfg, target, xs):
    """Predict every sequence on `target` and on the golden model; returns rows for the table,
    cycles per sequence length, start-up seconds and simulated cycles per second."""
    golden = Workflow(net, config=cfg, target="model", max_sequence_length=max(map(len, xs)))
    t0 = time.perf_counter()
    with Workflow(net, config=cfg, target=target, max_sequence_length=max(map(len, xs))) as wf:
        wf.compile()
        wf.deploy()
        startup = time.perf_counter() - t0
        rows, cycles, wall = [], {}, 0.0
        for x in xs:
            y = wf.predict(x)
            prof = wf.last_profile
            y_gold = golden.predict(x)
            y_ref, _ = reference.predict(net, x)
            cycles[len(x)] = prof["cycles"]
            wall += prof["wall_seconds"]
            rows.append((len(x), int(np.argmax(y)), int(np.argmax(y_ref)), float(y.max()), float(y_ref.max()),
                         float(np.abs(y - y_ref).max()), np.array_equal(y, y_gold),
                         prof["cycles"] == golden.last_profile["cycles"], prof["cycles"]))
    return rows, cycles, startup, sum(cycles.values()) / wall


def per_step(cycles: dict) -> float:
    """Cycles per time step: the slope between the shortest and the longest sequence."""
    t_lo, t_hi = min(cycles), max(cycles)
    return (cycles[t_hi] - cycles[t_lo]) / (t_hi - t_lo)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--simulators", nargs="+", default=["verilator", "icarus"], choices=["verilator", "icarus"])
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--lanes", type=int, default=16)
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args(argv)

    cfg = ProcessorConfig(lanes=args.lanes)
    net = networks.classifier(seed=args.seed, hidden=args.hidden)
    xs = networks.sequences(seed=args.seed + 1, lengths=(1, 4, 9, 15, 26))
    program = Workflow(net, config=cfg, target="model", max_sequence_length=26).compile()
    print("=" * 100)
    print("Compile report")
    print("=" * 100)
    print(program)
    ideal = program.ideal_cycles_per_step()

    figures = []
    for sim in args.simulators:
        print("=" * 100)
        print(f"predict on the RTL ({sim}) next to the float64 reference")
        print("=" * 100)
        rows, cycles, startup, rate = run_target(net, cfg, sim, xs)
        print(f"{'T':>3} {'class':>5} {'float':>5} {'p_max':>8} {'p_float':>8} {'max|dp|':>9} {'bit-exact':>9} "
              f"{'cycles==model':>13} {'cycles':>7}")
        for t, c, c_ref, p, p_ref, err, exact, model_ok, cyc in rows:
            print(f"{t:3d} {c:5d} {c_ref:5d} {p:8.5f} {p_ref:8.5f} {err:9.2e} {str(exact):>9} {str(model_ok):>13} "
                  f"{cyc:7d}")
        step = per_step(cycles)
        figures.append((sim, step, startup, rate))
        print(f"simulator start-up (build cached, deploy included) {startup:.1f} s; "
              f"simulated {rate:,.0f} cycles/s during predict")

    print("=" * 100)
    print("Performance")
    print("=" * 100)
    for sim, step, startup, rate in figures:
        print(f"{sim:9}: {step:.1f} cycles per time step, ideal 4*H*(I+H)/P = {ideal:.1f}, "
              f"MAC utilisation {ideal / step:.1%}; {rate:,.0f} simulated cycles/s")
    # The performance target (H=100, P=16) from the golden model's cycle model, which the
    # regression checks cycle for cycle against the RTL.
    big = networks.classifier(seed=args.seed, hidden=100)
    wf = Workflow(big, config=ProcessorConfig(lanes=16), target="model", max_sequence_length=26)
    p100 = wf.compile()
    c = {}
    for t in (1, 26):
        wf.predict(np.random.default_rng(0).normal(size=(t, 12)))
        c[t] = wf.last_profile["cycles"]
    step = per_step(c)
    print(f"H=100, P=16 (cycle model): {step:.1f} cycles per time step, ideal {p100.ideal_cycles_per_step():.1f}, "
          f"MAC utilisation {p100.ideal_cycles_per_step() / step:.1%}")


if __name__ == "__main__":
    main()
