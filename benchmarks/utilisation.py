"""Cycles per LSTM time step and MAC utilisation for a range of hidden sizes, from the golden
model's cycle model (which equals the RTL's counters; the cocotb regressions assert it).

    python -m benchmarks.utilisation [--hidden 8 16 32 64 100 128 256] [--inputs 12] [--lanes 16]

Network: SequenceInput(I) -> LSTM(H, "last") -> FullyConnected(9) -> Softmax, seeded random weights.
Cycles per step = the slope of the run's cycle count between T = 10 and T = 30 (the head, the state
loads and stores and the program start drop out). Ideal = 4*H*(I+H)/P cycles per step (every MAC
lane busy every cycle); utilisation = ideal / measured. The weight buffer is sized for the largest
network (the timing does not depend on buffer sizes).
"""
from __future__ import annotations

import argparse

import numpy as np

from examples import networks
from rtl import ProcessorConfig
from sim import Workflow


def cycles_per_step(hidden: int, inputs: int, lanes: int, t_lo: int = 10, t_hi: int = 30) -> float:
    net = networks.classifier(seed=7, hidden=hidden, features=inputs)
    k = -(-(inputs + hidden) // lanes)
    cfg = ProcessorConfig(lanes=lanes, wbuf_words=1 << max(12, (4 * hidden * k + 9 * -(-hidden // lanes)).bit_length()),
                          bbuf_depth=1 << max(10, (4 * hidden + 9).bit_length()))
    wf = Workflow(net, config=cfg, target="model", max_sequence_length=t_hi)
    cycles = {}
    for t in (t_lo, t_hi):
        wf.predict(np.zeros((t, inputs)))
        cycles[t] = wf.last_profile["cycles"]
    return (cycles[t_hi] - cycles[t_lo]) / (t_hi - t_lo)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, nargs="+", default=[8, 16, 32, 64, 100, 128, 256])
    ap.add_argument("--inputs", type=int, default=12)
    ap.add_argument("--lanes", type=int, default=16)
    args = ap.parse_args(argv)
    print(f"LSTM step, I = {args.inputs}, P = {args.lanes} (cycle model = RTL counters)")
    print(f"{'H':>5} {'cycles/step':>12} {'ideal':>8} {'utilisation':>12}")
    for h in args.hidden:
        c = cycles_per_step(h, args.inputs, args.lanes)
        ideal = 4 * h * (args.inputs + h) / args.lanes
        print(f"{h:>5} {c:>12.1f} {ideal:>8.1f} {100 * ideal / c:>11.1f}%")


if __name__ == "__main__":
    main()
