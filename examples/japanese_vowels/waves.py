"""Waveforms of one Japanese Vowels test sequence on the RTL, and a GTKWave screenshot of them.

    python -m examples.japanese_vowels.waves [--simulator icarus|verilator] [--sequence K] [--png PATH]

Runs test sequence K (default 0) with `Workflow(waves=True)`, prints the dump and the generated
view (zoomed from START to DONE of the call, markers on both, the pc and each kernel's retired
pc shown as the listing's instructions, the issue state and error code as names), and opens them
in GTKWave on a virtual screen (Xvfb) to save a screenshot (default docs/images/jv_gtkwave.png).
"""
from __future__ import annotations

import argparse

from rtl import ProcessorConfig
from sim import Workflow
from sim.waves import screenshot

from . import data
from .evaluate import REPO, load_network


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--simulator", default="icarus", choices=["icarus", "verilator"])
    parser.add_argument("--sequence", type=int, default=0, help="which test sequence")
    parser.add_argument("--png", default=str(REPO / "docs" / "images" / "jv_gtkwave.png"))
    args = parser.parse_args(argv)
    xs, labels = data.load("test")
    if not 0 <= args.sequence < len(xs):
        parser.error(f"--sequence {args.sequence}: the test set has sequences 0 to {len(xs) - 1}")
    x = xs[args.sequence]
    with Workflow(load_network(), config=ProcessorConfig(), target=args.simulator, waves=True,
                  max_sequence_length=64) as wf:
        wf.deploy()
        y = wf.predict(x)
        cycles = wf.last_profile["cycles"]
        dump, view = wf.session.wave_file, wf.last_view
    print(f"sequence {args.sequence} (T={len(x)}, class {labels[args.sequence] + 1}): predicted class "
          f"{int(y.argmax()) + 1}, {cycles} cycles")
    print(f"waves: {dump}\nview:  {view}\nopen:  gtkwave {dump} {view}")
    png = screenshot(dump, view, args.png)
    print(f"screenshot: {png}")
    return {"dump": str(dump), "view": str(view), "png": str(png), "cycles": cycles}


if __name__ == "__main__":
    main()
