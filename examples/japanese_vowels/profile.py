"""Profile of Japanese Vowels measured on the RTL: the processor's own retire trace of one or more
test sequences, as MATLAB's 'Profile','on' but per op of the listing (FC gates, activations,
multiplies, adds, loads and stores, softmax).

    python -m examples.japanese_vowels.profile [--target verilator|icarus|model] [--sequences N]
                                               [--trace OUT.json] [--png PATH] [--cost]

Prints `Workflow.profile()` (cycles per op adding up to the CYCLES counters, the golden model's
beside them), writes the trace-event JSON (default build/japanese_vowels_trace.json; open it in
https://ui.perfetto.dev) and a timeline PNG of one time step (default
docs/images/jv_timeline.png). With --cost, also times the same calls without the trace and with
waves, and prints what recording costs.
"""
from __future__ import annotations

import argparse
import pathlib
import time

from rtl import ProcessorConfig
from sim import Workflow
from sim.trace import plot_timeline

from . import data
from .evaluate import REPO, load_network


def _timed(net, target: str, xs, **options) -> tuple[float, int]:
    """Wall seconds of one predict call over xs (deploy and builds excluded), and its cycles."""
    with Workflow(net, config=ProcessorConfig(), target=target, max_sequence_length=64, **options) as wf:
        wf.deploy()
        t0 = time.perf_counter()
        wf.predict(xs)
        return time.perf_counter() - t0, wf.last_profile["cycles"]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", default="verilator", choices=["verilator", "icarus", "model"])
    parser.add_argument("--sequences", type=int, default=1, help="test sequences in the call (from the first)")
    parser.add_argument("--trace", default=str(REPO / "build" / "japanese_vowels_trace.json"))
    parser.add_argument("--png", default=str(REPO / "docs" / "images" / "jv_timeline.png"))
    parser.add_argument("--cost", action="store_true", help="also measure the cost of the trace and of waves")
    args = parser.parse_args(argv)
    if args.sequences < 1:
        parser.error(f"--sequences {args.sequences}: expected at least 1")
    net = load_network()
    xs, _ = data.load("test")
    xs = xs[:args.sequences]
    with Workflow(net, config=ProcessorConfig(), target=args.target, trace=True, max_sequence_length=64) as wf:
        wf.deploy()
        wf.predict(xs)
        table = wf.profile()
        print(table)
        print(f"trace: {wf.write_trace(args.trace, include_deploy=True)} (open it in https://ui.perfetto.dev)")
        png = plot_timeline(wf.last_trace[0], wf.program, args.png)
        print(f"timeline: {png}")
    result = table.as_dict()
    if args.cost and args.target != "model":
        plain, cycles = _timed(net, args.target, xs)
        traced, _ = _timed(net, args.target, xs, trace=True)
        waves, _ = _timed(net, args.target, xs, waves=True)
        print(f"{args.target}, {len(xs)} sequence(s), {cycles} cycles: plain {plain:.2f} s "
              f"({cycles / plain:,.0f} cycles/s), with the trace {traced:.2f} s (x{traced / plain:.2f}), "
              f"with waves {waves:.2f} s (x{waves / plain:.2f})")
        result["cost"] = {"plain_s": plain, "trace_s": traced, "waves_s": waves, "cycles": cycles}
    return result


if __name__ == "__main__":
    main()
